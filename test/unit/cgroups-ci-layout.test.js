// The pure decisions behind CI-container cgroup trees: read-only hierarchies
// from mountinfo text, who moves out of a cgroup that must hand controllers
// down (cgroup.procs contents), BERTH_CGROUP_MOVE, the refusal messages, and
// which linux.resources fields a config set (what needs a cgroup).
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { parseMountinfo } from '../../dist/lib/host/cgroup-layout.js';
import {
  CALLER_LEAF, busyParentRefusal, hierarchyMounts, movePolicy, planRoom, readOnlyHierarchy, readOnlyRefusal,
} from '../../dist/lib/cgroups/ci-layout.js';
import { normalizeConfig } from '../../dist/lib/config/normalize.js';
import { ConfigError } from '../../dist/lib/errors.js';
import { fakeCaller, fakeCgroupInfo, removeDir, scratchDir } from './helpers.js';

const ROOT = '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw';
const SYS = '24 22 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw';
const TMPFS = '25 24 0:23 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:3 - tmpfs tmpfs ro,mode=755';
const v2Line = (opts) => `26 24 0:24 / /sys/fs/cgroup ${opts},nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate`;
const v1Line = (id, name, opts) => `${id} 25 0:${id} / /sys/fs/cgroup/${name} ${opts},nosuid,nodev,noexec,relatime - cgroup cgroup rw,${name}`;
const unifiedLine = (opts) => `27 25 0:27 / /sys/fs/cgroup/unified ${opts},nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw`;

test('a writable v2 tree has no readOnly list, and nothing is read-only', (t) => {
  const h = parseMountinfo([ROOT, SYS, v2Line('rw')].join('\n'));
  t.is(h.readOnly, undefined);
  t.is(readOnlyHierarchy(h), null);
});

test('a v2 tree mounted ro (a job container) is found from the per-mount options, not the super options', (t) => {
  const h = parseMountinfo([ROOT, SYS, v2Line('ro')].join('\n'));
  t.deepEqual(h.readOnly, ['/sys/fs/cgroup']);
  t.is(readOnlyHierarchy(h), '/sys/fs/cgroup');
});

test('the last mount at a point decides (a writable cgroup2 mounted over a read-only one is writable)', (t) => {
  const over = '40 24 0:24 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw';
  t.is(readOnlyHierarchy(parseMountinfo([ROOT, SYS, v2Line('ro'), over].join('\n'))), null);
  const roOver = '40 24 0:24 / /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw';
  t.is(readOnlyHierarchy(parseMountinfo([ROOT, SYS, v2Line('rw'), roOver].join('\n'))), '/sys/fs/cgroup');
});

test('hybrid/v1 (GitLab-style): any read-only controller or unified mount makes the tree read-only; the tmpfs above does not count', (t) => {
  const rw = parseMountinfo([ROOT, SYS, TMPFS, unifiedLine('rw'), v1Line(28, 'memory', 'rw'), v1Line(29, 'pids', 'rw')].join('\n'));
  t.is(rw.layout, 'hybrid');
  t.is(readOnlyHierarchy(rw), null);
  t.deepEqual(hierarchyMounts(rw).sort(), ['/sys/fs/cgroup/memory', '/sys/fs/cgroup/pids', '/sys/fs/cgroup/unified']);
  const roMem = parseMountinfo([ROOT, SYS, TMPFS, unifiedLine('rw'), v1Line(28, 'memory', 'ro'), v1Line(29, 'pids', 'rw')].join('\n'));
  t.is(readOnlyHierarchy(roMem), '/sys/fs/cgroup/memory');
  const roUnified = parseMountinfo([ROOT, SYS, TMPFS, unifiedLine('ro'), v1Line(28, 'memory', 'rw')].join('\n'));
  t.is(readOnlyHierarchy(roUnified), '/sys/fs/cgroup/unified');
  const v1 = parseMountinfo([ROOT, SYS, TMPFS, v1Line(28, 'memory', 'ro')].join('\n'));
  t.is(v1.layout, 'v1');
  t.is(readOnlyHierarchy(v1), '/sys/fs/cgroup/memory');
});

test('a mount the probe finds unwritable (EROFS from access(2)) counts as read-only', (t) => {
  const h = parseMountinfo([ROOT, SYS, v2Line('rw')].join('\n'));
  t.is(readOnlyHierarchy(h, (m) => m !== '/sys/fs/cgroup'), '/sys/fs/cgroup');
  // v2 with a stray unified-looking v1 layout field: only the tree berth writes to is probed.
  t.deepEqual(hierarchyMounts(h), ['/sys/fs/cgroup']);
});

test('planRoom: only the caller moves by default; others stay; all moves everyone, the caller first', (t) => {
  t.deepEqual(planRoom([], 10, 'caller'), { move: [], stay: [] });
  t.deepEqual(planRoom([10], 10, 'caller'), { move: [10], stay: [] });
  t.deepEqual(planRoom([7, 10, 12], 10, 'caller'), { move: [10], stay: [7, 12] });
  t.deepEqual(planRoom([7, 12], 10, 'caller'), { move: [], stay: [7, 12] });
  t.deepEqual(planRoom([7, 10, 12], 10, 'all'), { move: [10, 7, 12], stay: [] });
  t.deepEqual(planRoom([7, 12], 10, 'all'), { move: [7, 12], stay: [] });
});

test('BERTH_CGROUP_MOVE: unset, empty, caller and all are understood; anything else is refused naming the variable', (t) => {
  t.is(movePolicy(undefined), 'caller');
  t.is(movePolicy(''), 'caller');
  t.is(movePolicy('caller'), 'caller');
  t.is(movePolicy('all'), 'all');
  const err = t.throws(() => movePolicy('yes'), { instanceOf: ConfigError });
  t.is(err.field, 'BERTH_CGROUP_MOVE');
  t.regex(err.message, /"caller" or "all"/);
});

test('the refusals name the cgroup, the cause and the fix', (t) => {
  const busy = busyParentRefusal('/sys/fs/cgroup', ['memory'], [7, 8, 9, 11, 12, 13], true);
  t.regex(busy, /\/sys\/fs\/cgroup\/cgroup\.subtree_control/);
  t.regex(busy, /no-internal-processes/);
  t.regex(busy, /7, 8, 9, 11, 12, …/);
  t.regex(busy, new RegExp(`moved only its own process, to /sys/fs/cgroup/${CALLER_LEAF}`));
  t.regex(busy, /BERTH_CGROUP_MOVE=all/);
  t.notRegex(busyParentRefusal('/x', ['memory'], [7], false), /moved only/);
  const ro = readOnlyRefusal('/sys/fs/cgroup', ['linux.resources.memory']);
  t.regex(ro, /^linux\.resources\.memory needs a cgroup, but the cgroup hierarchy \/sys\/fs\/cgroup is mounted read-only/);
  t.regex(readOnlyRefusal('/m', ['linux.resources.memory', 'linux.resources.pids']), /pids need a cgroup/);
});

let dir;
test.before(() => {
  dir = scratchDir('ci-layout');
  fs.mkdirSync(path.join(dir, 'rootfs'));
});
test.after.always(() => removeDir(dir));

test('resourceFields: the linux.resources fields the caller set, not berth\'s default device rules nor empty sections', async (t) => {
  const cfg = (linux) => ({ rootfs: path.join(dir, 'rootfs'), process: { args: ['/bin/true'] }, ...(linux ? { linux } : {}) });
  const host = fakeCgroupInfo('v2');
  const bare = await normalizeConfig(cfg(), host, fakeCaller());
  t.true(bare.resources.devices.length > 0); // the defaults are there…
  t.is(bare.resourceFields, undefined); // …and need no cgroup of the caller's asking
  const empty = await normalizeConfig(cfg({ resources: { memory: {}, cpu: {}, hugepageLimits: [] } }), host, fakeCaller());
  t.is(empty.resourceFields, undefined);
  const set = await normalizeConfig(cfg({ resources: { memory: { limit: 64 * 2 ** 20 }, pids: { limit: 5 }, cpu: {} } }), host, fakeCaller());
  t.deepEqual(set.resourceFields, ['linux.resources.memory', 'linux.resources.pids']);
  const devices = await normalizeConfig(cfg({ resources: { devices: [{ allow: false, access: 'rwm' }] } }), host, fakeCaller());
  t.deepEqual(devices.resourceFields, ['linux.resources.devices']);
});
