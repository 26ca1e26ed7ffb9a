// A rootless caller (not root in the initial user namespace), root-free: the
// config berth resolves for it — a user namespace with the caller as root,
// setgroups denied where it writes its own gid map, capabilities judged as the
// child will hold them in its namespace, devpts without an unmapped gid — and
// what it refuses, naming the field. The real thing runs in test/integration/rootless.test.js.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { normalizeConfig } from '../../dist/lib/config/normalize.js';
import { containerPlan } from '../../dist/lib/launch/plan.js';
import { delegatedBase } from '../../dist/lib/cgroups/ci-layout.js';
import { CAPABILITIES } from '../../dist/lib/kernel/abi.js';
import { fakeCaller, fakeCgroupInfo, fakeHostFacts, rejectsField, removeDir, scratchDir } from './helpers.js';

const host = fakeCgroupInfo('hybrid');
// An ordinary user's process: no capabilities at all in the initial namespace.
const none = new Set();
const user = (over = {}) => fakeCaller({ euid: 1000, egid: 1000, caps: { effective: none, permitted: none, inheritable: none, bounding: new Set(CAPABILITIES) }, ...over });
let dir;
let rootfs;
test.before(() => {
  dir = scratchDir('rootless-config');
  rootfs = path.join(dir, 'rootfs');
  fs.mkdirSync(rootfs);
});
test.after.always(() => removeDir(dir));
const normalize = (c, caller = user()) => normalizeConfig({ rootfs, process: { args: ['/bin/true'] }, ...c }, host, caller);

test('by default: a user namespace of its own with the caller as root, setgroups denied, the default capabilities', async (t) => {
  const c = await normalize({});
  t.true(c.namespaces.some((n) => n.type === 'user' && n.path === undefined));
  t.deepEqual(c.userns, { mode: 'new', setgroups: 'deny', uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }], gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] });
  t.deepEqual(c.process.capabilities.bounding, ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'], 'dropping from the bounding set is the namespace root\'s right');
  const plan = containerPlan(c, { host: fakeHostFacts('hybrid'), seccomp: null, fds: [0, 1, 2], joins: [], placement: null });
  t.false(plan.setGroups, 'berth-init does not call setgroups where the kernel denies it');
  t.true(plan.unshareUserns);
});

test('a user namespace listed without maps gets the same default; an explicit list without one gets one added', async (t) => {
  const a = await normalize({ linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'user' }] } });
  t.deepEqual(a.userns.uidMappings, [{ containerID: 0, hostID: 1000, size: 1 }]);
  const b = await normalize({ linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }] } });
  t.deepEqual(b.namespaces.map((n) => n.type), ['pid', 'mount', 'user']);
});

test('ranges beyond itself (from /etc/subuid) keep setgroups allowed: newuidmap/newgidmap write them', async (t) => {
  const m = [{ containerID: 0, hostID: 1000, size: 1 }, { containerID: 1, hostID: 100000, size: 65536 }];
  const c = await normalize({ linux: { uidMappings: m, gidMappings: m }, process: { args: ['/bin/true'], user: { uid: 0, gid: 0, additionalGids: [5] } } });
  t.is(c.userns.setgroups, undefined);
  t.deepEqual(c.process.additionalGids, [5]);
});

test('refused, naming the field: additional groups with a self-written gid map, userns auto, a devpts gid the namespace does not map', async (t) => {
  await rejectsField(t, () => normalize({ process: { args: ['/bin/true'], user: { uid: 0, gid: 0, additionalGids: [0] } } }), 'process.user.additionalGids', /setgroups/);
  await rejectsField(t, () => normalize({ userns: 'auto' }), 'userns', /as uid 1000/);
  const mounts = [{ destination: '/proc', type: 'proc', source: 'proc' }, { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['newinstance', 'gid=5'] }];
  await rejectsField(t, () => normalize({ mounts }), 'mounts[1].options', /gid=5.*not mapped/);
});

test('the default /dev/pts mount drops gid=5 where the namespace maps no group 5, keeps it where it does', async (t) => {
  const pts = (c) => c.mounts.find((m) => m.type === 'devpts').data;
  t.notRegex(pts(await normalize({})), /gid=/);
  const m = [{ containerID: 0, hostID: 100000, size: 65536 }];
  t.regex(pts(await normalize({ linux: { uidMappings: m, gidMappings: m } })), /gid=5/);
});

test('root is not rootless: no user namespace unless asked', async (t) => {
  const c = await normalizeConfig({ rootfs, process: { args: ['/bin/true'] } }, host, fakeCaller());
  t.is(c.userns, undefined);
  t.false(c.namespaces.some((n) => n.type === 'user'));
});

test('a delegated subtree is the caller\'s own cgroup, or its parent once berth moved the caller into its leaf', (t) => {
  t.is(delegatedBase('/user.slice/user-1000.slice/user@1000.service/app.slice/run.scope'), '/user.slice/user-1000.slice/user@1000.service/app.slice/run.scope');
  t.is(delegatedBase('/deleg/berth-caller'), '/deleg');
  t.is(delegatedBase('/'), null, 'the root is nobody\'s delegation');
  t.is(delegatedBase('/berth-caller'), null);
});

test('no device rules for a rootless caller: none by default, given ones refused', async (t) => {
  const c = await normalize({});
  t.is(c.resources?.devices, undefined);
  await rejectsField(t, () => normalize({ linux: { resources: { devices: [{ allow: false, access: 'rwm' }] } } }), 'linux.resources.devices', /uid 1000 cannot have/);
});
