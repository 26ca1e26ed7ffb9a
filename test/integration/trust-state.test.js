// The state directory under hostile conditions: a state root that cannot be
// made fails fast and frees its setup slot; an owner SIGKILLed at any point of
// create leaves something listable and removable; a zombie init is stopped.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createContainer, listContainers, loadContainer, run } from '../../dist/lib/index.js';
import { assertNoLeaks, ROOTFS, settledSnapshot, stateEntries, stateRootFor } from './helpers.js';
import { cgroupDirs, mounts, ownerProcess, within } from './owner.js';

const stateRoot = stateRootFor('trust-state');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const internals = "import { StateDir } from '../../dist/lib/state/state-dir.js'; import { native } from '../../dist/lib/native/addon.js';";
/** An owner process with berth's internals at hand (the kill points hook into them). */
const owner = (script) => ownerProcess(script, { stateRoot, imports: internals });


function procState(pid) {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2)[0];
  } catch {
    return null;
  }
}


test.serial('a stateRoot under /proc rejects in milliseconds, and three run()s after it still work', async (t) => {
  const t0 = Date.now();
  const outcome = await within(createContainer({ rootfs: ROOTFS, stateRoot: '/proc/x', process: { args: ['true'] } }), 10000);
  const elapsed = Date.now() - t0;
  t.not(outcome, 'timeout', 'the create settles');
  t.not(outcome, 'resolved');
  if (outcome instanceof Error) {
    t.log(`${elapsed} ms: ${outcome.message}`);
    t.is(outcome.code, 'SETUP_FAILED');
    t.is(outcome.errno, 'ENOENT');
    t.is(outcome.path, '/proc/x');
    t.true(elapsed < 2000, `fast (${elapsed} ms)`);
  }
  for (let i = 0; i < 3; i++) {
    const r = await within(run({ rootfs: ROOTFS, stateRoot, process: { args: ['true'] } }), 20000);
    t.is(r, 'resolved', `run() #${i + 1} after it settles`);
  }
  t.deepEqual(stateEntries(stateRoot), []);
});

test.serial('other state roots that cannot be made fail fast with the path and errno, and make nothing', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-trust-'));
  const file = path.join(tmp, 'a-file');
  fs.writeFileSync(file, '');
  try {
    for (const [root, errno, where] of [
      [file, 'ENOTDIR', null], // the root is a file: the claim below it fails
      [path.join(file, 'below'), 'ENOTDIR', path.join(file, 'below')],
      ['/sys/kernel/berth-trust', 'EPERM', '/sys/kernel/berth-trust'],
      ['/proc/sys/berth-trust/deeper', 'ENOENT', '/proc/sys/berth-trust'],
    ]) {
      const t0 = Date.now();
      const outcome = await within(createContainer({ rootfs: ROOTFS, stateRoot: root, process: { args: ['true'] } }), 10000);
      t.true(outcome instanceof Error, `${root}: rejects (${outcome})`);
      if (!(outcome instanceof Error)) continue;
      t.log(`${root}: ${Date.now() - t0} ms: ${outcome.message}`);
      t.is(outcome.code, 'SETUP_FAILED', root);
      t.is(outcome.errno, errno, root);
      if (where) t.is(outcome.path, where, root);
      else t.true(outcome.path.startsWith(file), `${root}: names ${outcome.path}`);
      t.true(Date.now() - t0 < 2000, `${root}: fast`);
    }
    t.deepEqual(fs.readdirSync(tmp), ['a-file'], 'nothing was made');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

// Where the owner dies: right after the id is claimed, right after clone3
// returned (the child is setting up), right after the first state.json write,
// and once create() resolved.
const killPoints = {
  claimed: `const claim = StateDir.prototype.claim;
    StateDir.prototype.claim = async function (...a) { await claim.apply(this, a); die(); };`,
  spawned: `const spawnNative = native.spawn;
    native.spawn = async (...a) => { const r = await spawnNative(...a); die(); return r; };`,
  'first write': `const write = StateDir.prototype.write;
    StateDir.prototype.write = async function (...a) { await write.apply(this, a); die(); };`,
  created: `const after = true;`,
};

/** After the owner died: what it left is listed (not as live), removable, and the id is free again. */
async function checkLeftover(t, id, where) {
  const listed = (await listContainers({ stateRoot })).find((s) => s.id === id);
  if (!listed) {
    t.deepEqual(stateEntries(stateRoot), [], `${where}: nothing listed, nothing there`);
  } else {
    t.is(listed.status, 'stopped', `${where}: listed as stopped (was ${JSON.stringify(listed)})`);
    const outcome = await within((await loadContainer(id, { stateRoot })).destroy(), 20000);
    t.is(outcome, 'resolved', `${where}: destroy() of the leftover`);
  }
  t.deepEqual(stateEntries(stateRoot), [], `${where}: the state directory is gone`);
  const left = cgroupDirs(id).filter((d) => fs.existsSync(d));
  t.deepEqual(left, [], `${where}: no cgroup left`);
  for (const d of left.sort((a, b) => b.length - a.length)) fs.rmdirSync(d);
  const again = await createContainer({ id, rootfs: ROOTFS, stateRoot, process: { args: ['true'] } });
  await again.destroy();
  t.pass(`${where}: the id can be used again`);
}

for (const [where, hook] of Object.entries(killPoints)) {
  test.serial(`an owner SIGKILLed during create (${where}) leaves an entry that is listed and removable, and the id is free again`, async (t) => {
    const id = `trust-crash-${process.pid}-${where.replace(' ', '-')}`;
    const o = owner(`${hook}
      const c = await createContainer({ id: ${JSON.stringify(id)}, rootfs, stateRoot, process: { args: ['sleep', '100'] } });
      die();`);
    await o.exited;
    await sleep(100); // the init dies with its owner (PDEATHSIG / the sync socket's EOF)
    await checkLeftover(t, id, where);
  });
}

test.serial('owners SIGKILLed at racing moments of a stream of creates leave only listable, removable entries', async (t) => {
  const ids = [];
  for (let round = 0; round < 6; round++) {
    const base = `trust-race-${process.pid}-${round}`;
    const o = owner(`
      console.log('go');
      for (let i = 0; ; i++) {
        const c = await createContainer({ id: ${JSON.stringify(base)} + '-' + i, rootfs, stateRoot, process: { args: ['sleep', '100'] } });
        await c.destroy();
      }`);
    await o.line();
    await sleep(150 + round * 37);
    o.child.kill('SIGKILL');
    await o.exited;
    await sleep(100);
    for (const name of stateEntries(stateRoot)) if (name.startsWith(base)) ids.push(name);
    for (const s of await listContainers({ stateRoot })) {
      t.is(s.status, 'stopped', `${s.id}: stopped once its owner died`);
      await (await loadContainer(s.id, { stateRoot })).destroy();
    }
    t.deepEqual(stateEntries(stateRoot), [], 'every leftover was listed and removed');
    const cgroupsLeft = mounts.flatMap((m) => {
      try {
        return fs.readdirSync(path.join(m, 'berth')).filter((n) => n.startsWith(base)).map((n) => path.join(m, 'berth', n));
      } catch {
        return [];
      }
    });
    t.deepEqual(cgroupsLeft, [], 'no cgroup of a killed create is left');
    for (const d of cgroupsLeft) fs.rmdirSync(d);
  }
  t.log(`leftovers seen and removed: ${ids.join(', ') || 'none'}`);
});

test.serial('an empty state directory (an owner killed in the middle of destroy) is listed, removable, and does not block its id', async (t) => {
  const id = `trust-empty-${process.pid}`;
  fs.mkdirSync(path.join(stateRoot, id), { recursive: true });
  try {
    const listed = (await listContainers({ stateRoot })).find((s) => s.id === id);
    t.is(listed?.status, 'stopped');
    await (await loadContainer(id, { stateRoot })).destroy();
    t.deepEqual(stateEntries(stateRoot), []);
    fs.mkdirSync(path.join(stateRoot, id));
    const c = await createContainer({ id, rootfs: ROOTFS, stateRoot, process: { args: ['true'] } });
    await c.destroy();
    t.deepEqual(stateEntries(stateRoot), []);
  } finally {
    fs.rmSync(path.join(stateRoot, id), { recursive: true, force: true });
  }
});

test.serial('a zombie init (exited, its owner alive but not reaping) is listed as stopped', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const o = owner(`
    const c = await createContainer({ rootfs, stateRoot, process: { args: ['sh', '-c', 'sleep 0.3'] } });
    await c.start();
    console.log(c.id + ' ' + c.pid);
    // The event loop is blocked: the pidfd watch that would reap the init never runs.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000);`);
  const [id, pidText] = (await o.line()).split(' ');
  const pid = Number(pidText);
  try {
    for (let i = 0; i < 250 && procState(pid) !== 'Z'; i++) await sleep(20);
    t.is(procState(pid), 'Z', 'the init exited and is not reaped');
    t.is((await listContainers({ stateRoot })).find((s) => s.id === id)?.status, 'stopped');
    t.is((await (await loadContainer(id, { stateRoot })).state()).status, 'stopped');
  } finally {
    o.child.kill('SIGKILL');
    await o.exited;
    if (fs.existsSync(path.join(stateRoot, id))) await (await loadContainer(id, { stateRoot })).destroy();
  }
  t.deepEqual(cgroupDirs(id).filter((d) => fs.existsSync(d)), []);
  await assertNoLeaks(t, before, stateRoot);
});
