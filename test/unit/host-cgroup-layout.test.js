// parseMountinfo on sample /proc/self/mountinfo text: the three layouts, where
// each hierarchy is mounted, and the escapes mountinfo uses.
import test from 'ava';
import { parseMountinfo, V1_CONTROLLERS } from '../../dist/lib/host/cgroup-layout.js';
import { CgroupError } from '../../dist/lib/errors.js';

const ROOT = '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw';
const PROC = '23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw';
const SYS = '24 22 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw';
const TMPFS = '25 24 0:23 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:3 - tmpfs tmpfs ro,mode=755';
const v1 = (id, name, opts) => `${id} 25 0:${id} / /sys/fs/cgroup/${name} rw,nosuid,nodev,noexec,relatime shared:${id} - cgroup cgroup rw,${opts}`;

const V2_TEXT = [ROOT, PROC, SYS, '26 24 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot', ''].join('\n');

const HYBRID_TEXT = [
  ROOT, PROC, SYS, TMPFS,
  '26 25 0:24 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate',
  '27 25 0:25 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:5 - cgroup cgroup rw,xattr,name=systemd',
  v1(28, 'cpu,cpuacct', 'cpu,cpuacct'),
  v1(29, 'memory', 'memory'),
  v1(30, 'pids', 'pids'),
  v1(31, 'net_cls,net_prio', 'net_cls,net_prio'),
  v1(32, 'freezer', 'freezer'),
  v1(33, 'devices', 'devices'),
  v1(34, 'blkio', 'blkio'),
  v1(35, 'cpuset', 'cpuset,clone_children'),
  v1(36, 'hugetlb', 'hugetlb'),
  v1(37, 'perf_event', 'perf_event'),
  v1(38, 'rdma', 'rdma'),
].join('\n');

const V1_TEXT = [ROOT, PROC, SYS, TMPFS, v1(28, 'cpu,cpuacct', 'cpu,cpuacct'), v1(29, 'memory', 'memory'), v1(30, 'pids', 'pids')].join('\n');

test('pure v2: one cgroup2 mount at /sys/fs/cgroup', (t) => {
  t.deepEqual(parseMountinfo(V2_TEXT), { layout: 'v2', unifiedMount: '/sys/fs/cgroup', v1: {} });
});

test('hybrid: v1 controllers each at their mount, co-mounted ones share it; named hierarchies ignored', (t) => {
  const h = parseMountinfo(HYBRID_TEXT);
  t.is(h.layout, 'hybrid');
  t.is(h.unifiedMount, '/sys/fs/cgroup/unified');
  t.deepEqual(h.v1, {
    cpu: '/sys/fs/cgroup/cpu,cpuacct',
    cpuacct: '/sys/fs/cgroup/cpu,cpuacct',
    memory: '/sys/fs/cgroup/memory',
    pids: '/sys/fs/cgroup/pids',
    net_cls: '/sys/fs/cgroup/net_cls,net_prio',
    net_prio: '/sys/fs/cgroup/net_cls,net_prio',
    freezer: '/sys/fs/cgroup/freezer',
    devices: '/sys/fs/cgroup/devices',
    blkio: '/sys/fs/cgroup/blkio',
    cpuset: '/sys/fs/cgroup/cpuset',
    hugetlb: '/sys/fs/cgroup/hugetlb',
    perf_event: '/sys/fs/cgroup/perf_event',
    rdma: '/sys/fs/cgroup/rdma',
  });
  t.false('systemd' in h.v1);
  t.false('name=systemd' in h.v1);
  for (const c of Object.keys(h.v1)) t.true(V1_CONTROLLERS.includes(c), c);
});

test('pure v1: no cgroup2 anywhere', (t) => {
  const h = parseMountinfo(V1_TEXT);
  t.is(h.layout, 'v1');
  t.is(h.unifiedMount, null);
  t.is(h.v1.memory, '/sys/fs/cgroup/memory');
  t.is(h.v1.cpuacct, '/sys/fs/cgroup/cpu,cpuacct');
});

test('escaped spaces, tabs, backslashes and newlines in mount points are decoded', (t) => {
  const text = [
    '40 22 0:40 / /mnt/my\\040cgroups rw - cgroup2 cgroup2 rw',
    '41 22 0:41 / /mnt/tab\\011and\\134back\\012nl rw - cgroup cgroup rw,memory',
  ].join('\n');
  const h = parseMountinfo(text);
  t.is(h.unifiedMount, '/mnt/my cgroups');
  t.is(h.v1.memory, '/mnt/tab\tand\\back\nnl');
  t.is(h.layout, 'hybrid');
});

test('several cgroup2 mounts: the conventional place wins, else the shortest', (t) => {
  const extra = '50 22 0:24 /berth /var/lib/x/cgroup rw - cgroup2 cgroup2 rw';
  t.is(parseMountinfo([extra, V2_TEXT].join('\n')).unifiedMount, '/sys/fs/cgroup');
  t.is(parseMountinfo([extra, HYBRID_TEXT].join('\n')).unifiedMount, '/sys/fs/cgroup/unified');
  const odd = ['51 22 0:24 / /cg2/long/path rw - cgroup2 none rw', '52 22 0:24 / /cg2 rw - cgroup2 none rw'].join('\n');
  t.is(parseMountinfo(odd).unifiedMount, '/cg2');
});

test('a v1 controller mounted twice keeps the first mount point', (t) => {
  const text = [v1(28, 'memory', 'memory'), '60 22 0:28 / /container/memory rw - cgroup cgroup rw,memory'].join('\n');
  t.is(parseMountinfo(text).v1.memory, '/sys/fs/cgroup/memory');
});

test('optional fields before the separator do not shift the fields after it', (t) => {
  const text = '26 24 0:24 / /sys/fs/cgroup rw,nosuid shared:4 master:1 propagate_from:2 - cgroup2 cgroup2 rw';
  t.deepEqual(parseMountinfo(text), { layout: 'v2', unifiedMount: '/sys/fs/cgroup', v1: {} });
  const noOptional = '26 24 0:24 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw';
  t.is(parseMountinfo(noOptional).layout, 'v2');
});

test('a cgroup-like path on another fs type is not a cgroup hierarchy; junk lines are skipped', (t) => {
  const text = [TMPFS, 'garbage line without a separator', '', '70 22 0:70 / /sys/fs/cgroup/memory rw - tmpfs memory rw,memory', V2_TEXT].join('\n');
  t.deepEqual(parseMountinfo(text), { layout: 'v2', unifiedMount: '/sys/fs/cgroup', v1: {} });
});

test('no cgroup mount at all is a CgroupError from the detect step', (t) => {
  const err = t.throws(() => parseMountinfo([ROOT, PROC, SYS].join('\n')), { instanceOf: CgroupError });
  t.is(err.code, 'CGROUP_FAILED');
  t.is(err.step, 'detect');
  t.is(err.path, '/proc/self/mountinfo');
  t.is(err.errno, 'ENOENT');
  t.throws(() => parseMountinfo(''), { instanceOf: CgroupError });
});
