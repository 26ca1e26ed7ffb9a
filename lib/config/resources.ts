// Validation of OCI linux.resources BEFORE any cgroup is created or written, and
// of every update() before it is applied: the cgroup managers trust their input.
// Every error is a ConfigError naming the JSON path of the offending field, so a
// caller can point at the exact line of their config. Values the kernel may still
// refuse (a weight file this kernel lacks, EBUSY) are reported later by the
// managers with the file and errno.
import { ConfigError } from '../errors.js';
import type { LinuxResources } from '../../types/oci.js';
import { type HostCgroupInfo, normalizePageSize, parseCpuList } from '../host/index.js';
import { array, childField, object as obj, onlyKeys, optBool, optLimit, plainJson } from './check.js';

type Obj = Record<string, unknown>;

/** Says that a field was accepted and deliberately not applied (a process warning by default). */
export type FieldWarning = (field: string, message: string) => void;

export const warnIgnoredField: FieldWarning = (field, message) => {
  process.emitWarning(`${field} is ignored: ${message}`, { type: 'BerthWarning', code: 'BERTH_IGNORED_FIELD' });
};

const given = (v: unknown): boolean => v !== undefined && v !== null;

function cpuset(o: Obj, key: string, at: string, available: Set<number>, what: string): void {
  const v = o[key];
  if (v === undefined || v === '') return;
  const path = `${at}.${key}`;
  if (typeof v !== 'string') throw new ConfigError(path, 'must be a string like "0-3,6"');
  const list = parseCpuList(v);
  if (list === null) throw new ConfigError(path, `malformed ${what} list "${v}" (expected a list like "0-3,6")`);
  const missing = list.filter((n) => !available.has(n));
  if (missing.length > 0) {
    throw new ConfigError(path, `${what} ${missing.join(',')} not present on this host (online: ${[...available].join(',')})`);
  }
}

function validateMemory(m: Obj, at: string, host: HostCgroupInfo, warn: FieldWarning): void {
  onlyKeys(m, at, ['limit', 'reservation', 'swap', 'kernel', 'kernelTCP', 'swappiness', 'disableOOMKiller', 'useHierarchy', 'checkBeforeUpdate']);
  // 0 means "not set" for limit/reservation/swap, as in runc.
  for (const k of ['limit', 'reservation', 'swap', 'kernel', 'kernelTCP']) optLimit(m, k, at, { min: 0, unlimited: true });
  optLimit(m, 'swappiness', at, { min: 0, max: 100 });
  for (const k of ['disableOOMKiller', 'useHierarchy', 'checkBeforeUpdate']) optBool(m[k], `${at}.${k}`);
  // Kernel memory limits (NOT RECOMMENDED in the runtime-spec). `kernel`: cgroup v2
  // has none, and current v1 kernels accept a write to memory.kmem.limit_in_bytes
  // and enforce nothing (measured on 6.18); runc (>= 1.0.0-rc94) ignores it with a
  // warning, and so does berth, naming the field. `kernelTCP` still works on v1
  // (memory.kmem.tcp.limit_in_bytes, written by convert.ts); v2 has no such file.
  if (given(m.kernel)) warn(`${at}.kernel`, 'kernel memory limits are deprecated and not enforced by the kernel (runc ignores them too); the memory limit counts kernel memory');
  if (given(m.kernelTCP) && host.layout === 'v2') warn(`${at}.kernelTCP`, 'cgroup v2 has no kernel TCP buffer limit (runc ignores it too); the memory limit counts TCP buffers');
  // Hierarchical accounting is the only mode since Linux 5.11 on v1 (writing 0 to
  // memory.use_hierarchy is EINVAL) and the only one v2 has: true is what happens anyway.
  if (m.useHierarchy === false) throw new ConfigError(`${at}.useHierarchy`, 'false is not possible: memory accounting is always hierarchical (cgroup v2, and v1 since Linux 5.11)');
  if (host.layout === 'v2') {
    if (given(m.swappiness)) throw new ConfigError(`${at}.swappiness`, 'is cgroup v1 only (memory.swappiness): cgroup v2 has no per-cgroup swappiness');
    if (m.disableOOMKiller === true) throw new ConfigError(`${at}.disableOOMKiller`, 'is cgroup v1 only (memory.oom_control): cgroup v2 cannot disable the OOM killer of a cgroup');
  }
  // checkBeforeUpdate: Container.update() compares the new limits with the usage (any layout).
  const limit = m.limit as number | undefined;
  const swap = m.swap as number | undefined;
  if (swap !== undefined && swap > 0) {
    if (limit !== undefined && limit > 0 && swap < limit) {
      throw new ConfigError(`${at}.swap`, `memory+swap (${swap}) must be >= memory limit (${limit}); OCI swap is the total of memory and swap`);
    }
    // v2 limits swap alone (swap.max = swap - limit): a swap limit needs a memory limit.
    if (host.layout === 'v2' && !(limit !== undefined && limit > 0)) {
      throw new ConfigError(`${at}.swap`, 'a swap limit needs a memory limit on cgroup v2');
    }
  }
}

function validateCpu(c: Obj, at: string, host: HostCgroupInfo): void {
  onlyKeys(c, at, ['shares', 'quota', 'burst', 'period', 'realtimeRuntime', 'realtimePeriod', 'cpus', 'mems', 'idle']);
  optLimit(c, 'shares', at, { min: 0, max: 262144 });
  // The kernel refuses quotas under 1 ms and periods outside 1 ms .. 1 s.
  // 0 = not set (runc; cpuMax() skips it too).
  if (c.quota !== 0) optLimit(c, 'quota', at, { min: 1000, unlimited: true });
  if (c.period !== 0) optLimit(c, 'period', at, { min: 1000, max: 1_000_000 });
  optLimit(c, 'burst', at, { min: 0 });
  optLimit(c, 'realtimeRuntime', at, { min: 0, unlimited: true });
  optLimit(c, 'realtimePeriod', at, { min: 0 });
  optLimit(c, 'idle', at, { min: 0, max: 1 });
  if (host.layout === 'v2') {
    for (const k of ['realtimeRuntime', 'realtimePeriod']) {
      if (c[k] !== undefined && c[k] !== 0) throw new ConfigError(`${at}.${k}`, 'realtime scheduling limits are not supported on cgroup v2');
    }
  }
  cpuset(c, 'cpus', at, host.cpus, 'CPU');
  cpuset(c, 'mems', at, host.mems, 'memory node');
}

function validateDeviceRef(d: Obj, at: string, host: HostCgroupInfo): void {
  optLimit(d, 'major', at, { min: 0 });
  optLimit(d, 'minor', at, { min: 0 });
  if (d.major === undefined || d.minor === undefined) throw new ConfigError(at, 'needs major and minor');
  const key = `${d.major}:${d.minor}`;
  if (!host.blockDevices.has(key)) throw new ConfigError(`${at}.major`, `no block device ${key} on this host`);
}

const LEAF_WEIGHT_GONE = 'is not supported: blkio leaf weights went away with the CFQ I/O scheduler (Linux 5.0), and no kernel berth runs on has them';

function validateBlockIO(b: Obj, at: string, host: HostCgroupInfo): void {
  const throttles = ['throttleReadBpsDevice', 'throttleWriteBpsDevice', 'throttleReadIOPSDevice', 'throttleWriteIOPSDevice'];
  onlyKeys(b, at, ['weight', 'leafWeight', 'weightDevice', ...throttles]);
  // 0 = unset; otherwise the blkio range 10..1000.
  for (const k of ['weight', 'leafWeight']) if (b[k] !== 0) optLimit(b, k, at, { min: 10, max: 1000 });
  // Leaf weights were CFQ's (blkio.leaf_weight*), removed with CFQ in Linux 5.0;
  // neither BFQ nor cgroup v2 has them, and berth needs a newer kernel (clone3).
  if (given(b.leafWeight) && b.leafWeight !== 0) throw new ConfigError(`${at}.leafWeight`, LEAF_WEIGHT_GONE);
  if (b.weightDevice !== undefined) {
    array(b.weightDevice, `${at}.weightDevice`).forEach((d, i) => {
      const p = `${at}.weightDevice[${i}]`;
      const o = obj(d, p);
      onlyKeys(o, p, ['major', 'minor', 'weight', 'leafWeight']);
      validateDeviceRef(o, p, host);
      for (const k of ['weight', 'leafWeight']) optLimit(o, k, p, { min: 10, max: 1000 });
      if (given(o.leafWeight)) throw new ConfigError(`${p}.leafWeight`, LEAF_WEIGHT_GONE);
    });
  }
  for (const t of throttles) {
    if (b[t] === undefined) continue;
    array(b[t], `${at}.${t}`).forEach((d, i) => {
      const p = `${at}.${t}[${i}]`;
      const o = obj(d, p);
      onlyKeys(o, p, ['major', 'minor', 'rate']);
      validateDeviceRef(o, p, host);
      if (o.rate === undefined || o.rate === null) throw new ConfigError(`${p}.rate`, 'is required');
      optLimit(o, 'rate', p, { min: 0 });
    });
  }
}

function validateDevices(list: unknown, at: string): void {
  array(list, at).forEach((d, i) => {
    const p = `${at}[${i}]`;
    const o = obj(d, p);
    onlyKeys(o, p, ['allow', 'type', 'major', 'minor', 'access']);
    if (typeof o.allow !== 'boolean') throw new ConfigError(`${p}.allow`, 'is required and must be a boolean');
    if (o.type !== undefined && !['a', 'b', 'c'].includes(o.type as string)) throw new ConfigError(`${p}.type`, 'must be "a", "b" or "c"');
    for (const k of ['major', 'minor']) if (o[k] !== null) optLimit(o, k, p, { min: 0, unlimited: true });
    if (o.access !== undefined && (typeof o.access !== 'string' || !/^(?!.*(.).*\1)[rwm]{1,3}$/.test(o.access))) {
      throw new ConfigError(`${p}.access`, 'must be a combination of "r", "w" and "m"');
    }
  });
}

function validateHugepages(list: unknown, at: string, host: HostCgroupInfo): void {
  array(list, at).forEach((h, i) => {
    const p = `${at}[${i}]`;
    const o = obj(h, p);
    onlyKeys(o, p, ['pageSize', 'limit']);
    if (typeof o.pageSize !== 'string') throw new ConfigError(`${p}.pageSize`, 'is required, e.g. "2MB"');
    const size = normalizePageSize(o.pageSize);
    if (size === null) throw new ConfigError(`${p}.pageSize`, `"${o.pageSize}" is not a page size like "2MB" or "1GB"`);
    if (!host.hugepageSizes.includes(size)) {
      throw new ConfigError(`${p}.pageSize`, `huge page size ${o.pageSize} not supported by this host (has: ${host.hugepageSizes.join(', ') || 'none'})`);
    }
    if (o.limit === undefined || o.limit === null) throw new ConfigError(`${p}.limit`, 'is required');
    optLimit(o, 'limit', p, { min: 0, unlimited: true });
  });
}

// v2 controllers whose files may be set through `unified`, plus cgroup core files that
// are plain knobs. cgroup.procs/threads/subtree_control/kill/freeze are excluded: they
// move or kill processes or change the tree, which only the manager may do.
const UNIFIED_PREFIXES = new Set(['cpu', 'cpuset', 'io', 'memory', 'pids', 'hugetlb', 'rdma', 'misc']);
const UNIFIED_CORE_KEYS = new Set(['cgroup.max.depth', 'cgroup.max.descendants', 'cgroup.type']);

function validateUnified(u: unknown, at: string): void {
  const o = obj(u, at);
  for (const [key, value] of Object.entries(o)) {
    const p = `${at}[${JSON.stringify(key)}]`;
    if (!/^[a-z][a-z0-9_]*(\.[A-Za-z0-9_]+)+$/.test(key)) {
      throw new ConfigError(p, `"${key}" is not a cgroup v2 file name (like "memory.high"); paths and "/" are not allowed`);
    }
    const prefix = key.slice(0, key.indexOf('.'));
    if (!UNIFIED_PREFIXES.has(prefix) && !UNIFIED_CORE_KEYS.has(key)) {
      throw new ConfigError(p, `unknown or manager-owned cgroup v2 key "${key}"`);
    }
    if (typeof value !== 'string') throw new ConfigError(p, 'value must be a string');
    if (value.includes('\0')) throw new ConfigError(p, 'value must not contain NUL');
  }
}

function refuseNetwork(v: unknown, at: string, host: HostCgroupInfo): void {
  const n = obj(v, at);
  onlyKeys(n, at, ['classID', 'priorities']);
  const why = host.layout === 'v2'
    ? 'cgroup v2 has no net_cls/net_prio controllers (classify traffic with eBPF or nftables\' cgroup match instead)'
    : 'berth does not manage the cgroup v1 net_cls/net_prio controllers';
  if (given(n.classID)) throw new ConfigError(`${at}.classID`, `is not supported: ${why}`);
  if (given(n.priorities) && !(Array.isArray(n.priorities) && n.priorities.length === 0)) throw new ConfigError(`${at}.priorities`, `is not supported: ${why}`);
}

function refuseRdma(v: unknown, at: string): void {
  const devices = Object.keys(obj(v, at));
  if (devices.length > 0) throw new ConfigError(childField(at, devices[0]!), 'is not supported: berth does not manage the rdma cgroup controller');
}

/**
 * Throws a ConfigError naming the JSON path of the first invalid field. Pure: no I/O.
 * `warn` hears about fields accepted but deliberately not applied (memory.kernel*).
 */
export function validateResources(resources: unknown, host: HostCgroupInfo, at = 'linux.resources', warn: FieldWarning = warnIgnoredField): asserts resources is LinuxResources | undefined {
  if (resources === undefined) return;
  const r = obj(resources, at);
  onlyKeys(r, at, ['devices', 'memory', 'cpu', 'pids', 'blockIO', 'hugepageLimits', 'unified', 'network', 'rdma']);
  // network and rdma: OCI fields berth does not apply, so refused when they ask for anything.
  if (given(r.network)) refuseNetwork(r.network, `${at}.network`, host);
  if (given(r.rdma)) refuseRdma(r.rdma, `${at}.rdma`);
  if (r.devices !== undefined) validateDevices(r.devices, `${at}.devices`);
  if (r.memory !== undefined) validateMemory(obj(r.memory, `${at}.memory`), `${at}.memory`, host, warn);
  if (r.cpu !== undefined) validateCpu(obj(r.cpu, `${at}.cpu`), `${at}.cpu`, host);
  if (r.pids !== undefined) {
    const p = obj(r.pids, `${at}.pids`);
    onlyKeys(p, `${at}.pids`, ['limit']);
    // Required by the spec; the managers would write it as given.
    if (p.limit === undefined || p.limit === null) throw new ConfigError(`${at}.pids.limit`, 'is required (-1 for no limit)');
    // 0 = unset (runc), -1 = unlimited.
    optLimit(p, 'limit', `${at}.pids`, { min: 0, unlimited: true });
  }
  if (r.blockIO !== undefined) validateBlockIO(obj(r.blockIO, `${at}.blockIO`), `${at}.blockIO`, host);
  if (r.hugepageLimits !== undefined) validateHugepages(r.hugepageLimits, `${at}.hugepageLimits`, host);
  if (r.unified !== undefined) {
    if (host.layout === 'v1') throw new ConfigError(`${at}.unified`, 'needs a cgroup v2 hierarchy, and this host has none');
    validateUnified(r.unified, `${at}.unified`);
  }
}

/**
 * A copy without the null members validation took as absent (OCI writers emit
 * them): the cgroup managers skip only undefined ones and would write "null".
 * Device rules keep theirs: a null major or minor there means "any".
 */
export function withoutNullLimits<T extends LinuxResources | undefined>(resources: T): T {
  const strip = (v: unknown, keepNulls: boolean): unknown => {
    if (Array.isArray(v)) return v.map((x) => strip(x, keepNulls));
    if (typeof v !== 'object' || v === null) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (x === null && !keepNulls) continue;
      out[k] = k === 'unified' ? x : strip(x, keepNulls || k === 'devices');
    }
    return out;
  };
  return strip(resources, false) as T;
}

/**
 * update()'s argument, straight from the caller: checked as data (a plain copy,
 * see plainJson) and as resources, and returned without its null limits.
 */
export function validateUpdate(resources: unknown, host: HostCgroupInfo, at = 'resources', warn: FieldWarning = warnIgnoredField): LinuxResources {
  const copy = plainJson(resources, at);
  if (copy === undefined) throw new ConfigError(at, 'is required');
  validateResources(copy, host, at, warn);
  return withoutNullLimits(copy as LinuxResources);
}
