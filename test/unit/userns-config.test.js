// linux.uidMappings / gidMappings: every rule the kernel's map_write() holds a
// map to, and the user-namespace rules around them, refused before anything
// exists with the JSON path of the entry; and what the plan does with a user
// namespace (root-free: config and plan only).
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { normalizeConfig } from '../../dist/lib/config/normalize.js';
import { DEFAULT_NAMESPACES } from '../../dist/lib/config/defaults.js';
import { MAX_MAP_LINES, hostIdOf, mapText, normalizeIdMappings } from '../../dist/lib/config/userns.js';
import { containerPlan, execPlan, idmappedTrees, initForks } from '../../dist/lib/launch/plan.js';
import { CLONE_NS } from '../../dist/lib/kernel/abi.js';
import { fakeCaller, fakeCgroupInfo, rejectsField, removeDir, scratchDir } from './helpers.js';

const host = fakeCgroupInfo('hybrid');
let dir;
let rootfs;
test.before(() => {
  dir = scratchDir('userns-config');
  rootfs = path.join(dir, 'rootfs');
  fs.mkdirSync(rootfs);
});
test.after.always(() => removeDir(dir));

const range = (containerID, hostID, size) => ({ containerID, hostID, size });
const ROOT_RANGE = [range(0, 100000, 65536)];
const withUser = (...extra) => [...DEFAULT_NAMESPACES.map((type) => ({ type })), { type: 'user' }, ...extra];
const cfg = (linux = {}, extra = {}) => ({
  rootfs,
  process: { args: ['/bin/true'], ...(extra.process ?? {}) },
  linux: { namespaces: withUser(), uidMappings: ROOT_RANGE, gidMappings: ROOT_RANGE, ...linux },
});
const normalize = (c) => normalizeConfig(c, host, fakeCaller());

test('a map that the kernel would take comes through as given, as uid_map text', async (t) => {
  const c = await normalize(cfg({ uidMappings: [range(0, 100000, 1000), range(1000, 5000, 1)] }));
  t.deepEqual(c.userns, { mode: 'new', uidMappings: [range(0, 100000, 1000), range(1000, 5000, 1)], gidMappings: ROOT_RANGE });
  t.is(mapText(c.userns.uidMappings), '0 100000 1000\n1000 5000 1\n');
  t.is(hostIdOf(c.userns.uidMappings, 1000), 5000);
  t.is(hostIdOf(c.userns.uidMappings, 999), 100999);
  t.is(hostIdOf(c.userns.uidMappings, 1001), undefined);
  // A range may end exactly at 2^32.
  t.deepEqual(normalizeIdMappings([range(0, 2 ** 32 - 10, 10)], 'm'), [range(0, 2 ** 32 - 10, 10)]);
});

const bad = [
  ['overlapping container ranges', { uidMappings: [range(0, 100000, 100), range(50, 300000, 10)] }, 'linux.uidMappings[1]', /containerID range 50-59 overlaps linux.uidMappings\[0\]/],
  ['overlapping host ranges', { gidMappings: [range(0, 100000, 100), range(200, 100099, 10)] }, 'linux.gidMappings[1]', /hostID range/],
  ['size 0', { uidMappings: [range(0, 100000, 0)] }, 'linux.uidMappings[0].size', /between 1 and/],
  ['a container range past 2^32', { uidMappings: [range(2 ** 32 - 5, 1, 10)] }, 'linux.uidMappings[0].size', /overflows/],
  ['a host range past 2^32', { uidMappings: [range(0, 2 ** 32 - 5, 10)] }, 'linux.uidMappings[0].size', /overflows/],
  ['an id that is not a u32', { uidMappings: [range(0, -1, 10)] }, 'linux.uidMappings[0].hostID', /between 0/],
  ['an id that is not an integer', { gidMappings: [range(0.5, 1, 10)] }, 'linux.gidMappings[0].containerID', /integer/],
  ['an unknown key', { uidMappings: [{ ...range(0, 1, 1), containerId: 3 }] }, 'linux.uidMappings[0].containerId', /unknown field/],
  ['an entry that is not an object', { uidMappings: [5] }, 'linux.uidMappings[0]', /object/],
  ['more lines than the kernel takes', { uidMappings: Array.from({ length: MAX_MAP_LINES + 1 }, (_, i) => range(i, 100000 + i, 1)) }, 'linux.uidMappings', /at most 340/],
  ['a user namespace without uid mappings', { uidMappings: undefined }, 'linux.uidMappings', /needs uid mappings/],
  ['a user namespace without gid mappings', { gidMappings: [] }, 'linux.gidMappings', /needs gid mappings/],
  ['uid mappings without a user namespace', { namespaces: DEFAULT_NAMESPACES.map((type) => ({ type })) }, 'linux.uidMappings', /needs a user namespace/],
  ['a map without the container root', { uidMappings: [range(1, 100000, 10)] }, 'linux.uidMappings', /containerID 0/],
];
for (const [name, linux, field, message] of bad) {
  test(`refused: ${name}`, async (t) => {
    await rejectsField(t, () => normalize(cfg(linux)), field, message);
  });
}

test('exactly the kernel\'s 340 lines are taken', (t) => {
  t.is(normalizeIdMappings(Array.from({ length: MAX_MAP_LINES }, (_, i) => range(i, 100000 + i, 1)), 'm').length, 340);
});

test('the process identity must be mapped', async (t) => {
  await rejectsField(t, () => normalize(cfg({}, { process: { user: { uid: 70000 } } })), 'process.user.uid', /not mapped/);
  await rejectsField(t, () => normalize(cfg({}, { process: { user: { uid: 0, gid: 70000 } } })), 'process.user.gid', /not mapped/);
  await rejectsField(t, () => normalize(cfg({}, { process: { user: { uid: 0, gid: 0, additionalGids: [1, 70000] } } })), 'process.user.additionalGids[1]', /not mapped/);
  t.truthy((await normalize(cfg({}, { process: { user: { uid: 1000, gid: 1000, additionalGids: [5] } } }))).userns);
});

test('a user namespace joined by path takes no maps of its own', async (t) => {
  const joined = [...DEFAULT_NAMESPACES.map((type) => ({ type })), { type: 'user', path: '/proc/self/ns/user' }];
  const c = await normalize({ rootfs, process: { args: ['/bin/true'] }, linux: { namespaces: joined } });
  t.is(c.userns.mode, 'join');
  await rejectsField(t, () => normalize({ rootfs, process: { args: ['/bin/true'] }, linux: { namespaces: joined, uidMappings: ROOT_RANGE } }), 'linux.uidMappings', /own maps/);
});

test('idmapped mounts: options and per-mount maps are kept (never ignored), and checked against the container\'s maps', async (t) => {
  const bind = { destination: '/data', type: 'bind', source: dir, options: ['rbind'] };
  const c = await normalize({ ...cfg(), root: { path: rootfs, idmap: true }, rootfs: undefined, mounts: [{ ...bind, options: ['rbind', 'ridmap'] }, bind, { ...bind, destination: '/b', uidMappings: ROOT_RANGE, gidMappings: ROOT_RANGE }] });
  t.true(c.rootfsIdmap);
  t.like(c.mounts[0].idmap, { recursive: true });
  t.is(c.mounts[1].idmap, undefined);
  t.like(c.mounts[2].idmap, { recursive: false, uidMappings: ROOT_RANGE });
  t.is(c.mounts[0].data, '', 'idmap is no filesystem option');
  const plan = containerPlan(c, { host: { capLast: 40, cgroups: { layout: 'hybrid' } }, seccomp: null, fds: [0, 1, 2], joins: [] });
  t.is(plan.rootfsTree, 0);
  t.deepEqual(plan.mounts.filter((m) => m.tree !== undefined).map((m) => [m.destination, m.tree]), [['/data', 1], ['/b', 2]]);
  t.deepEqual(idmappedTrees(c).map((x) => [x.source, x.idmapRecursive]), [[c.rootfs, true], [dir, true], [dir, false]]);
  await rejectsField(t, () => normalize({ rootfs, process: { args: ['/bin/true'] }, mounts: [{ ...bind, options: ['idmap'] }] }), 'mounts[0].options[0]', /needs a new user namespace/);
  await rejectsField(t, () => normalize({ ...cfg(), mounts: [{ ...bind, uidMappings: [range(0, 1, 1)], gidMappings: ROOT_RANGE }] }), 'mounts[0].uidMappings', /not supported yet/);
  await rejectsField(t, () => normalize({ ...cfg(), mounts: [{ ...bind, uidMappings: ROOT_RANGE }] }), 'mounts[0].gidMappings', /both/);
  await rejectsField(t, () => normalize({ ...cfg(), mounts: [{ ...bind, uidMappings: [range(0, 1, 0)], gidMappings: ROOT_RANGE }] }), 'mounts[0].uidMappings[0].size');
  await rejectsField(t, () => normalize({ ...cfg(), mounts: [{ destination: '/t', type: 'tmpfs', options: ['idmap'] }] }), 'mounts[0].options[0]', /bind/);
  await rejectsField(t, () => normalize({ rootfs, root: { path: rootfs, idmap: true }, process: { args: ['/bin/true'] } }), 'root.idmap', /user namespace/);
});

const hostFacts = { capLast: 40, cgroups: { layout: 'hybrid' } };
const inputs = { host: hostFacts, seccomp: null, fds: [0, 1, 2], joins: [] };

test('the init plan: clone3 makes no namespace; berth-init makes the user namespace, then unshares the rest and forks for the pid one', async (t) => {
  const c = await normalize(cfg());
  const plan = containerPlan(c, inputs);
  t.is(plan.cloneFlags, 0);
  t.true(plan.unshareUserns);
  t.is(plan.unshareFlags & CLONE_NS.user, 0);
  for (const type of DEFAULT_NAMESPACES) t.not(plan.unshareFlags & CLONE_NS[type], 0, type);
  t.false(plan.unshareCgroupns, 'the cgroup namespace is among the unshared ones, after the user namespace');
  t.true(plan.forkIntoPidns);
  t.true(initForks(c));
  t.true(plan.bindDevices);
  t.falsy(plan.waitForParent);
  // The host's part (rlimits) stays berth-init's: it runs before the user namespace exists.
  t.true(plan.rlimits.length > 0);
  // Without a network namespace of its own sysfs cannot be mounted: the host's /sys is bound read-only.
  const sys = (p) => p.mounts.find((m) => m.destination === '/sys');
  t.is(sys(plan).type, 'sysfs');
  const hostNet = await normalize(cfg({ namespaces: withUser().filter((n) => n.type !== 'network') }));
  const bound = sys(containerPlan(hostNet, inputs));
  t.like(bound, { source: '/sys', kind: 1, recursive: true });
  t.is(bound.type, undefined);
  t.not(bound.attrSet & 1, 0, 'read-only');
});

test('without a user namespace the plan is as before', async (t) => {
  const c = await normalize({ rootfs, process: { args: ['/bin/true'] } });
  const plan = containerPlan(c, inputs);
  t.not(plan.cloneFlags & CLONE_NS.pid, 0);
  t.falsy(plan.unshareUserns);
  t.falsy(plan.bindDevices);
  t.false(initForks(c));
});

test('the exec plan joins the user namespace with the rest and leaves its rlimits to the parent', async (t) => {
  const c = await normalize(cfg({}, { process: { rlimits: [{ type: 'RLIMIT_NOFILE', soft: 100, hard: 100 }], oomScoreAdj: 5 } }));
  const plan = execPlan(c, c.process, { host: hostFacts, seccomp: null, fds: [0, 1, 2], joinPidfd: 9, joinRootFd: 10 });
  t.not(plan.joinNsFlags & CLONE_NS.user, 0);
  t.true(plan.waitForParent);
  t.deepEqual(plan.rlimits, []);
  t.is(plan.oomScoreAdj, undefined);
});
