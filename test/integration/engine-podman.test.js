// An engine drives berth: podman 4 with conmon, `--runtime` pointing at berth's
// CLI (through a wrapper that adds a private --root and records the calls), so
// berth gets exactly the command lines and stdio runc gets from them. Networking
// stays off (--network none); everything podman makes lives in one temporary
// directory and one cgroup parent, and the last test checks nothing is left.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { IMAGE, cgroupOf, isAlive, linkNames, makeEngine, podmanMissing } from './engine-podman-helpers.js';
import { when } from './when.js';

const reason = podmanMissing();

let engine;
const links = linkNames();
/** Every container init pid seen, checked dead at the end. */
const pids = new Set();
const NAME = `berth-podman-${process.pid}`;

test.before(async () => {
  if (!reason) engine = await makeEngine();
});

test.after.always(async () => {
  await engine?.destroy();
});

/** podman, failing the test with podman's stderr when the exit code is not `code`. */
async function ok(t, args, { code = 0, ...opts } = {}) {
  const r = await engine.podman(args, opts);
  t.is(r.code, code, `podman ${r.argv}: ${r.stderr}`);
  return r;
}

const inspect = async (t, id) => JSON.parse((await ok(t, ['inspect', '--type', 'container', id])).stdout)[0];
const cg = (opts = []) => ['--network', 'none', '--cgroup-parent', engine.cgroupParent, ...opts];
const callsFor = (id) => engine.runtimeCalls().filter((l) => l.endsWith(` ${id}`) || l.includes(` ${id} `));

when(reason, 'podman run --rm: stdout, stderr and the exit code pass through berth', async (t) => {
  const cid = path.join(engine.dir, 'rm.cid');
  const r = await ok(t, ['run', '--rm', '--cidfile', cid, ...cg(), IMAGE, 'sh', '-c', 'echo hi; echo oops >&2; exit 3'], { code: 3 });
  t.is(r.stdout, 'hi\n');
  t.regex(r.stderr, /oops/);
  const id = fs.readFileSync(cid, 'utf8').trim();
  // berth did it: conmon's create (with podman's --log/--log-format json), podman's start, the cleanup's delete.
  const verbs = callsFor(id).map((l) => l.replace(/^--log-format=json --log \S+ /, '').split(' ')[0]);
  t.deepEqual(verbs.filter((v) => ['create', 'start', 'delete'].includes(v)), ['create', 'start', 'delete'], engine.runtimeCalls().join('\n'));
  t.regex(callsFor(id)[0], /^--log-format=json --log \S+\/oci-log create --bundle \S+ --pid-file \S+ /);
  t.false(fs.existsSync(path.join(engine.stateRoot, id)), 'state dir removed by delete');
});

when(reason, 'podman run of a missing or non-executable program: 127/126 from create, as with runc; nothing left', async (t) => {
  const missing = await ok(t, ['run', '--rm', ...cg(), IMAGE, '/nonexistent'], { code: 127 });
  t.regex(missing.stderr, /not found|no such file/);
  await ok(t, ['run', '--rm', ...cg(), IMAGE, '/etc/passwd'], { code: 126 });
  await ok(t, ['run', '--rm', ...cg(), IMAGE, 'no-such-program'], { code: 127 });
  t.deepEqual(fs.readdirSync(engine.stateRoot).filter((d) => !d.startsWith('.')), [], 'no state dir left');
});

when(reason, 'podman run -it: the pty comes through --console-socket at create', async (t) => {
  // The sleep: podman 4.3 with conmon can drop a tty's last output when the process exits at once (runc too).
  const r = await ok(t, ['run', '--rm', '-it', ...cg(), IMAGE, 'sh', '-c', 'tty; sleep 0.5; exit 5'], { script: true, code: 5 });
  t.regex(r.stdout, /\/dev\/pts\/\d+/);
  t.true(engine.runtimeCalls().some((l) => / create .*--console-socket \S+/.test(l)), 'create got --console-socket');
});

when(reason, 'podman run -d, inspect and logs: a detached container under conmon', async (t) => {
  await ok(t, ['run', '-d', '--name', NAME, ...cg(), IMAGE, 'sh', '-c', 'echo started; trap "echo bye; exit 0" TERM; while :; do sleep 0.1; done']);
  const info = await inspect(t, NAME);
  t.is(info.State.Status, 'running');
  t.is(path.basename(info.OCIRuntime), 'berth');
  t.true(info.State.Pid > 0);
  pids.add(info.State.Pid);
  // The pid file conmon read is berth's init, in the cgroup podman asked for.
  t.is(cgroupOf(info.State.Pid, 'memory'), `${engine.cgroupParent}/libpod-${info.Id}`);
  // berth's own view, from its state root: the same init, running.
  const state = JSON.parse(engine.berth(['state', info.Id]));
  t.like(state, { id: info.Id, status: 'running', pid: info.State.Pid });
  for (let i = 0; i < 50 && !(await engine.podman(['logs', NAME])).stdout.includes('started'); i++) await new Promise((r) => setTimeout(r, 100));
  t.is((await ok(t, ['logs', NAME])).stdout, 'started\n');
});

when(reason, 'podman exec: output and exit code; a missing or non-executable command is 127/126 as with runc', async (t) => {
  const r = await ok(t, ['exec', NAME, 'sh', '-c', 'echo in-exec; cat /proc/1/cmdline | tr "\\0" " "; exit 4'], { code: 4 });
  t.regex(r.stdout, /^in-exec\nsh -c echo started/);
  const calls = engine.runtimeCalls().filter((l) => / exec /.test(l));
  t.regex(calls.at(-1), / exec --pid-file \S+ --process \S+ .*--detach/);
  // podman maps the runtime's message: "no such file or directory" → 127, "permission denied" → 126.
  const missing = await ok(t, ['exec', NAME, '/nonexistent'], { code: 127 });
  t.regex(missing.stderr, /not found/);
  await ok(t, ['exec', NAME, '/etc/passwd'], { code: 126 });
});

when(reason, 'podman exec -it: a terminal through the console socket', async (t) => {
  const r = await ok(t, ['exec', '-it', NAME, 'sh', '-c', 'tty; exit 6'], { script: true, code: 6 });
  t.regex(r.stdout, /\/dev\/pts\/\d+/);
  t.true(engine.runtimeCalls().some((l) => / exec .*--tty.*--console-socket \S+|--console-socket \S+.*--tty/.test(l)), 'exec got --tty and --console-socket');
});

when(reason, 'podman pause/unpause: frozen and thawed through berth', async (t) => {
  const { Id: id } = await inspect(t, NAME);
  await ok(t, ['pause', NAME]);
  t.is((await inspect(t, NAME)).State.Status, 'paused');
  t.is(JSON.parse(engine.berth(['state', id])).status, 'paused');
  const freezer = `/sys/fs/cgroup/freezer${engine.cgroupParent}/libpod-${id}/freezer.state`;
  if (fs.existsSync(freezer)) t.is(fs.readFileSync(freezer, 'utf8').trim(), 'FROZEN');
  await ok(t, ['unpause', NAME]);
  t.is((await inspect(t, NAME)).State.Status, 'running');
  t.is(JSON.parse(engine.berth(['state', id])).status, 'running');
  await ok(t, ['exec', NAME, 'true']);
  t.true(engine.runtimeCalls().some((l) => l === `pause ${id}`) && engine.runtimeCalls().some((l) => l === `resume ${id}`));
});

when(reason, 'podman top, stats --no-stream, update', async (t) => {
  const top = await ok(t, ['top', NAME]);
  t.regex(top.stdout, /^USER\s+PID\s+PPID/);
  t.regex(top.stdout, /\n\S+\s+1\s+0\s.*sh -c echo started/);
  const [stats] = JSON.parse((await ok(t, ['stats', '--no-stream', '--format', 'json', NAME])).stdout);
  t.is(stats.name, NAME);
  t.true(Number(stats.pids) >= 1, `pids: ${stats.pids}`);
  t.regex(stats.mem_usage, /^[\d.]+[kMG]?B \/ /);
  // update: podman writes the resources to a file and runs `update --resources FILE`.
  await ok(t, ['update', '--memory', '64m', NAME]);
  const id = (await inspect(t, NAME)).Id;
  t.true(engine.runtimeCalls().some((l) => l.startsWith('update --resources') && l.endsWith(id)));
  const limit = `/sys/fs/cgroup/memory${engine.cgroupParent}/libpod-${id}/memory.limit_in_bytes`;
  if (fs.existsSync(limit)) t.is(fs.readFileSync(limit, 'utf8').trim(), String(64 * 1024 * 1024));
});

when(reason, 'podman stop and rm: SIGTERM through berth kill, then delete', async (t) => {
  const { Id: id, State } = await inspect(t, NAME);
  const t0 = performance.now();
  await ok(t, ['stop', '--time', '10', NAME]);
  t.true(performance.now() - t0 < 8000, 'stopped by SIGTERM, not after the timeout');
  const info = await inspect(t, NAME);
  t.is(info.State.Status, 'exited');
  t.is(info.State.ExitCode, 0);
  t.is((await ok(t, ['logs', NAME])).stdout, 'started\nbye\n');
  t.false(isAlive(State.Pid));
  t.true(engine.runtimeCalls().some((l) => l === `kill ${id} 15`));
  await ok(t, ['rm', NAME]);
  t.false(fs.existsSync(path.join(engine.stateRoot, id)));
});

when(reason, 'keyring = false: podman passes --no-new-keyring and berth accepts it', async (t) => {
  const cid = path.join(engine.dir, 'keyring.cid');
  const r = await ok(t, ['run', '--rm', '--cidfile', cid, ...cg(), IMAGE, 'echo', 'keyring'], { conf: engine.noKeyringConf });
  t.is(r.stdout, 'keyring\n');
  const id = fs.readFileSync(cid, 'utf8').trim();
  t.true(callsFor(id).some((l) => / create .*--no-new-keyring/.test(l)));
});

when(reason, 'afterwards nothing is left: state dirs, cgroups, processes, mounts, links', async (t) => {
  await ok(t, ['rm', '--all', '--force', '--time', '0']);
  t.is((await ok(t, ['ps', '--all', '--quiet'])).stdout, '');
  let left;
  for (let i = 0; i < 50; i++) {
    left = engine.leftovers();
    if (!left.processes.length && ![...pids].some(isAlive)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  t.deepEqual(left.state, [], `berth state dirs under ${engine.stateRoot}`);
  t.deepEqual(left.cgroups, [], `cgroups under ${engine.cgroupParent}`);
  t.deepEqual(left.processes, [], 'conmon / podman processes');
  t.deepEqual([...pids].filter(isAlive), [], 'container processes');
  t.deepEqual(left.mounts, [], 'mounts');
  t.deepEqual(linkNames(), links, 'network links');
  // Only podman's blob-info cache may appear outside the engine's directory (removed after the file).
  t.deepEqual(engine.madeOnHost().filter((p) => !p.startsWith('/var/lib/containers')), [], 'podman lock files on the host');
  // The engine's teardown: podman's own conmon cgroup and the parent go too, with its directory.
  await engine.destroy();
  t.deepEqual(engine.cgroupParentLeft(), [], 'the cgroup parent in every hierarchy');
  t.false(fs.existsSync(engine.dir), engine.dir);
  t.deepEqual(engine.madeOnHost(), [], 'podman files on the host');
});
