// OCI hooks in the library: each of the six where runtime-spec 1.3 puts it
// (namespaces seen from inside the hook), the state on stdin, and the failure
// rules — create/start fail and leave nothing; a failing poststart fails start;
// a failing poststop is a warning; a hook past its timeout is killed.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createContainer } from '../../dist/lib/index.js';
import { ROOTFS, assertNoLeaks, settledSnapshot, stateRootFor } from './helpers.js';

const stateRoot = stateRootFor('hooks');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-hooks-'));
fs.chmodSync(dir, 0o755);
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

const log = path.join(dir, 'log');
// One line per call: the hook's name, what it read on stdin, its mount namespace and whether it sees the host's root.
const script = path.join(dir, 'hook.sh');
fs.writeFileSync(script, `#!/bin/sh\nstate=$(cat)\necho "$1|$state|$(readlink /proc/self/ns/mnt)|$(test -e ${dir}/hook.sh && echo host-root || echo container-root)" >> ${log}\nexit \${2:-0}\n`, { mode: 0o755 });
const hook = (name, code = 0) => ({ path: script, args: ['hook.sh', name, String(code)] });
// startContainer resolves its path in the container: the rootfs's own shell, writing through a bind mount.
const inside = (name, code = 0) => ({ path: '/bin/sh', args: ['sh', '-c', `state=$(cat); echo "${name}|$state|$(readlink /proc/self/ns/mnt)|container-root" >> /hooklog/log; exit ${code}`] });
// A config's mounts replace the defaults (as OCI's list is the whole list): /proc for the hooks' readlink.
const bind = [
  { destination: '/proc', type: 'proc', source: 'proc' },
  { destination: '/hooklog', source: dir, type: 'bind', options: ['rbind'] },
];

function calls() {
  if (!fs.existsSync(log)) return [];
  return fs.readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => {
    const [name, state, mntns, root] = l.split('|');
    return { name, state: JSON.parse(state), mntns, root };
  });
}

const hostMntNs = fs.readlinkSync('/proc/self/ns/mnt');

/** The cgroup directories a container of this id would have, in every hierarchy, that exist. */
function cgroupDirsOf(id) {
  const out = [];
  for (const h of fs.readdirSync('/sys/fs/cgroup')) {
    const d = path.join('/sys/fs/cgroup', h, 'berth', id);
    if (fs.existsSync(d)) out.push(d);
  }
  return out;
}
const config = (hooks, args = ['/bin/true']) => ({ rootfs: ROOTFS, stateRoot, mounts: bind, hooks, process: { args } });

test.serial('all six run in order, each where the spec puts it, with the state on stdin', async (t) => {
  fs.rmSync(log, { force: true });
  const before = await settledSnapshot(stateRoot);
  const c = await createContainer(config({
    prestart: [hook('prestart')],
    createRuntime: [hook('createRuntime')],
    createContainer: [hook('createContainer')],
    startContainer: [inside('startContainer')],
    poststart: [hook('poststart')],
    poststop: [hook('poststop')],
  }));
  t.deepEqual(calls().map((c) => c.name), ['prestart', 'createRuntime', 'createContainer'], 'create ran the create hooks');
  const init = await c.start();
  await init.wait();
  t.deepEqual(calls().map((c) => c.name).slice(3), ['startContainer', 'poststart']);
  await c.destroy();
  const all = calls();
  t.deepEqual(all.map((c) => c.name), ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
  const by = Object.fromEntries(all.map((x) => [x.name, x]));
  for (const x of all) {
    t.is(x.state.id, c.id, `${x.name} got the state`);
    t.is(x.state.pid, c.pid, `${x.name}: the init's host pid`);
    t.is(x.state.ociVersion, '1.2.0');
  }
  t.is(by.prestart.state.status, 'created');
  t.is(by.startContainer.state.status, 'created');
  t.is(by.poststart.state.status, 'running');
  t.is(by.poststop.state.status, 'stopped');
  // Host hooks in the host's mount namespace; the container ones in the container's.
  for (const n of ['prestart', 'createRuntime', 'poststart', 'poststop']) t.is(by[n].mntns, hostMntNs, `${n} runs on the host`);
  t.not(by.createContainer.mntns, hostMntNs, 'createContainer runs in the container');
  t.is(by.createContainer.mntns, by.startContainer.mntns, 'both in the same (the container\'s) mount namespace');
  // createContainer: before pivot_root, its path resolved in the runtime namespace (the host's files are there).
  t.is(by.createContainer.root, 'host-root');
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('a failing create hook fails create naming the hook, and leaves nothing', async (t) => {
  for (const kind of ['prestart', 'createRuntime', 'createContainer']) {
    fs.rmSync(log, { force: true });
    const before = await settledSnapshot(stateRoot);
    const id = `hookfail-${kind}-${process.pid}`;
    const err = await t.throwsAsync(createContainer({ ...config({ [kind]: [hook(kind, 5)], poststop: [hook('poststop')] }), id }));
    t.is(err.code, 'HOOK_FAILED', kind);
    t.is(err.step, `hook:${kind}[0]`);
    t.is(err.exitCode, 5);
    t.deepEqual(cgroupDirsOf(id), [], `${kind}: no cgroup directory is left`);
    await assertNoLeaks(t, before, stateRoot);
  }
});

test.serial('a failing startContainer hook fails start before the program runs; the container is destroyed', async (t) => {
  fs.rmSync(log, { force: true });
  const before = await settledSnapshot(stateRoot);
  const c = await createContainer(config({ startContainer: [inside('startContainer', 4)] }, ['/bin/sh', '-c', 'echo ran > /hooklog/ran']));
  const err = await t.throwsAsync(c.start());
  t.is(err.code, 'HOOK_FAILED');
  t.is(err.step, 'hook:startContainer[0]');
  t.false(fs.existsSync(path.join(dir, 'ran')), 'the program did not run');
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('a failing poststart fails start (runtime-spec 1.3) and stops the container; the remaining poststart hooks do not run', async (t) => {
  fs.rmSync(log, { force: true });
  const before = await settledSnapshot(stateRoot);
  const c = await createContainer(config({ poststart: [hook('poststart1', 3), hook('poststart2')] }, ['sleep', '100']));
  const err = await t.throwsAsync(c.start());
  t.is(err.code, 'HOOK_FAILED');
  t.is(err.step, 'hook:poststart[0]');
  t.is(c.status, 'stopped');
  t.deepEqual(calls().map((x) => x.name), ['poststart1']);
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('a failing poststop is a warning: the other poststop hooks run and destroy completes', async (t) => {
  fs.rmSync(log, { force: true });
  const before = await settledSnapshot(stateRoot);
  const warnings = [];
  const onWarning = (w) => warnings.push(w);
  process.on('warning', onWarning);
  try {
    const c = await createContainer(config({ poststop: [hook('poststop1', 2), hook('poststop2')] }));
    await (await c.start()).wait();
    await c.destroy();
    await new Promise((r) => setImmediate(r));
    t.deepEqual(calls().map((x) => x.name), ['poststop1', 'poststop2']);
    t.true(warnings.some((w) => w.name === 'BerthHookWarning' && /poststop.*exited with code 2/.test(w.message)), warnings.map((w) => w.message).join('\n'));
  } finally {
    process.off('warning', onWarning);
  }
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('a hook past its timeout is killed with its process group; create fails with HOOK_TIMEOUT and leaves nothing', async (t) => {
  fs.rmSync(log, { force: true });
  const before = await settledSnapshot(stateRoot);
  const pidFile = path.join(dir, 'bg.pid');
  const slow = path.join(dir, 'slow.sh');
  fs.writeFileSync(slow, `#!/bin/sh\nsleep 100 &\necho $! > ${pidFile}\nwait\n`, { mode: 0o755 });
  const t0 = Date.now();
  const id = `hooktimeout-${process.pid}`;
  const err = await t.throwsAsync(createContainer({ ...config({ createRuntime: [{ path: slow, timeout: 1 }] }), id }));
  t.is(err.code, 'HOOK_TIMEOUT');
  t.deepEqual(cgroupDirsOf(id), [], 'no cgroup directory is left');
  t.true(Date.now() - t0 < 4000, `took ${Date.now() - t0} ms`);
  const bg = Number(fs.readFileSync(pidFile, 'utf8'));
  let gone = false;
  for (let i = 0; i < 100 && !gone; i++) {
    try {
      const st = fs.readFileSync(`/proc/${bg}/stat`, 'utf8');
      gone = st.slice(st.lastIndexOf(')') + 2).startsWith('Z');
    } catch {
      gone = true;
    }
    if (!gone) await new Promise((r) => setTimeout(r, 20));
  }
  t.true(gone, 'the hook\'s background child was killed too');
  await assertNoLeaks(t, before, stateRoot);
});
