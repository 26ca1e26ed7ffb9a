// OCI linux.resources -> cgroup file writes (cgroups/convert.js), v1 and v2.
import test from 'ava';
import {
  blkioWeightToIoWeight,
  cgroupWriteHint,
  cpuMax,
  mergeResources,
  sharesToWeight,
  swapMaxV2,
  v1Writes,
  v2ControllersNeeded,
  v2Writes,
} from '../../dist/lib/cgroups/convert.js';
import { CgroupError } from '../../dist/lib/errors.js';

const files = (writes) => writes.map((w) => `${w.controller}:${w.file}=${w.value}${w.optional ? '?' : ''}`);
const V2 = { bfq: false };
const V1 = { bfqWeight: false, hugetlbV1: true };

test('sharesToWeight: crun\'s quadratic, the defaults of each side meet', (t) => {
  t.is(sharesToWeight(0), 0);
  t.is(sharesToWeight(1), 1);
  t.is(sharesToWeight(2), 1);
  t.is(sharesToWeight(1024), 100);
  t.is(sharesToWeight(262144), 10000);
  t.is(sharesToWeight(300000), 10000);
  t.is(sharesToWeight(512), 59);
  t.is(sharesToWeight(100), 17);
  let last = 0;
  for (let s = 2; s <= 262144; s = Math.ceil(s * 1.3)) {
    const w = sharesToWeight(s);
    t.true(w >= last && w >= 1 && w <= 10000, `monotonic at ${s}`);
    last = w;
  }
});

test('blkioWeightToIoWeight: 10..1000 onto 1..10000', (t) => {
  t.is(blkioWeightToIoWeight(0), 0);
  t.is(blkioWeightToIoWeight(10), 1);
  t.is(blkioWeightToIoWeight(500), 4950);
  t.is(blkioWeightToIoWeight(1000), 10000);
});

test('cpuMax: "<quota|max> <period>", period 100000 by default, null when nothing is said', (t) => {
  t.is(cpuMax(undefined, undefined), null);
  t.is(cpuMax(0, 0), null);
  t.is(cpuMax(50000, undefined), '50000 100000');
  t.is(cpuMax(50000, 0), '50000 100000');
  t.is(cpuMax(-1, 200000), 'max 200000');
  t.is(cpuMax(0, 50000), 'max 50000');
  t.is(cpuMax(undefined, 10000), 'max 10000');
  t.is(cpuMax(25000, 50000), '25000 50000');
});

test('swapMaxV2: OCI memory+swap minus the limit; max, unset and the refusals', (t) => {
  t.is(swapMaxV2(undefined, undefined), null);
  t.is(swapMaxV2(0, 100), null);
  t.is(swapMaxV2(undefined, -1), 'max', 'unlimited memory means unlimited swap');
  t.is(swapMaxV2(0, -1), 'max');
  t.is(swapMaxV2(-1, 100), 'max');
  t.is(swapMaxV2(-1, undefined), 'max');
  t.is(swapMaxV2(300, 100), '200');
  t.is(swapMaxV2(100, 100), '0');
  for (const limit of [undefined, 0, -1]) {
    const err = t.throws(() => swapMaxV2(300, limit), { instanceOf: CgroupError });
    t.is(err.code, 'CGROUP_FAILED');
    t.is(err.step, 'convert');
    t.regex(err.message, /without a memory limit/);
  }
  const below = t.throws(() => swapMaxV2(50, 100), { instanceOf: CgroupError });
  t.regex(below.message, /50 is below the memory limit 100/);
});

test('v2Writes: memory', (t) => {
  const r = { memory: { limit: 100, reservation: 50, swap: 300, swappiness: 10, kernel: 5, disableOOMKiller: true } };
  t.deepEqual(files(v2Writes(r, r, V2)), ['unified:memory.max=100', 'unified:memory.low=50', 'unified:memory.swap.max=200']);
  const unl = { memory: { limit: -1, reservation: -1 } };
  t.deepEqual(files(v2Writes(unl, unl, V2)), ['unified:memory.max=max', 'unified:memory.low=max', 'unified:memory.swap.max=max']);
  const zero = { memory: { limit: 0, reservation: 0, swap: 0 } };
  t.deepEqual(files(v2Writes(zero, zero, V2)), [], '0 is unset');
});

test('v2Writes: a limit-only update recomputes swap.max from the merged config', (t) => {
  const base = { memory: { limit: 100, swap: 300 } };
  const update = { memory: { limit: 200 } };
  t.deepEqual(files(v2Writes(update, mergeResources(base, update), V2)), ['unified:memory.max=200', 'unified:memory.swap.max=100']);
});

test('v2Writes: cpu and cpuset', (t) => {
  const r = { cpu: { shares: 1024, quota: 50000, period: 100000, burst: 1000, idle: 0, cpus: '0-1', mems: '0', realtimeRuntime: 5 } };
  t.deepEqual(files(v2Writes(r, r, V2)), [
    'unified:cpu.weight=100', 'unified:cpu.max=50000 100000', 'unified:cpu.max.burst=1000', 'unified:cpu.idle=0',
    'unified:cpuset.cpus=0-1', 'unified:cpuset.mems=0',
  ]);
  const update = { cpu: { period: 200000 } };
  t.deepEqual(files(v2Writes(update, mergeResources({ cpu: { quota: 20000 } }, update), V2)), ['unified:cpu.max=20000 200000']);
});

test('v2Writes: pids', (t) => {
  t.deepEqual(files(v2Writes({ pids: { limit: 10 } }, {}, V2)), ['unified:pids.max=10']);
  t.deepEqual(files(v2Writes({ pids: { limit: -1 } }, {}, V2)), ['unified:pids.max=max']);
  t.deepEqual(files(v2Writes({ pids: { limit: 0 } }, {}, V2)), []);
});

test('v2Writes: io weights (converted, or as is with bfq) and io.max throttles (0 = max)', (t) => {
  const r = {
    blockIO: {
      weight: 500,
      weightDevice: [{ major: 8, minor: 0, weight: 10 }, { major: 8, minor: 16, leafWeight: 10 }],
      throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1024 }],
      throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 0 }],
      throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 10 }],
      throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 20 }],
    },
  };
  t.deepEqual(files(v2Writes(r, r, V2)), [
    'unified:io.weight=4950', 'unified:io.weight=8:0 1', 'unified:io.max=8:0 rbps=1024', 'unified:io.max=8:0 wbps=max',
    'unified:io.max=8:0 riops=10', 'unified:io.max=8:0 wiops=20',
  ]);
  t.deepEqual(files(v2Writes({ blockIO: { weight: 500, weightDevice: [{ major: 8, minor: 0, weight: 10 }] } }, {}, { bfq: true })), [
    'unified:io.bfq.weight=500', 'unified:io.bfq.weight=8:0 10',
  ]);
});

test('v2Writes: hugetlb limits and reservations, page sizes canonical', (t) => {
  const r = { hugepageLimits: [{ pageSize: '2048KB', limit: 4194304 }, { pageSize: '1GB', limit: -1 }] };
  t.deepEqual(files(v2Writes(r, r, V2)), [
    'unified:hugetlb.2MB.max=4194304', 'unified:hugetlb.2MB.rsvd.max=4194304?', 'unified:hugetlb.1GB.max=max', 'unified:hugetlb.1GB.rsvd.max=max?',
  ]);
});

test('v2Writes: unified keys come last and so override the converted values', (t) => {
  const r = { pids: { limit: 5 }, unified: { 'pids.max': '7', 'memory.high': '1G' } };
  const w = files(v2Writes(r, r, V2));
  t.deepEqual(w, ['unified:pids.max=5', 'unified:pids.max=7', 'unified:memory.high=1G']);
});

test('v2Writes: devices are not files on v2 (eBPF is the manager\'s business)', (t) => {
  const r = { devices: [{ allow: false, access: 'rwm' }] };
  t.deepEqual(v2Writes(r, r, V2), []);
});

test('v1Writes: device rules as devices.allow/deny lines', (t) => {
  const r = {
    devices: [
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' },
      { allow: true, type: 'b', major: null, minor: -1 },
      { allow: true, type: 'c', major: 136 },
      { allow: false, type: 'a' },
    ],
  };
  t.deepEqual(files(v1Writes(r, V1)), [
    'devices:devices.deny=a', 'devices:devices.allow=c 1:3 rw', 'devices:devices.allow=b *:* rwm', 'devices:devices.allow=c 136:* rwm',
    'devices:devices.deny=a',
  ]);
});

test('v1Writes: memory, memsw before the limit; unlimited memsw is optional', (t) => {
  t.deepEqual(files(v1Writes({ memory: { limit: 100, swap: 300, reservation: 50, swappiness: 0, disableOOMKiller: true, kernel: 1 } }, V1)), [
    'memory:memory.memsw.limit_in_bytes=300', 'memory:memory.limit_in_bytes=100', 'memory:memory.soft_limit_in_bytes=50',
    'memory:memory.swappiness=0', 'memory:memory.oom_control=1',
  ]);
  t.deepEqual(files(v1Writes({ memory: { limit: -1, swap: -1, disableOOMKiller: false } }, V1)), [
    'memory:memory.memsw.limit_in_bytes=-1?', 'memory:memory.limit_in_bytes=-1', 'memory:memory.oom_control=0',
  ]);
  t.deepEqual(v1Writes({ memory: { limit: 0, swap: 0, reservation: 0 } }, V1), []);
});

test('memory.kernelTCP: memory.kmem.tcp.limit_in_bytes on v1 (0 unset, -1 unlimited); nothing on v2; memory.kernel nowhere', (t) => {
  t.deepEqual(files(v1Writes({ memory: { kernelTCP: 1 << 24, kernel: 1 << 26 } }, V1)), [`memory:memory.kmem.tcp.limit_in_bytes=${1 << 24}`]);
  t.deepEqual(files(v1Writes({ memory: { kernelTCP: -1 } }, V1)), ['memory:memory.kmem.tcp.limit_in_bytes=-1']);
  t.deepEqual(v1Writes({ memory: { kernelTCP: 0 } }, V1), []);
  const r = { memory: { kernelTCP: 1 << 24, kernel: 1 << 26 } };
  t.deepEqual(v2Writes(r, r, V2), []);
});

test('v1Writes: cpu, cpuset, pids', (t) => {
  const r = { cpu: { shares: 512, period: 100000, quota: -1, burst: 0, realtimePeriod: 1000000, realtimeRuntime: 950000, idle: 1, cpus: '1', mems: '0' }, pids: { limit: -1 } };
  t.deepEqual(files(v1Writes(r, V1)), [
    'cpu:cpu.shares=512', 'cpu:cpu.cfs_period_us=100000', 'cpu:cpu.cfs_quota_us=-1', 'cpu:cpu.cfs_burst_us=0', 'cpu:cpu.rt_period_us=1000000',
    'cpu:cpu.rt_runtime_us=950000', 'cpu:cpu.idle=1', 'cpuset:cpuset.cpus=1', 'cpuset:cpuset.mems=0', 'pids:pids.max=max',
  ]);
  t.deepEqual(v1Writes({ cpu: { quota: 0, period: 0, shares: 0 }, pids: { limit: 0 } }, V1), []);
});

test('v1Writes: blkio weights (cfq or bfq files), leaf weights optional, throttles as is', (t) => {
  const r = {
    blockIO: {
      weight: 300,
      leafWeight: 200,
      weightDevice: [{ major: 8, minor: 0, weight: 100, leafWeight: 50 }],
      throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 0 }],
      throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 2 }],
      throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 3 }],
      throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 4 }],
    },
  };
  t.deepEqual(files(v1Writes(r, V1)), [
    'blkio:blkio.weight=300', 'blkio:blkio.leaf_weight=200?', 'blkio:blkio.weight_device=8:0 100', 'blkio:blkio.leaf_weight_device=8:0 50?',
    'blkio:blkio.throttle.read_bps_device=8:0 0', 'blkio:blkio.throttle.write_bps_device=8:0 2', 'blkio:blkio.throttle.read_iops_device=8:0 3',
    'blkio:blkio.throttle.write_iops_device=8:0 4',
  ]);
  t.deepEqual(files(v1Writes({ blockIO: { weight: 300, weightDevice: [{ major: 8, minor: 0, weight: 100 }] } }, { ...V1, bfqWeight: true })), [
    'blkio:blkio.bfq.weight=300', 'blkio:blkio.bfq.weight_device=8:0 100',
  ]);
});

test('v1Writes: hugetlb in its v1 hierarchy, or in the unified tree on hybrid; unified keys go to the unified tree', (t) => {
  const r = { hugepageLimits: [{ pageSize: '2MB', limit: 2097152 }], unified: { 'memory.high': '5M' } };
  t.deepEqual(files(v1Writes(r, V1)), [
    'hugetlb:hugetlb.2MB.limit_in_bytes=2097152', 'hugetlb:hugetlb.2MB.rsvd.limit_in_bytes=2097152?', 'unified:memory.high=5M',
  ]);
  t.deepEqual(files(v1Writes({ hugepageLimits: [{ pageSize: '2MB', limit: -1 }] }, { ...V1, hugetlbV1: false })), [
    'unified:hugetlb.2MB.max=max', 'unified:hugetlb.2MB.rsvd.max=max?',
  ]);
});

test('mergeResources: sections merge by field, pids and hugepages replace, devices append, unified keys merge', (t) => {
  const base = {
    memory: { limit: 1, swap: 2 },
    cpu: { shares: 10, quota: 20 },
    pids: { limit: 5 },
    blockIO: { weight: 100 },
    hugepageLimits: [{ pageSize: '2MB', limit: 1 }],
    devices: [{ allow: false, access: 'rwm' }],
    unified: { 'memory.high': '1', 'pids.max': '2' },
  };
  const update = {
    memory: { limit: 3 },
    cpu: { quota: 30 },
    pids: { limit: 6 },
    blockIO: { leafWeight: 50 },
    hugepageLimits: [],
    devices: [{ allow: true, type: 'c', major: 1, minor: 3, access: 'r' }],
    unified: { 'pids.max': '4' },
  };
  const before = structuredClone(base);
  t.deepEqual(mergeResources(base, update), {
    memory: { limit: 3, swap: 2 },
    cpu: { shares: 10, quota: 30 },
    pids: { limit: 6 },
    blockIO: { weight: 100, leafWeight: 50 },
    hugepageLimits: [],
    devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'r' }],
    unified: { 'memory.high': '1', 'pids.max': '4' },
  });
  t.deepEqual(base, before, 'the base is not changed');
  t.deepEqual(mergeResources(base, {}), base);
  t.deepEqual(mergeResources({}, { memory: { limit: 1 } }), { memory: { limit: 1 } });
});

test('v2ControllersNeeded: only what the resources use', (t) => {
  const need = (r) => [...v2ControllersNeeded(r)].sort();
  t.deepEqual(need(undefined), []);
  t.deepEqual(need({}), []);
  t.deepEqual(need({ devices: [{ allow: false }] }), []);
  t.deepEqual(need({ memory: {} }), ['memory']);
  t.deepEqual(need({ cpu: { shares: 2 } }), ['cpu']);
  t.deepEqual(need({ cpu: { idle: 0 } }), ['cpu']);
  t.deepEqual(need({ cpu: { burst: 0 } }), ['cpu']);
  t.deepEqual(need({ cpu: { cpus: '0' } }), ['cpuset']);
  t.deepEqual(need({ cpu: { quota: 1000, mems: '0' } }), ['cpu', 'cpuset']);
  t.deepEqual(need({ cpu: {} }), []);
  t.deepEqual(need({ pids: { limit: 1 } }), ['pids']);
  t.deepEqual(need({ blockIO: {} }), ['io']);
  t.deepEqual(need({ hugepageLimits: [] }), []);
  t.deepEqual(need({ hugepageLimits: [{ pageSize: '2MB', limit: 1 }] }), ['hugetlb']);
  t.deepEqual(need({ unified: { 'misc.max': 'x', 'cgroup.max.depth': '1', 'io.latency': 'y' } }), ['io', 'misc']);
});

test('cgroupWriteHint: an EINVAL from cpu.rt_runtime_us/rt_period_us names the OCI fields and the parent budget rule; nothing else gets a hint', (t) => {
  for (const file of ['cpu.rt_runtime_us', 'cpu.rt_period_us']) {
    const h = cgroupWriteHint(`/sys/fs/cgroup/cpu/berth/c1/${file}`, 'EINVAL');
    t.regex(h, /^linux\.resources\.cpu\.realtimeRuntime\/realtimePeriod: /);
    t.regex(h, /parent cgroup's .*starts at 0/);
  }
  t.is(cgroupWriteHint('/sys/fs/cgroup/cpu/berth/c1/cpu.rt_runtime_us', 'EBUSY'), '');
  t.is(cgroupWriteHint('/sys/fs/cgroup/cpu/berth/c1/cpu.shares', 'EINVAL'), '');
});

test('cgroupWriteHint: a missing I/O weight file (ENOENT) names blockIO.weight and what provides weights', (t) => {
  for (const file of ['blkio.weight', 'blkio.weight_device', 'blkio.bfq.weight', 'blkio.bfq.weight_device', 'io.weight', 'io.bfq.weight']) {
    t.regex(cgroupWriteHint(`/sys/fs/cgroup/x/berth/c1/${file}`, 'ENOENT'), /^linux\.resources\.blockIO\.weight\/weightDevice: .*CONFIG_BFQ_GROUP_IOSCHED/, file);
  }
  t.is(cgroupWriteHint('/sys/fs/cgroup/blkio/berth/c1/blkio.weight', 'EINVAL'), '');
  t.is(cgroupWriteHint('/sys/fs/cgroup/blkio/berth/c1/blkio.throttle.read_bps_device', 'ENOENT'), '');
});
