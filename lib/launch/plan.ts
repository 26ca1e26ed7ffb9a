// ResolvedConfig -> the plain-data plan the native child executes. All decisions
// (which mounts, which devices, cap masks, rlimit numbers) are made here, from
// the config and the host facts passed in: a pure function, no I/O.
import { v1CgroupMounts } from './cgroup-mounts.js';
import { overlayPlan } from './overlay.js';
import os from 'node:os';
import type { ResolvedConfig, ResolvedProcess } from '../config/normalize.js';
import { DEFAULT_DEVICES, DEFAULT_DEV_LINKS, DEFAULT_PATH } from '../config/defaults.js';
import type { NativeMount, NativePlan } from '../native/addon.js';
import type { ChildPlacement } from '../cgroups/manager.js';
import type { HostFacts } from '../host/index.js';
import { CAPABILITIES, CLONE_NS, MOUNT_ATTR, RLIMITS, S_IFBLK, S_IFCHR, S_IFIFO } from '../kernel/abi.js';
import { MPOL_FLAGS, MPOL_MODES, SCHED_FLAGS, SCHED_POLICIES } from '../kernel/task-attrs.js';
import { personalityValue } from '../config/personality.js';
import { timensOffsetsText } from '../config/time.js';

function capMask(names: string[]): bigint {
  let mask = 0n;
  for (const n of names) mask |= 1n << BigInt((CAPABILITIES as readonly string[]).indexOf(n));
  return mask;
}

/** ids -> the 64-bit words of a kernel bit mask (cpu_set_t, nodemask_t), lowest first. */
function maskWords(ids: number[]): bigint[] {
  const words: bigint[] = [];
  for (const id of ids) {
    const w = Math.floor(id / 64);
    while (words.length <= w) words.push(0n);
    words[w]! |= 1n << BigInt(id % 64);
  }
  return words;
}

const RLIM_INFINITY = 0xffffffffffffffffn;
function rlimitValue(v: number): bigint {
  return v >= Number.MAX_SAFE_INTEGER ? RLIM_INFINITY : BigInt(v);
}

export function processPlan(p: ResolvedProcess, host: HostFacts): Pick<
  NativePlan,
  | 'args' | 'env' | 'pathEnv' | 'homeFromPasswd' | 'cwd' | 'uid' | 'gid' | 'groups' | 'setGroups' | 'umask' | 'setCaps' | 'caps'
  | 'capLast' | 'noNewPrivs' | 'rlimits' | 'oomScoreAdj' | 'ioPriority' | 'terminal' | 'consoleWidth' | 'consoleHeight'
  | 'schedPolicy' | 'schedFlags' | 'schedNice' | 'schedPriority' | 'schedRuntime' | 'schedDeadline' | 'schedPeriod'
  | 'apparmorProfile' | 'selinuxLabel'
> {
  const pathEntry = p.env.find((e) => e.startsWith('PATH='));
  const sched = p.scheduler;
  return {
    args: p.args,
    env: p.env,
    pathEnv: pathEntry ? pathEntry.slice(5) : DEFAULT_PATH,
    homeFromPasswd: !p.env.some((e) => e.startsWith('HOME=')),
    cwd: p.cwd,
    uid: p.uid,
    gid: p.gid,
    groups: p.additionalGids,
    setGroups: true,
    umask: p.umask,
    setCaps: true,
    caps: [
      capMask(p.capabilities.bounding),
      capMask(p.capabilities.effective),
      capMask(p.capabilities.permitted),
      capMask(p.capabilities.inheritable),
      capMask(p.capabilities.ambient),
    ],
    capLast: host.capLast,
    noNewPrivs: p.noNewPrivileges,
    rlimits: p.rlimits.map((r) => ({ resource: RLIMITS[r.type], soft: rlimitValue(r.soft), hard: rlimitValue(r.hard) })),
    ...(p.oomScoreAdj !== undefined ? { oomScoreAdj: p.oomScoreAdj } : {}),
    ...(p.ioPriority !== undefined ? { ioPriority: p.ioPriority } : {}),
    terminal: p.terminal,
    consoleWidth: p.consoleSize?.width ?? 0,
    consoleHeight: p.consoleSize?.height ?? 0,
    ...(sched
      ? {
          schedPolicy: SCHED_POLICIES[sched.policy],
          schedFlags: sched.flags.reduce<number>((m, f) => m | SCHED_FLAGS[f], 0),
          schedNice: sched.nice,
          schedPriority: sched.priority,
          schedRuntime: sched.runtime,
          schedDeadline: sched.deadline,
          schedPeriod: sched.period,
        }
      : {}),
    ...(p.apparmorProfile !== undefined ? { apparmorProfile: p.apparmorProfile } : {}),
    ...(p.selinuxLabel !== undefined ? { selinuxLabel: p.selinuxLabel } : {}),
  };
}

/** The container-wide task attributes (linux.personality, linux.memoryPolicy): the init's and every exec's. */
function taskPlan(cfg: ResolvedConfig): Pick<NativePlan, 'personality' | 'memoryPolicyMode' | 'memoryPolicyNodes'> {
  const mp = cfg.memoryPolicy;
  return {
    ...(cfg.personality ? { personality: personalityValue(cfg.personality) } : {}),
    ...(mp ? { memoryPolicyMode: mp.flags.reduce<number>((m, f) => m | MPOL_FLAGS[f], MPOL_MODES[mp.mode]), memoryPolicyNodes: maskWords(mp.nodes) } : {}),
  };
}

/**
 * Whether the init's berth-init forks the process that execs: a pid namespace
 * joined by path applies only to children of the process that joins it.
 */
export function initForks(cfg: ResolvedConfig): boolean {
  if (cfg.namespaces.some((n) => n.type === 'pid' && n.path !== undefined)) return true;
  // With a user namespace the other namespaces are unshared, and new pid and time ones apply to children only.
  return cfg.userns !== undefined && cfg.namespaces.some((n) => (n.type === 'pid' || (n.type === 'time' && !cfg.timeOffsets)) && n.path === undefined);
}

// SELinux labels the container's own filesystems as runc does: with the
// context= option of the kinds that take one (not proc, sysfs or cgroupfs).
const LABELED_FS = new Set(['tmpfs', 'devpts', 'mqueue']);

function withMountLabel(data: string, type: string | undefined, label: string | undefined): string {
  if (label === undefined || type === undefined || !LABELED_FS.has(type)) return data;
  return data ? `${data},context="${label}"` : `context="${label}"`;
}

// sysfs can be mounted only by the owner of the network namespace: a
// container with a user namespace but the host's network gets the host's
// /sys bound read-only instead, as runc does.
const SYSFS_BIND: NativeMount = {
  source: '/sys', destination: '/sys', flags: 0, propagation: 0, kind: 1, recursive: true, destIsFile: false,
  attrSet: MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOEXEC,
};

function bindsSysfs(cfg: ResolvedConfig): boolean {
  return cfg.userns !== undefined && !cfg.namespaces.some((n) => n.type === 'network' && n.path === undefined);
}

/** A detached idmapped tree the parent makes (lib/launch/userns.ts), in the order the plan indexes them. */
export interface IdmappedTree {
  source: string;
  recursive: boolean;
  attrSet: number;
  propagation: number;
  idmapRecursive: boolean;
}

/** The rootfs first (root.idmap), then each idmapped mount in order. */
export function idmappedTrees(cfg: ResolvedConfig): IdmappedTree[] {
  const trees: IdmappedTree[] = [];
  if (cfg.rootfsIdmap) trees.push({ source: cfg.rootfs, recursive: true, attrSet: 0, propagation: 0, idmapRecursive: true });
  for (const m of cfg.mounts) {
    if (!m.idmap) continue;
    trees.push({ source: m.source!, recursive: m.recursive, attrSet: m.attrSet, propagation: m.propagation, idmapRecursive: m.idmap.recursive });
  }
  return trees;
}

function mountPlan(cfg: ResolvedConfig, host: HostFacts, cgroupPaths: readonly string[]): { mounts: NativeMount[]; links: Array<{ target: string; path: string }>; readonly: string[] } {
  const out: NativeMount[] = [];
  const links: Array<{ target: string; path: string }> = [];
  const readonly: string[] = [];
  let tree = cfg.rootfsIdmap ? 1 : 0;
  for (const m of cfg.mounts) {
    let type = m.type;
    if (type === 'sysfs' && !m.bind && bindsSysfs(cfg)) {
      out.push({ ...SYSFS_BIND, destination: m.destination });
      continue;
    }
    const data = m.bind ? m.data : withMountLabel(m.data, type, cfg.mountLabel);
    if ((type === 'cgroup' || type === 'cgroup2') && !m.bind) {
      if (host.cgroups.layout !== 'v2') {
        const v1 = v1CgroupMounts(m, host, cgroupPaths);
        out.push(...v1.mounts);
        links.push(...v1.links);
        readonly.push(...v1.readonly);
        continue;
      }
      type = 'cgroup2';
    }
    out.push({
      ...(m.source !== undefined ? { source: m.source } : {}),
      destination: m.destination,
      ...(type !== undefined ? { type } : {}),
      ...(data ? { data } : {}),
      flags: m.flags,
      attrSet: m.attrSet,
      propagation: m.propagation,
      kind: m.bind ? 1 : 0,
      recursive: m.recursive,
      destIsFile: m.destIsFile,
      ...(m.idmap ? { tree: tree++ } : {}),
    });
  }
  return { mounts: out, links, readonly };
}

/** A compiled seccomp filter (lib/seccomp/compile.ts), as the plan carries it. */
export interface SeccompFilter {
  program: Buffer;
  flags: number;
}

function seccompPlan(filter: SeccompFilter | null | undefined): Pick<NativePlan, 'seccompFilter' | 'seccompFlags'> {
  return filter ? { seccompFilter: filter.program, seccompFlags: filter.flags } : {};
}

/**
 * A user namespace. The init: clone3 makes no namespace; berth-init does the
 * host's part of its setup (v1 cgroups, rlimits, oom_score_adj) as it is, then
 * makes the user namespace (or joins the one given by path), becomes its root
 * and unshares the rest, so they belong to it; a new pid or time namespace
 * then needs the fork. An exec: joins through the pidfd (the kernel enters
 * the user namespace first); its rlimits are set by the parent (userns.ts)
 * before it goes on, since they may exceed what the container's root may set.
 */
function withUserns(cfg: ResolvedConfig, plan: NativePlan, inputs: { init: boolean; userFd?: number }): NativePlan {
  if (!cfg.userns) return plan;
  // Where setgroups(2) is denied (a rootless caller's own gid map) it fails
  // with EPERM: the process keeps the groups it has, as under runc rootless.
  const groups = cfg.userns.setgroups === 'deny' ? { setGroups: false } : {};
  if (!inputs.init) {
    const { oomScoreAdj: _setByParent, ...rest } = plan;
    return { ...rest, ...groups, waitForParent: true, rlimits: [] };
  }
  const nsFlags = plan.cloneFlags | (plan.unshareCgroupns ? CLONE_NS.cgroup : 0);
  const unshareFlags = nsFlags & ~CLONE_NS.user;
  const forks = plan.forkIntoPidns === true || (unshareFlags & (CLONE_NS.pid | CLONE_NS.time)) !== 0;
  return {
    ...plan,
    cloneFlags: 0,
    unshareCgroupns: false,
    unshareUserns: true,
    unshareFlags,
    ...(inputs.userFd !== undefined ? { userFd: inputs.userFd } : {}),
    ...groups,
    forkIntoPidns: forks,
    bindDevices: true,
    ...(cfg.rootfsIdmap ? { rootfsTree: 0 } : {}),
  };
}

export interface PlanInputs {
  host: HostFacts;
  /** The container's seccomp filter, null for none. */
  seccomp: SeccompFilter | null;
  fds: number[];
  joins: Array<{ fd: number; nstype: number }>;
  cgroupFd?: number;
  /** cgroup v1/hybrid: the child places itself, then makes its cgroup namespace. */
  placement?: ChildPlacement | null;
  /** run(): exec right after READY (no start() round trip). */
  execAfterReady?: boolean;
  /** A user namespace joined by path: its fd (not among `joins`: it is entered after the host's part of the setup). */
  userFd?: number;
  /** Detached: the listening start socket (lib/container/detach.ts). */
  startFd?: number;
  /** Stop before pivot_root for the create hooks (MSG_HOOKS); 2: dumpable meanwhile (a rootless caller's pasta opens its namespaces). */
  hooksPause?: boolean | 2;
  /** The container's cgroup directories (v1/hybrid: one per hierarchy), bound into a `cgroup` mount (cgroup-mounts.ts). */
  cgroupPaths?: readonly string[];
}

export function containerPlan(cfg: ResolvedConfig, inputs: PlanInputs): NativePlan {
  let cloneFlags = 0;
  for (const ns of cfg.namespaces) if (ns.path === undefined) cloneFlags |= CLONE_NS[ns.type];
  // With offsets, berth-init makes the time namespace itself (clone3's is
  // entered at once, and its offsets are then fixed at zero).
  if (cfg.timeOffsets) cloneFlags &= ~CLONE_NS.time;
  const lateCgroupNs = !!inputs.placement && (cloneFlags & CLONE_NS.cgroup) !== 0;
  if (lateCgroupNs) cloneFlags &= ~CLONE_NS.cgroup;
  // A joined mount namespace is set up like a new one (rootfs, mounts, pivot_root),
  // as runc does: joining one by path hands it to this container.
  const mountNs = cfg.namespaces.some((n) => n.type === 'mount');
  const hasDevTmpfs = cfg.mounts.some((m) => m.destination === '/dev' && !m.bind);
  const mounts = mountNs ? mountPlan(cfg, inputs.host, inputs.cgroupPaths ?? []) : { mounts: [], links: [], readonly: [] };
  const devices = hasDevTmpfs ? DEFAULT_DEVICES.map((d) => ({ path: d.path, mode: S_IFCHR | 0o666, major: d.major, minor: d.minor, uid: 0, gid: 0 })) : [];
  for (const d of cfg.devices) {
    const kind = d.type === 'b' ? S_IFBLK : d.type === 'p' ? S_IFIFO : S_IFCHR;
    const entry = { path: d.path, mode: kind | d.fileMode, major: d.major, minor: d.minor, uid: d.uid, gid: d.gid };
    const at = devices.findIndex((x) => x.path === d.path);
    if (at >= 0) devices[at] = entry;
    else devices.push(entry);
  }
  return withUserns(cfg, {
    cloneFlags,
    joins: inputs.joins,
    ...(inputs.cgroupFd !== undefined && inputs.cgroupFd >= 0 ? { cgroupFd: inputs.cgroupFd } : {}),
    ...(inputs.placement
      ? {
          cgroupDirs: inputs.placement.dirs,
          cgroupWrites: inputs.placement.writes.map((w) => ({ path: w.path, value: w.value, optional: w.optional === true })),
          cgroupProcs: inputs.placement.procs,
        }
      : {}),
    unshareCgroupns: lateCgroupNs,
    setupRootfs: mountNs,
    rootfs: cfg.rootfs,
    ...overlayPlan(cfg.layers),
    rootfsPropagation: cfg.rootfsPropagation,
    readonlyRoot: cfg.readonlyRoot,
    mounts: mounts.mounts,
    devices: mountNs ? devices : [],
    links: [...(mountNs && hasDevTmpfs ? DEFAULT_DEV_LINKS.map((l) => ({ ...l })) : []), ...mounts.links],
    masked: mountNs ? cfg.maskedPaths : [],
    readonly: mountNs ? [...cfg.readonlyPaths, ...mounts.readonly] : [],
    sysctls: Object.entries(cfg.sysctl).map(([k, v]) => ({ path: `/proc/sys/${k.replace(/\./g, '/')}`, value: v })),
    ...(cfg.hostname !== undefined ? { hostname: cfg.hostname } : {}),
    ...(cfg.domainname !== undefined ? { domainname: cfg.domainname } : {}),
    loopbackUp: (cloneFlags & CLONE_NS.network) !== 0,
    ...processPlan(cfg.process, inputs.host),
    ...taskPlan(cfg),
    ...(initForks(cfg) ? { forkIntoPidns: true } : {}),
    ...(cfg.timeOffsets ? { timeOffsets: timensOffsetsText(cfg.timeOffsets) } : {}),
    ...seccompPlan(inputs.seccomp),
    fds: inputs.fds,
    parentDeathSignal: cfg.dieWithParent ? os.constants.signals.SIGKILL : 0,
    execAfterReady: inputs.execAfterReady === true,
    ...(inputs.startFd !== undefined ? { startFd: inputs.startFd } : {}),
    ...(inputs.hooksPause && mountNs ? { hooksPause: inputs.hooksPause === 2 ? 2 : true } : {}),
  }, { init: true, ...(inputs.userFd !== undefined ? { userFd: inputs.userFd } : {}) });
}

export interface ExecInputs {
  host: HostFacts;
  /** The exec'd process's filter (the container's unless its config brings one), null for none. */
  seccomp: SeccompFilter | null;
  fds: number[];
  joinPidfd: number;
  joinRootFd: number;
  cgroupFd?: number;
  /** An OCI hook in the container: execve this file (not a lookup of args[0]). */
  execPath?: string;
}

/** An exec joins every namespace of the running init and its root; nothing is mounted. */
export function execPlan(cfg: ResolvedConfig, proc: ResolvedProcess, inputs: ExecInputs): NativePlan {
  let joinNsFlags = 0;
  for (const ns of cfg.namespaces) joinNsFlags |= CLONE_NS[ns.type];
  return withUserns(cfg, {
    cloneFlags: 0,
    joins: [],
    joinPidfd: inputs.joinPidfd,
    joinNsFlags,
    joinRootFd: inputs.joinRootFd,
    ...(inputs.cgroupFd !== undefined && inputs.cgroupFd >= 0 ? { cgroupFd: inputs.cgroupFd } : {}),
    setupRootfs: false,
    rootfs: cfg.rootfs,
    rootfsPropagation: 0,
    readonlyRoot: false,
    mounts: [],
    devices: [],
    links: [],
    masked: [],
    readonly: [],
    sysctls: [],
    loopbackUp: false,
    ...processPlan(proc, inputs.host),
    ...taskPlan(cfg),
    ...(proc.execCPUAffinity?.initial ? { cpuAffinityInitial: maskWords(proc.execCPUAffinity.initial) } : {}),
    ...(proc.execCPUAffinity?.final ? { cpuAffinityFinal: maskWords(proc.execCPUAffinity.final) } : {}),
    ...seccompPlan(inputs.seccomp),
    ...(inputs.execPath !== undefined ? { execPath: inputs.execPath } : {}),
    fds: inputs.fds,
    parentDeathSignal: cfg.dieWithParent ? os.constants.signals.SIGKILL : 0,
  }, { init: false });
}
