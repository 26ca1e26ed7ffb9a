// create/start split, exit codes and signals, stdin, the process options,
// the state directory, dying with the Node process, destroy() idempotence.
import test from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createContainer, listContainers, loadContainer, run } from '../../dist/lib/index.js';
import { assertNoLeaks, isAlive, ROOTFS, settledSnapshot, stateRootFor } from './helpers.js';

const stateRoot = stateRootFor('lifecycle');
const here = path.dirname(fileURLToPath(import.meta.url));

test.serial('create leaves the init blocked before execve (created), start runs it (running), exit stops it', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const marker = `/tmp/started-${process.pid}`;
  const c = await createContainer({ rootfs: ROOTFS, stateRoot, process: { args: ['/bin/sh', '-c', `touch ${marker}; read x; echo got:$x`] } });
  t.is(c.status, 'created');
  const state = JSON.parse(fs.readFileSync(path.join(stateRoot, c.id, 'state.json'), 'utf8'));
  t.is(state.status, 'created');
  t.is(state.pid, c.pid);
  t.true(Number.isInteger(state.pidStartTime) && state.pidStartTime > 0);
  t.is(state.id, c.id);
  // Not exec'd yet: the program has not run, so its marker does not exist.
  await new Promise((r) => setTimeout(r, 50));
  t.false(fs.existsSync(path.join(ROOTFS, marker)));
  const init = await c.start();
  t.is(c.status, 'running');
  t.is(init.pid, c.pid);
  t.is(JSON.parse(fs.readFileSync(path.join(stateRoot, c.id, 'state.json'), 'utf8')).status, 'running');
  const out = [];
  init.stdout.on('data', (d) => out.push(d));
  const closed = new Promise((r) => init.stdout.on('close', r));
  init.stdin.end('hello\n');
  t.deepEqual(await init.wait(), { exitCode: 0, signal: null });
  t.is(c.status, 'stopped');
  fs.rmSync(path.join(ROOTFS, marker), { force: true });
  await closed;
  t.is(Buffer.concat(out).toString(), 'got:hello\n');
  await c.destroy();
  await c.destroy(); // idempotent
  t.false(fs.existsSync(path.join(stateRoot, c.id)));
  await assertNoLeaks(t, before, stateRoot);
});

test('exit codes propagate', async (t) => {
  for (const code of [0, 1, 42, 255]) {
    const r = await run({ rootfs: ROOTFS, stateRoot, process: { args: ['/bin/sh', '-c', `exit ${code}`] } });
    t.is(r.exitCode, code);
    t.is(r.signal, null);
  }
});

test('a signal that ends the init is reported by name', async (t) => {
  const c = await createContainer({ rootfs: ROOTFS, stateRoot, process: { args: ['/bin/sleep', '100'] } });
  const init = await c.start();
  await c.kill('SIGKILL');
  t.deepEqual(await init.wait(), { exitCode: null, signal: 'SIGKILL' });
  await c.destroy();
});

test('SIGTERM reaches an init that handles it', async (t) => {
  const c = await createContainer({ rootfs: ROOTFS, stateRoot, process: { args: ['/bin/sh', '-c', 'trap "exit 7" TERM; echo ready; while :; do sleep 0.05; done'] } });
  const init = await c.start();
  await new Promise((r) => init.stdout.once('data', r));
  await c.kill();
  t.is((await init.wait()).exitCode, 7);
  await c.destroy();
});

test('stdin reaches the process; stdout and stderr come back separately', async (t) => {
  const r = await run({ rootfs: ROOTFS, stateRoot, process: { args: ['/bin/sh', '-c', 'cat; echo oops >&2'] } }, { input: 'from node' });
  t.is(r.stdout.toString(), 'from node');
  t.is(r.stderr.toString(), 'oops\n');
});

test('run() returns output larger than a pipe holds, whole, on both streams', async (t) => {
  const script = 'dd if=/dev/zero bs=1024 count=1024 2>/dev/null; dd if=/dev/zero bs=1000 count=300 >&2 2>/dev/null; echo end';
  const r = await run({ rootfs: ROOTFS, stateRoot, process: { args: ['/bin/sh', '-c', script] } });
  t.is(r.exitCode, 0);
  t.is(r.stdout.length, 1024 * 1024 + 4);
  t.is(r.stdout.subarray(-4).toString(), 'end\n');
  t.true(r.stdout.subarray(0, 1024 * 1024).every((b) => b === 0));
  t.is(r.stderr.length, 300 * 1000);
});

test('run() resolves when its init exits even if a background process still holds stdout', async (t) => {
  const t0 = Date.now();
  const r = await run({ rootfs: ROOTFS, stateRoot, process: { args: ['/bin/sh', '-c', 'sleep 100 & echo started'] } });
  t.is(r.stdout.toString(), 'started\n');
  // The sleeper would hold the pipe 100 s; the bound leaves room for the first
  // run() of a process (it compiles the default seccomp profile) under the VM lane's emulation.
  t.true(Date.now() - t0 < 30000, 'destroy ended the sleeper, so its end of the pipe closed');
});

test.serial('a running run() container is listed as running (its state is written a tick after it execs)', async (t) => {
  const pending = run({ rootfs: ROOTFS, stateRoot, process: { args: ['/bin/sh', '-c', 'sleep 0.5'] } });
  let seen;
  for (let i = 0; i < 40 && seen?.status !== 'running'; i++) {
    await new Promise((r) => setTimeout(r, 10));
    seen = (await listContainers({ stateRoot }))[0];
  }
  t.is(seen?.status, 'running');
  t.is((await pending).exitCode, 0);
  t.deepEqual(await listContainers({ stateRoot }), []);
});

test('args are looked up in the container PATH; env as object or K=V array; cwd; uid/gid; umask', async (t) => {
  const script = 'echo $FOO $BAR; pwd; id -u; id -g; id -G; umask';
  const r = await run({
    rootfs: ROOTFS,
    stateRoot,
    process: { args: ['sh', '-c', script], env: { FOO: 'foo', BAR: 'bar' }, cwd: '/tmp', user: { uid: 1000, gid: 1000, additionalGids: [10], umask: 0o027 } },
  });
  t.is(r.stderr.toString(), '');
  t.deepEqual(r.stdout.toString().trim().split('\n'), ['foo bar', '/tmp', '1000', '1000', '1000 10', '0027']);
  const r2 = await run({ rootfs: ROOTFS, stateRoot, process: { args: ['sh', '-c', 'echo $A; echo $PATH'], env: ['A=1', 'PATH=/bin'] } });
  t.deepEqual(r2.stdout.toString().trim().split('\n'), ['1', '/bin']);
});

test('a non-root user gets no effective capabilities by default', async (t) => {
  const r = await run({ rootfs: ROOTFS, stateRoot, process: { args: ['sh', '-c', 'grep CapEff /proc/self/status'], user: { uid: 1000, gid: 1000 } } });
  t.regex(r.stdout.toString(), /CapEff:\s+0000000000000000/);
});

test('configured capabilities and rlimits apply', async (t) => {
  const r = await run({
    rootfs: ROOTFS,
    stateRoot,
    process: {
      args: ['sh', '-c', 'grep CapEff /proc/self/status; ulimit -n; ulimit -u'],
      capabilities: { bounding: ['CAP_CHOWN', 'CAP_SETUID'], effective: ['CAP_CHOWN', 'CAP_SETUID'], permitted: ['CAP_CHOWN', 'CAP_SETUID'] },
      rlimits: [{ type: 'RLIMIT_NOFILE', soft: 256, hard: 512 }, { type: 'RLIMIT_NPROC', soft: 77, hard: 77 }],
    },
  });
  const [cap, nofile, nproc] = r.stdout.toString().trim().split('\n');
  t.is(BigInt(`0x${cap.split(/\s+/)[1]}`), (1n << 0n) | (1n << 7n));
  t.is(nofile, '256');
  t.is(nproc, '77');
});

// Limits are the process's, not berth-init's: set before the setup, a soft
// RLIMIT_NOFILE of 3 made the setup's own opens (mounts, /proc, devices) fail
// with EMFILE, and the container never started.
test('a small RLIMIT_NOFILE soft limit applies to the process, not to the setup before it', async (t) => {
  const r = await run({
    rootfs: ROOTFS,
    stateRoot,
    process: { args: ['/bin/sh', '-c', 'ulimit -n; ulimit -Hn'], rlimits: [{ type: 'RLIMIT_NOFILE', soft: 3, hard: 1024 }] },
  });
  t.is(r.exitCode, 0, r.stderr.toString());
  t.deepEqual(r.stdout.toString().trim().split('\n'), ['3', '1024']);
});

test('stdio: inherit, ignore and a caller fd', async (t) => {
  const file = path.join(fs.mkdtempSync('/tmp/berth-stdio-'), 'out');
  const fd = fs.openSync(file, 'w');
  try {
    const r = await run({ rootfs: ROOTFS, stateRoot, process: { args: ['sh', '-c', 'echo to-file; echo err >&2'], stdio: ['ignore', fd, 'ignore'] } });
    t.is(r.exitCode, 0);
    t.is(r.stdout.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  t.is(fs.readFileSync(file, 'utf8'), 'to-file\n');
  fs.rmSync(path.dirname(file), { recursive: true });
  const extra = fs.openSync('/etc/hostname', 'r');
  try {
    const r = await run({ rootfs: ROOTFS, stateRoot, process: { args: ['sh', '-c', '[ -e /proc/self/fd/3 ] && echo has3; [ -e /proc/self/fd/4 ] || echo no4; head -c 1 <&3 | wc -c'], stdio: ['pipe', 'pipe', 'pipe', extra] } });
    t.deepEqual(r.stdout.toString().trim().split('\n').map((s) => s.trim()), ['has3', 'no4', '1']);
  } finally {
    fs.closeSync(extra);
  }
});

test('user mounts: ro bind, tmpfs with size and mode, destinations created inside the rootfs', async (t) => {
  const dir = fs.mkdtempSync('/tmp/berth-mnt-');
  fs.writeFileSync(path.join(dir, 'file.txt'), 'shared');
  try {
    const r = await run({
      rootfs: ROOTFS,
      stateRoot,
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc' },
        { destination: '/data/ro', type: 'bind', source: dir, options: ['rbind', 'ro', 'nosuid', 'nodev'] },
        { destination: '/data/one.txt', type: 'bind', source: path.join(dir, 'file.txt'), options: ['bind'] },
        { destination: '/scratch/deep/dir', type: 'tmpfs', source: 'tmpfs', options: ['size=1m', 'mode=0700'] },
      ],
      process: { args: ['sh', '-c', 'cat /data/ro/file.txt; echo; cat /data/one.txt; echo; touch /data/ro/x 2>&1; stat -c %a /scratch/deep/dir; grep /scratch /proc/self/mountinfo'] },
    });
    const out = r.stdout.toString();
    t.regex(out, /^shared\nshared\n/);
    t.regex(out, /Read-only file system/);
    t.regex(out, /\n700\n/);
    t.regex(out, /size=1024k/);
    t.false(fs.existsSync(path.join(dir, 'x')));
  } finally {
    fs.rmSync(dir, { recursive: true });
    fs.rmSync(path.join(ROOTFS, 'data'), { recursive: true, force: true });
    fs.rmSync(path.join(ROOTFS, 'scratch'), { recursive: true, force: true });
  }
});

test('a symlink in the rootfs cannot lead a mount destination out of it', async (t) => {
  const rootfs = fs.mkdtempSync('/tmp/berth-evil-root-');
  const outside = `/tmp/berth-escape-${process.pid}`;
  fs.cpSync(ROOTFS, rootfs, { recursive: true, verbatimSymlinks: true });
  fs.symlinkSync(outside, path.join(rootfs, 'evil'));
  fs.symlinkSync('../../../../../../..', path.join(rootfs, 'up'));
  try {
    const r = await run({
      rootfs,
      stateRoot,
      mounts: [
        { destination: '/evil/sub', type: 'tmpfs', source: 'tmpfs' },
        { destination: '/up/tmp/berth-up', type: 'tmpfs', source: 'tmpfs' },
      ],
      process: { args: ['true'] },
    });
    t.is(r.exitCode, 0, r.stderr.toString());
    t.false(fs.existsSync(outside), 'nothing was created on the host through the absolute symlink');
    t.true(fs.existsSync(path.join(rootfs, outside, 'sub')), 'it was created inside the rootfs instead');
    t.false(fs.existsSync('/tmp/berth-up'), 'nothing was created on the host through ..');
    t.true(fs.existsSync(path.join(rootfs, 'tmp/berth-up')));
  } finally {
    fs.rmSync(rootfs, { recursive: true, force: true });
  }
});

test('joining another container\'s network namespace by path', async (t) => {
  const a = await createContainer({ rootfs: ROOTFS, stateRoot, process: { args: ['sleep', '100'] } });
  try {
    await a.start();
    const own = fs.readlinkSync(`/proc/${a.pid}/ns/net`);
    const r = await run({
      rootfs: ROOTFS,
      stateRoot,
      linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'uts' }, { type: 'ipc' }, { type: 'network', path: `/proc/${a.pid}/ns/net` }] },
      process: { args: ['readlink', '/proc/self/ns/net'] },
    });
    t.is(r.stdout.toString().trim(), own);
  } finally {
    await a.destroy();
  }
});

test('the container dies with the Node process that made it', async (t) => {
  const script = `
    import { createContainer } from '../../dist/lib/index.js';
    const c = await createContainer({ rootfs: ${JSON.stringify(ROOTFS)}, stateRoot: ${JSON.stringify(stateRoot)}, process: { args: ['sleep', '100'] } });
    await c.start();
    console.log(c.pid, c.id);
    process.exit(0);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: here, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await new Promise((r) => child.on('exit', r));
  const [pid, id] = out.trim().split(' ');
  t.true(Number(pid) > 0, out);
  for (let i = 0; i < 100 && isAlive(Number(pid)); i++) await new Promise((r) => setTimeout(r, 20));
  t.false(isAlive(Number(pid)), 'the container init is gone');
  // Its owner died without destroy(): what it left (state dir, cgroups) is cleaned up from here.
  await (await loadContainer(id, { stateRoot })).destroy();
  t.false(fs.existsSync(path.join(stateRoot, id)));
});

test('Symbol.asyncDispose (await using) destroys the container', async (t) => {
  // Node 20 cannot parse `await using`; TypeScript compiles it to this call.
  const c = await createContainer({ rootfs: ROOTFS, stateRoot, process: { args: ['sleep', '100'] } });
  await c.start();
  await c[Symbol.asyncDispose]();
  t.false(isAlive(c.pid));
  t.false(fs.existsSync(path.join(stateRoot, c.id)));
});

test('namespaced sysctls apply inside the container and not on the host', async (t) => {
  const hostForward = fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');
  const r = await run({
    rootfs: ROOTFS,
    stateRoot,
    linux: { sysctl: { 'net.ipv4.ip_forward': hostForward.trim() === '1' ? '0' : '1', 'kernel.shmmni': '1234' } },
    process: { args: ['sh', '-c', 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni'] },
  });
  t.deepEqual(r.stdout.toString().split('\n').slice(0, 2), [hostForward.trim() === '1' ? '0' : '1', '1234']);
  t.is(fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8'), hostForward);
});
