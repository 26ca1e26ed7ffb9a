// OCI linux.resources -> cgroup file writes, for v2 and v1. Pure functions: the
// managers decide where each write goes and in which directory.
//
// Values follow what runc and crun document:
//   cpu.shares -> cpu.weight   crun's quadratic mapping (shares 2/1024/262144 -> weight 1/100/10000)
//   quota/period -> cpu.max    "<quota|max> <period>", period defaulting to 100000
//   memory.swap (OCI: memory+swap total) -> memory.swap.max = swap - limit
//   memory.reservation -> memory.low
//   blkio weight (10..1000) -> io.bfq.weight as is, or io.weight = 1 + (w-10)*9999/990
//   throttles -> io.max "maj:min rbps=N" (0 removes the limit: "max")
//   hugepageLimits -> hugetlb.<size>.max (v2) / hugetlb.<size>.limit_in_bytes (v1)
import { CgroupError } from '../errors.js';
import type { LinuxResources, LinuxThrottleDevice } from '../../types/oci.js';
import { normalizePageSize } from '../host/index.js';

export interface CgroupWrite {
  /** v1 controller whose hierarchy holds `file`; 'unified' for the cgroup2 tree (v2, or hybrid's unified part). */
  controller: string;
  file: string;
  value: string;
  /** Skip silently when the file does not exist (deprecated or optional kernel knobs). */
  optional?: boolean;
}

/**
 * crun's shares -> weight mapping (libcrun/cgroup-internal.h, crun >= 1.23): a quadratic in
 * log2(shares) through (2,1), (1024,100) and (262144,10000), so the default of each side
 * maps to the default of the other. The older linear formula, 1 + (shares-2)*9999/262142,
 * mapped 1024 to 39 and made containers with default shares lose to everything else.
 */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  const l = Math.log2(shares);
  const exponent = (l * l + 125 * l) / 612 - 7 / 34;
  return Math.min(10000, Math.ceil(Math.pow(10, exponent)));
}

/** runc's blkio weight (10..1000) -> io.weight (1..10000). */
export function blkioWeightToIoWeight(weight: number): number {
  if (weight === 0) return 0;
  return Math.floor(1 + ((weight - 10) * 9999) / 990);
}

/** cpu.max value, or null when neither quota nor period says anything. */
export function cpuMax(quota: number | undefined, period: number | undefined): string | null {
  if ((quota === undefined || quota === 0) && (period === undefined || period === 0)) return null;
  const p = period && period > 0 ? period : 100000;
  const q = quota !== undefined && quota > 0 ? String(quota) : 'max';
  return `${q} ${p}`;
}

/**
 * memory.swap.max from OCI values (runc's ConvertMemorySwapToCgroupV2Value). OCI swap is
 * memory+swap, v2 limits swap alone. Returns null for "leave unset".
 */
export function swapMaxV2(swap: number | undefined, limit: number | undefined): string | null {
  if (limit === -1 && (swap === undefined || swap === 0)) return 'max';
  if (swap === undefined || swap === 0) return null;
  if (swap === -1) return 'max';
  if (limit === undefined || limit === 0 || limit === -1) {
    throw new CgroupError({ step: 'convert', message: 'cannot set a swap limit without a memory limit on cgroup v2' });
  }
  if (swap < limit) {
    throw new CgroupError({ step: 'convert', message: `memory+swap limit ${swap} is below the memory limit ${limit}` });
  }
  return String(swap - limit);
}

const maxOr = (n: number): string => (n === -1 ? 'max' : String(n));

function ioMaxLines(list: LinuxThrottleDevice[] | undefined, key: string): CgroupWrite[] {
  return (list ?? []).map((d) => ({
    controller: 'unified',
    file: 'io.max',
    value: `${d.major}:${d.minor} ${key}=${d.rate === 0 ? 'max' : d.rate}`,
  }));
}

export interface V2Context {
  /** io.bfq.weight exists: weights go there unconverted (crun does the same). */
  bfq: boolean;
}

/**
 * Writes for cgroup v2. `update` is what changed; `merged` is the full resulting config,
 * needed where one file depends on several fields (cpu.max, memory.swap.max).
 */
export function v2Writes(update: LinuxResources, merged: LinuxResources, ctx: V2Context): CgroupWrite[] {
  const w: CgroupWrite[] = [];
  const add = (file: string, value: string, optional = false): void => {
    w.push({ controller: 'unified', file, value, ...(optional ? { optional } : {}) });
  };
  const m = update.memory;
  if (m) {
    if (m.limit !== undefined && m.limit !== 0) add('memory.max', maxOr(m.limit));
    if (m.reservation !== undefined && m.reservation !== 0) add('memory.low', maxOr(m.reservation));
    if (m.swap !== undefined || m.limit !== undefined) {
      const swap = swapMaxV2(merged.memory?.swap, merged.memory?.limit);
      if (swap !== null) add('memory.swap.max', swap);
    }
    // swappiness and disableOOMKiller have no v2 equivalent (lib/config refuses them on v2);
    // kernel and kernelTCP neither (accepted with a warning, as runc does).
  }
  const c = update.cpu;
  if (c) {
    if (c.shares) add('cpu.weight', String(sharesToWeight(c.shares)));
    if (c.quota !== undefined || c.period !== undefined) {
      const v = cpuMax(merged.cpu?.quota, merged.cpu?.period);
      if (v !== null) add('cpu.max', v);
    }
    if (c.burst !== undefined) add('cpu.max.burst', String(c.burst));
    if (c.idle !== undefined) add('cpu.idle', String(c.idle));
    if (c.cpus) add('cpuset.cpus', c.cpus);
    if (c.mems) add('cpuset.mems', c.mems);
  }
  if (update.pids && update.pids.limit !== 0) add('pids.max', maxOr(update.pids.limit));
  const b = update.blockIO;
  if (b) {
    if (b.weight) add(ctx.bfq ? 'io.bfq.weight' : 'io.weight', String(ctx.bfq ? b.weight : blkioWeightToIoWeight(b.weight)));
    for (const d of b.weightDevice ?? []) {
      if (d.weight === undefined) continue;
      const v = ctx.bfq ? d.weight : blkioWeightToIoWeight(d.weight);
      add(ctx.bfq ? 'io.bfq.weight' : 'io.weight', `${d.major}:${d.minor} ${v}`);
    }
    w.push(
      ...ioMaxLines(b.throttleReadBpsDevice, 'rbps'),
      ...ioMaxLines(b.throttleWriteBpsDevice, 'wbps'),
      ...ioMaxLines(b.throttleReadIOPSDevice, 'riops'),
      ...ioMaxLines(b.throttleWriteIOPSDevice, 'wiops'),
    );
  }
  for (const h of update.hugepageLimits ?? []) {
    const size = normalizePageSize(h.pageSize) ?? h.pageSize;
    add(`hugetlb.${size}.max`, maxOr(h.limit));
    // Reservation accounting (kernel >= 5.7): limit reservations too, as runc does.
    add(`hugetlb.${size}.rsvd.max`, maxOr(h.limit), true);
  }
  // Raw keys last, so they override anything converted above (crun's order).
  for (const [key, value] of Object.entries(update.unified ?? {})) add(key, value);
  return w;
}

function deviceRule(type: string | undefined, major: number | null | undefined, minor: number | null | undefined, access: string | undefined): string {
  const t = type ?? 'a';
  if (t === 'a') return 'a';
  const num = (n: number | null | undefined): string => (n === undefined || n === null || n === -1 ? '*' : String(n));
  return `${t} ${num(major)}:${num(minor)} ${access ?? 'rwm'}`;
}

export interface V1Context {
  /** blkio.bfq.weight exists instead of blkio.weight (kernels with BFQ and no CFQ). */
  bfqWeight: boolean;
  /** hugetlb is a v1 controller here; otherwise (hybrid) its limits go to the unified tree. */
  hugetlbV1: boolean;
}

/** Writes for cgroup v1 (and the unified part of a hybrid host). Order matters; see applyWrites. */
export function v1Writes(update: LinuxResources, ctx: V1Context): CgroupWrite[] {
  const w: CgroupWrite[] = [];
  const add = (controller: string, file: string, value: string, optional = false): void => {
    w.push({ controller, file, value, ...(optional ? { optional } : {}) });
  };
  for (const d of update.devices ?? []) {
    add('devices', d.allow ? 'devices.allow' : 'devices.deny', deviceRule(d.type, d.major, d.minor, d.access));
  }
  const m = update.memory;
  if (m) {
    // memsw before limit: raising both needs memsw raised first (it must stay >= limit);
    // lowering both needs the opposite, which applyWrites' retry pass takes care of.
    // A missing memsw file (no swap accounting) only matters if swap is actually limited.
    if (m.swap !== undefined && m.swap !== 0) add('memory', 'memory.memsw.limit_in_bytes', String(m.swap), m.swap === -1);
    if (m.limit !== undefined && m.limit !== 0) add('memory', 'memory.limit_in_bytes', String(m.limit));
    if (m.reservation !== undefined && m.reservation !== 0) add('memory', 'memory.soft_limit_in_bytes', String(m.reservation));
    if (m.swappiness !== undefined) add('memory', 'memory.swappiness', String(m.swappiness));
    if (m.disableOOMKiller !== undefined) add('memory', 'memory.oom_control', m.disableOOMKiller ? '1' : '0');
    // kernel: no longer enforced by the kernel; ignored with a warning (lib/config), as in runc.
    // kernelTCP still limits TCP buffers on v1.
    if (m.kernelTCP !== undefined && m.kernelTCP !== 0) add('memory', 'memory.kmem.tcp.limit_in_bytes', String(m.kernelTCP));
  }
  const c = update.cpu;
  if (c) {
    if (c.shares) add('cpu', 'cpu.shares', String(c.shares));
    if (c.period) add('cpu', 'cpu.cfs_period_us', String(c.period));
    if (c.quota !== undefined && c.quota !== 0) add('cpu', 'cpu.cfs_quota_us', String(c.quota));
    if (c.burst !== undefined) add('cpu', 'cpu.cfs_burst_us', String(c.burst));
    if (c.realtimePeriod) add('cpu', 'cpu.rt_period_us', String(c.realtimePeriod));
    if (c.realtimeRuntime !== undefined && c.realtimeRuntime !== 0) add('cpu', 'cpu.rt_runtime_us', String(c.realtimeRuntime));
    if (c.idle !== undefined) add('cpu', 'cpu.idle', String(c.idle));
    if (c.cpus) add('cpuset', 'cpuset.cpus', c.cpus);
    if (c.mems) add('cpuset', 'cpuset.mems', c.mems);
  }
  if (update.pids && update.pids.limit !== 0) add('pids', 'pids.max', maxOr(update.pids.limit));
  const b = update.blockIO;
  if (b) {
    const weightFile = ctx.bfqWeight ? 'blkio.bfq.weight' : 'blkio.weight';
    if (b.weight) add('blkio', weightFile, String(b.weight));
    // leaf_weight went away with CFQ (5.0): lib/config refuses it; kept optional for a kernel that still has it.
    if (b.leafWeight) add('blkio', 'blkio.leaf_weight', String(b.leafWeight), true);
    for (const d of b.weightDevice ?? []) {
      if (d.weight !== undefined) add('blkio', ctx.bfqWeight ? 'blkio.bfq.weight_device' : 'blkio.weight_device', `${d.major}:${d.minor} ${d.weight}`);
      if (d.leafWeight !== undefined) add('blkio', 'blkio.leaf_weight_device', `${d.major}:${d.minor} ${d.leafWeight}`, true);
    }
    const thr = (list: LinuxThrottleDevice[] | undefined, file: string): void => {
      for (const d of list ?? []) add('blkio', file, `${d.major}:${d.minor} ${d.rate}`);
    };
    thr(b.throttleReadBpsDevice, 'blkio.throttle.read_bps_device');
    thr(b.throttleWriteBpsDevice, 'blkio.throttle.write_bps_device');
    thr(b.throttleReadIOPSDevice, 'blkio.throttle.read_iops_device');
    thr(b.throttleWriteIOPSDevice, 'blkio.throttle.write_iops_device');
  }
  for (const h of update.hugepageLimits ?? []) {
    const size = normalizePageSize(h.pageSize) ?? h.pageSize;
    if (ctx.hugetlbV1) {
      add('hugetlb', `hugetlb.${size}.limit_in_bytes`, String(h.limit));
      add('hugetlb', `hugetlb.${size}.rsvd.limit_in_bytes`, String(h.limit), true);
    } else {
      add('unified', `hugetlb.${size}.max`, maxOr(h.limit));
      add('unified', `hugetlb.${size}.rsvd.max`, maxOr(h.limit), true);
    }
  }
  // On hybrid hosts raw v2 keys can only reach controllers bound to the unified tree.
  for (const [key, value] of Object.entries(update.unified ?? {})) add('unified', key, value);
  return w;
}

/**
 * What a person needs to know when the kernel refuses a write berth cannot check
 * beforehand (it depends on other cgroups' values): the OCI field and the rule,
 * or '' when there is nothing to add to "file: errno".
 */
export function cgroupWriteHint(path: string, errno: string | undefined): string {
  const file = path.slice(path.lastIndexOf('/') + 1);
  if (errno === 'EINVAL' && (file === 'cpu.rt_runtime_us' || file === 'cpu.rt_period_us')) {
    // sched_rt_global_validate/tg_rt_schedulable: a group's runtime/period must fit in
    // its parent's, and new v1 cpu cgroups (berth's /berth parent too) start with 0.
    return 'linux.resources.cpu.realtimeRuntime/realtimePeriod: the kernel refuses a real-time runtime that does not fit in the parent cgroup\'s ' +
      '(cpu.rt_runtime_us of every ancestor, which starts at 0 in a new cgroup such as berth\'s /berth parent); ' +
      'give the ancestors a budget first, or leave realtimeRuntime unset';
  }
  if (errno === 'ENOENT' && /^(blkio\.(bfq\.)?weight(_device)?|io\.(bfq\.)?weight)$/.test(file)) {
    // The weight files belong to the I/O scheduler's cgroup policy, not to the controller.
    return 'linux.resources.blockIO.weight/weightDevice: this kernel has no I/O weight file: weights need BFQ built with ' +
      'group scheduling (CONFIG_BFQ_GROUP_IOSCHED: blkio.bfq.weight, io.bfq.weight) or, on cgroup v2, blk-iocost (io.weight); ' +
      'throttles (throttleReadBpsDevice, ...) work without them';
  }
  return '';
}

/** Deep-enough merge for update(): sections merge field by field, arrays and `unified` keys replace/extend. */
export function mergeResources(base: LinuxResources, update: LinuxResources): LinuxResources {
  const out: LinuxResources = { ...base };
  if (update.memory) out.memory = { ...base.memory, ...update.memory };
  if (update.cpu) out.cpu = { ...base.cpu, ...update.cpu };
  if (update.pids) out.pids = { ...update.pids };
  if (update.blockIO) out.blockIO = { ...base.blockIO, ...update.blockIO };
  if (update.hugepageLimits) out.hugepageLimits = update.hugepageLimits;
  if (update.devices) out.devices = [...(base.devices ?? []), ...update.devices];
  if (update.unified) out.unified = { ...base.unified, ...update.unified };
  return out;
}

/** v2 controllers a resources object needs enabled in the parents' cgroup.subtree_control. */
export function v2ControllersNeeded(r: LinuxResources | undefined): Set<string> {
  const need = new Set<string>();
  if (!r) return need;
  if (r.memory) need.add('memory');
  if (r.cpu) {
    if (r.cpu.shares || r.cpu.quota || r.cpu.period || r.cpu.burst !== undefined || r.cpu.idle !== undefined) need.add('cpu');
    if (r.cpu.cpus || r.cpu.mems) need.add('cpuset');
  }
  if (r.pids) need.add('pids');
  if (r.blockIO) need.add('io');
  if (r.hugepageLimits?.length) need.add('hugetlb');
  for (const key of Object.keys(r.unified ?? {})) {
    const prefix = key.slice(0, key.indexOf('.'));
    if (prefix !== 'cgroup') need.add(prefix);
  }
  return need;
}
