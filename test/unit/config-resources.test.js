// validateResources: every linux.resources section, against fake host facts.
// Each refusal must be a ConfigError naming the exact JSON path.
import test from 'ava';
import { validateResources } from '../../dist/lib/config/resources.js';
import { fakeCgroupInfo, rejectsField } from './helpers.js';

const v1 = fakeCgroupInfo('v1');
const hybrid = fakeCgroupInfo('hybrid');
const v2 = fakeCgroupInfo('v2');
const at = 'linux.resources';

test('absent resources and empty sections are fine on every layout (pids needs its limit, as OCI says)', async (t) => {
  for (const host of [v1, hybrid, v2]) {
    t.notThrows(() => validateResources(undefined, host));
    t.notThrows(() => validateResources({}, host));
    t.notThrows(() => validateResources({ memory: {}, cpu: {}, blockIO: {}, hugepageLimits: [], devices: [] }, host));
    await rejectsField(t, () => validateResources({ pids: {} }, host), `${at}.pids.limit`, /required/);
  }
});

test('the default path is linux.resources and a caller can name another (update())', async (t) => {
  await rejectsField(t, () => validateResources({ pids: { limit: 'x' } }, v2), 'linux.resources.pids.limit');
  await rejectsField(t, () => validateResources({ pids: { limit: 'x' } }, v2, 'resources'), 'resources.pids.limit');
});

test('a full, valid config passes on v2', (t) => {
  t.notThrows(() =>
    validateResources(
      {
        devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }, { allow: true, type: 'b', major: -1, minor: null, access: 'm' }],
        memory: { limit: 1 << 28, reservation: 1 << 27, swap: 1 << 29, swappiness: null, disableOOMKiller: false, useHierarchy: true },
        cpu: { shares: 512, quota: 50000, period: 100000, burst: 1000, cpus: '0-1', mems: '0', idle: 1 },
        pids: { limit: -1 },
        blockIO: {
          weight: 500,
          leafWeight: 0,
          weightDevice: [{ major: 8, minor: 0, weight: 100 }],
          throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1 << 20 }],
          throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 0 }],
        },
        hugepageLimits: [{ pageSize: '2MB', limit: 1 << 21 }, { pageSize: '2048KB', limit: -1 }],
        unified: { 'memory.high': '100M', 'cgroup.max.depth': '3', 'io.latency': '8:0 target=10' },
        network: {},
        rdma: {},
      },
      v2,
    ),
  );
});

test('memory: 0 is unset, -1 is unlimited; swap is memory+swap and must be >= the limit', async (t) => {
  t.notThrows(() => validateResources({ memory: { limit: 0, swap: 0, reservation: 0 } }, v2));
  t.notThrows(() => validateResources({ memory: { limit: -1, swap: -1 } }, v2));
  t.notThrows(() => validateResources({ memory: { limit: 100, swap: 100 } }, v2));
  await rejectsField(t, () => validateResources({ memory: { limit: 200, swap: 100 } }, hybrid), `${at}.memory.swap`, /must be >= memory limit/);
  await rejectsField(t, () => validateResources({ memory: { limit: -2 } }, v2), `${at}.memory.limit`, /-1 for unlimited/);
  await rejectsField(t, () => validateResources({ memory: { limit: 1.5 } }, v2), `${at}.memory.limit`, /integer/);
  await rejectsField(t, () => validateResources({ memory: { limit: '1G' } }, v2), `${at}.memory.limit`);
  await rejectsField(t, () => validateResources({ memory: { limit: 10n } }, v2), `${at}.memory.limit`, /BigInt/);
  await rejectsField(t, () => validateResources({ memory: { reservation: -5 } }, v2), `${at}.memory.reservation`);
  await rejectsField(t, () => validateResources({ memory: { kernelTCP: -3 } }, v2), `${at}.memory.kernelTCP`);
  await rejectsField(t, () => validateResources({ memory: { swappiness: 101 } }, v1), `${at}.memory.swappiness`);
  await rejectsField(t, () => validateResources({ memory: { swappiness: -1 } }, v1), `${at}.memory.swappiness`);
  await rejectsField(t, () => validateResources({ memory: { disableOOMKiller: 1 } }, v1), `${at}.memory.disableOOMKiller`);
  await rejectsField(t, () => validateResources({ memory: { useHierarchy: 'no' } }, v1), `${at}.memory.useHierarchy`);
  await rejectsField(t, () => validateResources({ memory: { limitt: 1 } }, v1), `${at}.memory.limitt`, /unknown field/);
  await rejectsField(t, () => validateResources({ memory: 5 }, v1), `${at}.memory`);
});

test('the v2 swap rule: a swap limit without a memory limit is refused on v2 only', async (t) => {
  await rejectsField(t, () => validateResources({ memory: { swap: 1 << 30 } }, v2), `${at}.memory.swap`, /needs a memory limit on cgroup v2/);
  await rejectsField(t, () => validateResources({ memory: { swap: 1 << 30, limit: 0 } }, v2), `${at}.memory.swap`, /needs a memory limit/);
  await rejectsField(t, () => validateResources({ memory: { swap: 1 << 30, limit: -1 } }, v2), `${at}.memory.swap`, /needs a memory limit/);
  t.notThrows(() => validateResources({ memory: { swap: 1 << 30 } }, hybrid), 'v1 memsw stands alone');
  t.notThrows(() => validateResources({ memory: { swap: 1 << 30 } }, v1));
  t.notThrows(() => validateResources({ memory: { swap: -1 } }, v2), 'unlimited swap needs no limit');
  t.notThrows(() => validateResources({ memory: { swap: 1 << 30, limit: 1 << 29 } }, v2));
});

test('cpu: shares, quota, period, burst, realtime, idle ranges', async (t) => {
  t.notThrows(() => validateResources({ cpu: { quota: -1, period: 0 } }, v2));
  t.notThrows(() => validateResources({ cpu: { period: 1_000_000, quota: 1000 } }, v2));
  t.notThrows(() => validateResources({ cpu: { realtimeRuntime: 950000, realtimePeriod: 1000000 } }, hybrid));
  t.notThrows(() => validateResources({ cpu: { realtimeRuntime: 0, realtimePeriod: 0 } }, v2));
  await rejectsField(t, () => validateResources({ cpu: { shares: 262145 } }, v2), `${at}.cpu.shares`);
  await rejectsField(t, () => validateResources({ cpu: { shares: -1 } }, v2), `${at}.cpu.shares`);
  await rejectsField(t, () => validateResources({ cpu: { quota: 999 } }, v2), `${at}.cpu.quota`, />= 1000/);
  await rejectsField(t, () => validateResources({ cpu: { period: 999 } }, v2), `${at}.cpu.period`);
  await rejectsField(t, () => validateResources({ cpu: { period: 1_000_001 } }, v2), `${at}.cpu.period`);
  await rejectsField(t, () => validateResources({ cpu: { burst: -1 } }, v2), `${at}.cpu.burst`);
  await rejectsField(t, () => validateResources({ cpu: { idle: 2 } }, v2), `${at}.cpu.idle`);
  await rejectsField(t, () => validateResources({ cpu: { realtimePeriod: -1 } }, hybrid), `${at}.cpu.realtimePeriod`);
  await rejectsField(t, () => validateResources({ cpu: { realtimeRuntime: 1000 } }, v2), `${at}.cpu.realtimeRuntime`, /not supported on cgroup v2/);
  await rejectsField(t, () => validateResources({ cpu: { realtimePeriod: 1000 } }, v2), `${at}.cpu.realtimePeriod`, /not supported on cgroup v2/);
  await rejectsField(t, () => validateResources({ cpu: { weight: 100 } }, v2), `${at}.cpu.weight`, /unknown field/);
});

test('cpu.quota 0 means "not set" and is accepted, as cpu.period 0 is', (t) => {
  t.notThrows(() => validateResources({ cpu: { quota: 0, period: 100000 } }, v2));
});

test('cpusets must be well-formed and present on the host', async (t) => {
  t.notThrows(() => validateResources({ cpu: { cpus: '0,1', mems: '0' } }, v2));
  t.notThrows(() => validateResources({ cpu: { cpus: '', mems: '' } }, v2), 'empty means unset');
  await rejectsField(t, () => validateResources({ cpu: { cpus: '0-' } }, v2), `${at}.cpu.cpus`, /malformed CPU list/);
  await rejectsField(t, () => validateResources({ cpu: { cpus: '1-0' } }, v2), `${at}.cpu.cpus`, /malformed/);
  await rejectsField(t, () => validateResources({ cpu: { cpus: 1 } }, v2), `${at}.cpu.cpus`, /string/);
  await rejectsField(t, () => validateResources({ cpu: { cpus: '0-3' } }, v2), `${at}.cpu.cpus`, /CPU 2,3 not present on this host \(online: 0,1\)/);
  await rejectsField(t, () => validateResources({ cpu: { mems: '1' } }, v2), `${at}.cpu.mems`, /memory node 1 not present/);
});

test('pids: 0 unset, -1 unlimited, nothing else below 1', async (t) => {
  for (const limit of [0, -1, 1, 32768]) t.notThrows(() => validateResources({ pids: { limit } }, v2));
  await rejectsField(t, () => validateResources({ pids: { limit: null } }, v2), `${at}.pids.limit`, /required/);
  await rejectsField(t, () => validateResources({ pids: { limit: -2 } }, v2), `${at}.pids.limit`);
  await rejectsField(t, () => validateResources({ pids: { max: 1 } }, v2), `${at}.pids.max`, /unknown field/);
  await rejectsField(t, () => validateResources({ pids: [] }, v2), `${at}.pids`);
});

test('blockIO: weights 10..1000 (0 unset), devices must exist, throttles need a rate', async (t) => {
  t.notThrows(() => validateResources({ blockIO: { weight: 0, leafWeight: 0 } }, v2));
  await rejectsField(t, () => validateResources({ blockIO: { weight: 9 } }, v2), `${at}.blockIO.weight`);
  await rejectsField(t, () => validateResources({ blockIO: { leafWeight: 1001 } }, v1), `${at}.blockIO.leafWeight`);
  await rejectsField(t, () => validateResources({ blockIO: { weightDevice: {} } }, v2), `${at}.blockIO.weightDevice`, /array/);
  await rejectsField(t, () => validateResources({ blockIO: { weightDevice: [1] } }, v2), `${at}.blockIO.weightDevice[0]`, /object/);
  await rejectsField(t, () => validateResources({ blockIO: { weightDevice: [{ major: 8 }] } }, v2), `${at}.blockIO.weightDevice[0]`, /needs major and minor/);
  await rejectsField(t, () => validateResources({ blockIO: { weightDevice: [{ major: 9, minor: 0, weight: 100 }] } }, v2), `${at}.blockIO.weightDevice[0].major`, /no block device 9:0/);
  await rejectsField(t, () => validateResources({ blockIO: { weightDevice: [{ major: 8, minor: 0, weight: 5 }] } }, v2), `${at}.blockIO.weightDevice[0].weight`);
  await rejectsField(t, () => validateResources({ blockIO: { weightDevice: [{ major: 8, minor: 0, rate: 5 }] } }, v2), `${at}.blockIO.weightDevice[0].rate`, /unknown field/);
  await rejectsField(t, () => validateResources({ blockIO: { weightDevice: [{ major: -1, minor: 0 }] } }, v2), `${at}.blockIO.weightDevice[0].major`);
  for (const key of ['throttleReadBpsDevice', 'throttleWriteBpsDevice', 'throttleReadIOPSDevice', 'throttleWriteIOPSDevice']) {
    t.notThrows(() => validateResources({ blockIO: { [key]: [{ major: 8, minor: 0, rate: 0 }] } }, v2));
    await rejectsField(t, () => validateResources({ blockIO: { [key]: [{ major: 8, minor: 0 }] } }, v2), `${at}.blockIO.${key}[0].rate`, /required/);
    await rejectsField(t, () => validateResources({ blockIO: { [key]: [{ major: 8, minor: 0, rate: -1 }] } }, v2), `${at}.blockIO.${key}[0].rate`);
    await rejectsField(t, () => validateResources({ blockIO: { [key]: [{ major: 8, minor: 1, rate: 1 }] } }, v2), `${at}.blockIO.${key}[0].major`);
    await rejectsField(t, () => validateResources({ blockIO: { [key]: [{ major: 8, minor: 0, rate: 1, weight: 1 }] } }, v2), `${at}.blockIO.${key}[0].weight`);
  }
  await rejectsField(t, () => validateResources({ blockIO: { throttleReadBps: [] } }, v2), `${at}.blockIO.throttleReadBps`, /unknown field/);
});

test('devices: allow is required, type a/b/c, access from r/w/m without repeats', async (t) => {
  t.notThrows(() => validateResources({ devices: [{ allow: true, type: 'a' }, { allow: true, type: 'c', major: 5, minor: -1, access: 'mwr' }] }, v1));
  await rejectsField(t, () => validateResources({ devices: {} }, v1), `${at}.devices`, /array/);
  await rejectsField(t, () => validateResources({ devices: ['a'] }, v1), `${at}.devices[0]`);
  await rejectsField(t, () => validateResources({ devices: [{ type: 'c' }] }, v1), `${at}.devices[0].allow`, /required/);
  await rejectsField(t, () => validateResources({ devices: [{ allow: 'yes' }] }, v1), `${at}.devices[0].allow`);
  await rejectsField(t, () => validateResources({ devices: [{ allow: true, type: 'p' }] }, v1), `${at}.devices[0].type`);
  await rejectsField(t, () => validateResources({ devices: [{ allow: true, type: 'c', major: -2 }] }, v1), `${at}.devices[0].major`);
  await rejectsField(t, () => validateResources({ devices: [{ allow: true, type: 'c', minor: 'x' }] }, v1), `${at}.devices[0].minor`);
  for (const access of ['', 'rr', 'x', 'rwmr', 3]) {
    await rejectsField(t, () => validateResources({ devices: [{ allow: true, access }] }, v1), `${at}.devices[0].access`);
  }
  await rejectsField(t, () => validateResources({ devices: [{ allow: true, path: '/dev/null' }] }, v1), `${at}.devices[0].path`, /unknown field/);
});

test('hugepageLimits: a size the host has (in any spelling), and a limit', async (t) => {
  t.notThrows(() => validateResources({ hugepageLimits: [{ pageSize: '2048KB', limit: 0 }] }, v2));
  await rejectsField(t, () => validateResources({ hugepageLimits: {} }, v2), `${at}.hugepageLimits`);
  await rejectsField(t, () => validateResources({ hugepageLimits: [{ limit: 1 }] }, v2), `${at}.hugepageLimits[0].pageSize`, /required/);
  await rejectsField(t, () => validateResources({ hugepageLimits: [{ pageSize: '2 MB', limit: 1 }] }, v2), `${at}.hugepageLimits[0].pageSize`, /not a page size/);
  await rejectsField(t, () => validateResources({ hugepageLimits: [{ pageSize: '1GB', limit: 1 }] }, v2), `${at}.hugepageLimits[0].pageSize`, /not supported by this host \(has: 2MB\)/);
  await rejectsField(
    t,
    () => validateResources({ hugepageLimits: [{ pageSize: '2MB', limit: 1 }] }, { ...v2, hugepageSizes: [] }),
    `${at}.hugepageLimits[0].pageSize`,
    /has: none/,
  );
  await rejectsField(t, () => validateResources({ hugepageLimits: [{ pageSize: '2MB' }] }, v2), `${at}.hugepageLimits[0].limit`, /required/);
  await rejectsField(t, () => validateResources({ hugepageLimits: [{ pageSize: '2MB', limit: -2 }] }, v2), `${at}.hugepageLimits[0].limit`);
  await rejectsField(t, () => validateResources({ hugepageLimits: [{ pageSize: '2MB', limit: 1, max: 1 }] }, v2), `${at}.hugepageLimits[0].max`);
});

test('unified: v2 file names of known controllers, string values, not on pure v1', async (t) => {
  t.notThrows(() => validateResources({ unified: { 'memory.high': 'max', 'pids.max': '10', 'misc.max': 'x 1' } }, hybrid));
  await rejectsField(t, () => validateResources({ unified: { 'memory.high': '1' } }, v1), `${at}.unified`, /needs a cgroup v2 hierarchy/);
  await rejectsField(t, () => validateResources({ unified: [] }, v2), `${at}.unified`);
  await rejectsField(t, () => validateResources({ unified: { '../memory.max': '1' } }, v2), `${at}.unified["../memory.max"]`, /not a cgroup v2 file name/);
  await rejectsField(t, () => validateResources({ unified: { 'memory/memory.max': '1' } }, v2), `${at}.unified["memory/memory.max"]`);
  await rejectsField(t, () => validateResources({ unified: { memory: '1' } }, v2), `${at}.unified["memory"]`);
  await rejectsField(t, () => validateResources({ unified: { 'cgroup.procs': '1' } }, v2), `${at}.unified["cgroup.procs"]`, /manager-owned/);
  await rejectsField(t, () => validateResources({ unified: { 'cgroup.kill': '1' } }, v2), `${at}.unified["cgroup.kill"]`);
  await rejectsField(t, () => validateResources({ unified: { 'cgroup.freeze': '1' } }, v2), `${at}.unified["cgroup.freeze"]`);
  await rejectsField(t, () => validateResources({ unified: { 'devices.allow': 'a' } }, v2), `${at}.unified["devices.allow"]`, /unknown/);
  await rejectsField(t, () => validateResources({ unified: { 'memory.high': 100 } }, v2), `${at}.unified["memory.high"]`, /must be a string/);
  await rejectsField(t, () => validateResources({ unified: { 'memory.high': 'a\0b' } }, v2), `${at}.unified["memory.high"]`, /NUL/);
});

test('the top level: an object with known sections only', async (t) => {
  await rejectsField(t, () => validateResources(null, v2), at);
  await rejectsField(t, () => validateResources([], v2), at);
  await rejectsField(t, () => validateResources({ cpus: {} }, v2), `${at}.cpus`, /unknown field \(expected one of: devices, memory, cpu/);
  await rejectsField(t, () => validateResources({ cpu: 'fast' }, v2), `${at}.cpu`);
  await rejectsField(t, () => validateResources({ blockIO: [] }, v2), `${at}.blockIO`);
});

// The audit of every OCI resources field: what berth does not apply is refused
// (or, where runc ignores it with a warning, warned about), never silently dropped.
const noWarn = (t) => (field, message) => t.fail(`unexpected warning ${field}: ${message}`);

test('memory.kernel is accepted with a warning naming it everywhere, kernelTCP only on v2 (v1 applies it); runc ignores both with a warning', (t) => {
  for (const host of [v1, hybrid, v2]) {
    const heard = [];
    validateResources({ memory: { kernel: 1 << 26, kernelTCP: -1, limit: 1 << 28 } }, host, at, (field, message) => heard.push([field, message]));
    t.deepEqual(heard.map(([f]) => f), [`${at}.memory.kernel`, ...(host.layout === 'v2' ? [`${at}.memory.kernelTCP`] : [])], host.layout);
    t.regex(heard[0][1], /deprecated and not enforced/);
    if (host.layout === 'v2') t.regex(heard[1][1], /cgroup v2 has no kernel TCP buffer limit/);
    t.notThrows(() => validateResources({ memory: { kernel: null, kernelTCP: null, limit: 1 } }, host, at, noWarn(t)), 'null is absent');
  }
});

test('the default warning is a process warning with code BERTH_IGNORED_FIELD', async (t) => {
  const heard = new Promise((resolve) => process.once('warning', resolve));
  validateResources({ memory: { kernel: 1 << 20 } }, v1);
  const w = await heard;
  t.is(w.code, 'BERTH_IGNORED_FIELD');
  t.is(w.name, 'BerthWarning');
  t.regex(w.message, /^linux\.resources\.memory\.kernel is ignored: /);
});

test('memory.useHierarchy: true is what the kernel does anyway, false is refused on every layout', async (t) => {
  for (const host of [v1, hybrid, v2]) {
    t.notThrows(() => validateResources({ memory: { useHierarchy: true } }, host, at, noWarn(t)));
    await rejectsField(t, () => validateResources({ memory: { useHierarchy: false } }, host), `${at}.memory.useHierarchy`, /always hierarchical/);
  }
});

test('memory.swappiness and disableOOMKiller: applied on v1 and hybrid, refused on cgroup v2 naming the version; checkBeforeUpdate everywhere', async (t) => {
  for (const host of [v1, hybrid]) {
    t.notThrows(() => validateResources({ memory: { swappiness: 0, disableOOMKiller: true, checkBeforeUpdate: true } }, host, at, noWarn(t)));
  }
  t.notThrows(() => validateResources({ memory: { checkBeforeUpdate: true } }, v2, at, noWarn(t)));
  await rejectsField(t, () => validateResources({ memory: { swappiness: 10 } }, v2), `${at}.memory.swappiness`, /cgroup v1 only.*cgroup v2 has no/);
  await rejectsField(t, () => validateResources({ memory: { swappiness: 0 } }, v2), `${at}.memory.swappiness`, /cgroup v1 only/);
  await rejectsField(t, () => validateResources({ memory: { disableOOMKiller: true } }, v2), `${at}.memory.disableOOMKiller`, /cgroup v1 only.*cgroup v2/);
  // What v2 does anyway (the OOM killer on, no check) asks for nothing.
  t.notThrows(() => validateResources({ memory: { swappiness: null, disableOOMKiller: false, checkBeforeUpdate: false } }, v2, at, noWarn(t)));
});

test('blockIO.leafWeight (and per device) is refused: CFQ and its leaf weights are gone from every kernel berth runs on', async (t) => {
  for (const host of [v1, hybrid, v2]) {
    await rejectsField(t, () => validateResources({ blockIO: { leafWeight: 500 } }, host), `${at}.blockIO.leafWeight`, /CFQ/);
    await rejectsField(t, () => validateResources({ blockIO: { weightDevice: [{ major: 8, minor: 0, leafWeight: 100 }] } }, host), `${at}.blockIO.weightDevice[0].leafWeight`, /CFQ/);
    t.notThrows(() => validateResources({ blockIO: { weight: 100, leafWeight: 0, weightDevice: [{ major: 8, minor: 0, weight: 100, leafWeight: null }] } }, host));
  }
});

test('network.classID and network.priorities are refused, saying why on each layout', async (t) => {
  for (const host of [v1, hybrid]) {
    await rejectsField(t, () => validateResources({ network: { classID: 0x100001 } }, host), `${at}.network.classID`, /net_cls\/net_prio controllers/);
    await rejectsField(t, () => validateResources({ network: { priorities: [{ name: 'eth0', priority: 5 }] } }, host), `${at}.network.priorities`, /cgroup v1 net_cls\/net_prio/);
  }
  await rejectsField(t, () => validateResources({ network: { classID: 1 } }, v2), `${at}.network.classID`, /cgroup v2 has no net_cls/);
  await rejectsField(t, () => validateResources({ network: { classId: 1 } }, v2), `${at}.network.classId`, /unknown field/);
  t.notThrows(() => validateResources({ network: { priorities: [] } }, v2));
});

test('rdma limits are refused naming the device', async (t) => {
  await rejectsField(t, () => validateResources({ rdma: { mlx5_1: { hcaHandles: 3 } } }, v2), `${at}.rdma.mlx5_1`, /rdma cgroup controller/);
  await rejectsField(t, () => validateResources({ rdma: { 'mlx-0': { hcaObjects: 3 } } }, hybrid), `${at}.rdma["mlx-0"]`, /rdma/);
  await rejectsField(t, () => validateResources({ rdma: [] }, v2), `${at}.rdma`, /object/);
  t.notThrows(() => validateResources({ rdma: {} }, v1));
});
