// A failed create rolls back only what it made: a cgroup that exists already
// (another container's with the same id under another state root, or one
// berth did not make) is never frozen, killed or removed, and the collision is
// an immediate EEXIST; names the kernel would refuse are config errors.
import test from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createContainer, listContainers, loadContainer } from '../../dist/lib/index.js';
// Internal: which hierarchies exist here, and the manager on the unified tree alone.
import { detectLayout } from '../../dist/lib/host/index.js';
import { createCgroupManager } from '../../dist/lib/cgroups/index.js';
import { assertNoLeaks, isAlive, ROOTFS, settledSnapshot, stateEntries, stateRootFor } from './helpers.js';

const rootA = stateRootFor('trust-cgroups-a');
const rootB = stateRootFor('trust-cgroups-b');
const layout = await detectLayout();
const mounts = [...new Set([...Object.values(layout.v1), ...(layout.unifiedMount ? [layout.unifiedMount] : [])])];
const exists = (p) => fs.existsSync(p);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A process of this test's own, standing for a service that owns a cgroup. */
async function service() {
  const child = spawn('sleep', ['1000'], { stdio: 'ignore' });
  await new Promise((r) => child.once('spawn', r));
  const exited = new Promise((r) => child.once('exit', r));
  return { pid: child.pid, stop: async () => (child.kill('SIGKILL'), await exited) };
}

/** mkdir -p of `rel` in the given hierarchies; returns what to rmdir afterwards, deepest first. */
function makeForeign(rel, inMounts) {
  const made = [];
  for (const m of inMounts) {
    const segs = rel.split('/');
    for (let i = 1; i <= segs.length; i++) {
      const d = path.join(m, ...segs.slice(0, i));
      if (!exists(d)) {
        fs.mkdirSync(d);
        made.push(d);
      }
    }
  }
  return made.sort((a, b) => b.length - a.length);
}

function removeForeign(dirs) {
  for (const d of dirs) {
    for (let i = 0; i < 200; i++) {
      try {
        fs.rmdirSync(d);
        break;
      } catch (err) {
        if (err.code === 'ENOENT') break;
        if (err.code !== 'EBUSY') throw err;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      }
    }
  }
}

const procsOf = (dir) => fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);

test.serial('same id under two state roots: the second create fails at once with EEXIST, the first keeps running intact', async (t) => {
  const id = `trust-dup-${process.pid}`;
  const first = await createContainer({ id, rootfs: ROOTFS, stateRoot: rootA, process: { args: ['sleep', '100'] } });
  try {
    await first.start();
    const dirs = mounts.map((m) => path.join(m, 'berth', id));
    t.deepEqual(dirs.filter((d) => !exists(d)), [], 'the first container has its cgroup in every hierarchy');
    const before = await settledSnapshot(rootB);
    const t0 = Date.now();
    const err = await t.throwsAsync(createContainer({ id, rootfs: ROOTFS, stateRoot: rootB, process: { args: ['true'] } }));
    const elapsed = Date.now() - t0;
    t.log(`second create rejected after ${elapsed} ms: ${err.message}`);
    t.is(err.code, 'CGROUP_FAILED');
    t.is(err.errno, 'EEXIST');
    t.true(dirs.includes(err.path), `names the colliding cgroup (${err.path})`);
    t.regex(err.message, /already exists/);
    // Generous for a shared 2-core machine; it took ~30 s when the rollback waited on the other container.
    t.true(elapsed < 3000, `failed fast (${elapsed} ms)`);
    // The first is untouched: alive, not frozen, its cgroups in place with its init in them.
    t.true(isAlive(first.pid));
    t.is(first.status, 'running');
    t.deepEqual(dirs.filter((d) => !exists(d)), [], 'the first container keeps every cgroup directory');
    t.true((await first.processes()).includes(first.pid));
    if (layout.v1.freezer) t.is(fs.readFileSync(path.join(layout.v1.freezer, 'berth', id, 'freezer.state'), 'utf8').trim(), 'THAWED');
    const p = await first.exec({ args: ['true'] });
    t.is((await p.wait()).exitCode, 0, 'the first container still runs processes');
    t.deepEqual(await listContainers({ stateRoot: rootB }), []);
    t.is((await listContainers({ stateRoot: rootA })).find((s) => s.id === id)?.status, 'running');
    await assertNoLeaks(t, before, rootB);
  } finally {
    await first.destroy();
  }
  t.deepEqual(mounts.map((m) => path.join(m, 'berth', id)).filter(exists), []);
  t.deepEqual(stateEntries(rootA), []);
});

test.serial('a cgroupsPath naming a cgroup berth did not create fails at once and leaves its processes and directories alone', async (t) => {
  const rel = `trust-foreign-${process.pid}`;
  const made = makeForeign(rel, mounts);
  const svc = await service();
  try {
    // The "service" lives in the foreign cgroup of the pids hierarchy and of the unified tree.
    const holders = [layout.v1.pids, layout.unifiedMount].filter(Boolean).map((m) => path.join(m, rel));
    for (const d of holders) fs.writeFileSync(path.join(d, 'cgroup.procs'), String(svc.pid));
    const before = await settledSnapshot(rootA);
    const t0 = Date.now();
    const err = await t.throwsAsync(createContainer({ rootfs: ROOTFS, stateRoot: rootA, linux: { cgroupsPath: rel }, process: { args: ['true'] } }));
    const elapsed = Date.now() - t0;
    t.log(`rejected after ${elapsed} ms: ${err.message}`);
    t.is(err.code, 'CGROUP_FAILED');
    t.is(err.errno, 'EEXIST');
    t.true(elapsed < 3000, `failed fast (${elapsed} ms)`);
    await sleep(100);
    t.true(isAlive(svc.pid), 'the service was not killed');
    for (const d of holders) t.deepEqual(procsOf(d), [svc.pid], `${d} still holds the service`);
    if (layout.v1.freezer) t.is(fs.readFileSync(path.join(layout.v1.freezer, rel, 'freezer.state'), 'utf8').trim(), 'THAWED');
    t.deepEqual(made.filter((d) => !exists(d)), [], 'every foreign directory is still there');
    await assertNoLeaks(t, before, rootA);
  } finally {
    await svc.stop();
    removeForeign(made);
  }
});

test.serial('a failed create removes the intermediate cgroup directories it made, and nothing else', async (t) => {
  // The leaf exists (with a process in it) only in the hierarchy the child places
  // itself in last: by then it has made parent and leaf in all the others.
  const parent = `trust-mid-${process.pid}`;
  const last = layout.unifiedMount ?? Object.values(layout.v1).at(-1);
  const made = makeForeign(`${parent}/leaf`, [last]);
  const svc = await service();
  try {
    fs.writeFileSync(path.join(last, parent, 'leaf', 'cgroup.procs'), String(svc.pid));
    const before = await settledSnapshot(rootA);
    const err = await t.throwsAsync(createContainer({ rootfs: ROOTFS, stateRoot: rootA, linux: { cgroupsPath: `${parent}/leaf` }, process: { args: ['true'] } }));
    t.is(err.errno, 'EEXIST');
    t.is(err.path, path.join(last, parent, 'leaf'));
    const left = mounts.filter((m) => m !== last).map((m) => path.join(m, parent)).filter(exists);
    t.deepEqual(left, [], 'the directories this attempt made are gone');
    t.true(isAlive(svc.pid));
    t.deepEqual(procsOf(path.join(last, parent, 'leaf')), [svc.pid]);
    await assertNoLeaks(t, before, rootA);
  } finally {
    await svc.stop();
    removeForeign(made);
  }
});

for (const [what, cgroupsPath] of [
  ['a control file below a new parent', 'x/cgroup.procs'],
  ['a v1 core file', 'tasks'],
  ['a controller file', 'memory.limit_in_bytes'],
  ['a name longer than NAME_MAX', 'n'.repeat(256)],
]) {
  test.serial(`linux.cgroupsPath naming ${what} is a ConfigError and makes nothing`, async (t) => {
    const rel = cgroupsPath.startsWith('x/') ? `trust-x-${process.pid}/${cgroupsPath.slice(2)}` : cgroupsPath;
    const before = await settledSnapshot(rootA);
    const err = await t.throwsAsync(createContainer({ rootfs: ROOTFS, stateRoot: rootA, linux: { cgroupsPath: rel }, process: { args: ['true'] } }));
    t.is(err.code, 'INVALID_CONFIG', err.message);
    t.is(err.field, 'linux.cgroupsPath');
    t.deepEqual(mounts.map((m) => path.join(m, `trust-x-${process.pid}`)).filter(exists), []);
    await assertNoLeaks(t, before, rootA);
  });
}

test.serial('an id that would name a control file is a ConfigError', async (t) => {
  const err = await t.throwsAsync(createContainer({ id: 'cgroup.procs', rootfs: ROOTFS, stateRoot: rootA, process: { args: ['true'] } }));
  t.is(err.code, 'INVALID_CONFIG');
  t.is(err.field, 'id');
  t.deepEqual(stateEntries(rootA), []);
});

test.serial('v2 manager: create() over an existing cgroup fails at once, and its rollback neither kills nor removes it', async (t) => {
  if (!layout.unifiedMount) return t.pass('no cgroup2 tree here');
  const id = `trust-v2-${process.pid}`;
  const made = makeForeign(`berth/${id}`, [layout.unifiedMount]);
  const svc = await service();
  const leaf = path.join(layout.unifiedMount, 'berth', id);
  try {
    fs.writeFileSync(path.join(leaf, 'cgroup.procs'), String(svc.pid));
    const m = createCgroupManager({ id, layout: 'v2' });
    const t0 = Date.now();
    const err = await t.throwsAsync(m.create(undefined));
    t.true(Date.now() - t0 < 2000, `failed fast (${Date.now() - t0} ms)`);
    t.is(err.errno, 'EEXIST');
    t.is(err.path, leaf);
    // What create.ts's rollback calls on a failed create.
    await m.killAll();
    await m.destroy();
    await sleep(100);
    t.true(isAlive(svc.pid), 'killAll() of a cgroup it did not create killed nothing');
    t.true(exists(leaf));
    t.deepEqual(procsOf(leaf), [svc.pid]);
    t.deepEqual(m.ownedPaths ?? [], []);
  } finally {
    await svc.stop();
    removeForeign(made);
  }
});

test.serial('loadContainer().destroy() kills and removes only the cgroups its state records as its own', async (t) => {
  // A leftover record whose cgroupPaths were tampered to name a foreign cgroup
  // outside any cgroup mount is refused, not followed.
  const id = `trust-rec-${process.pid}`;
  fs.mkdirSync(path.join(rootA, id), { recursive: true });
  fs.writeFileSync(path.join(rootA, id, 'state.json'), JSON.stringify({
    ociVersion: '1.2.0', id, status: 'stopped', rootfs: ROOTFS, created: new Date().toISOString(), ownerPid: 0,
    cgroupPaths: ['/tmp'],
  }));
  try {
    const err = await t.throwsAsync((await loadContainer(id, { stateRoot: rootA })).destroy());
    t.is(err.code, 'CGROUP_FAILED', err.message);
    t.true(exists('/tmp'));
  } finally {
    fs.rmSync(path.join(rootA, id), { recursive: true, force: true });
  }
});
