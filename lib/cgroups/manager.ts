// The one interface every cgroup implementation (v2, v1/hybrid) provides.
// The launch path only talks to this; which implementation backs it is decided
// once per process by detectLayout() (lib/host/cgroup-layout.ts). Resources
// reach a manager validated (lib/config/resources.ts): it does not check again.
import type { LinuxResources } from '../../types/oci.js';
import type { CgroupLayout } from '../host/index.js';
import type { RemoveItem } from '../native/addon.js';

export interface CgroupStats {
  cpu: { usageUsec: number; userUsec: number; systemUsec: number; throttledUsec: number; nrThrottled: number };
  memory: { current: number; peak: number; limit: number | null; swapCurrent: number; oomEvents: number; oomKills: number };
  pids: { current: number; limit: number | null };
  io: { readBytes: number; writeBytes: number; readOps: number; writeOps: number };
}

/**
 * cgroup v1/hybrid has no CLONE_INTO_CGROUP: the new process places itself
 * (lib/launch -> native/child_cgroup.cc). Everything is decided here, as paths.
 */
export interface ChildPlacement {
  /** mkdir in this order; `leaf` dirs must not exist yet; `cpuset` dirs get cpus/mems seeded. */
  dirs: Array<{ path: string; leaf: boolean; cpuset: boolean }>;
  /** Limits, written after the mkdirs (EINVAL/EBUSY retried once at the end). */
  writes: Array<{ path: string; value: string; optional?: boolean }>;
  /** Every cgroup.procs the process writes "0" to. */
  procs: string[];
}

export interface CgroupManager {
  readonly layout: CgroupLayout;
  /** Absolute path of the container's cgroup in the unified (v2) tree, when there is one. */
  readonly unifiedPath: string | null;
  /** The container's own directory in every hierarchy it uses. */
  readonly paths: string[];
  /**
   * Those of `paths` this manager made (or, rebuilt from a state record, that
   * the record says the container made): what state.json records, and all that
   * killAll() and destroy() ever touch. Empty after a create that found its
   * cgroup existing: that one belongs to someone else.
   */
  readonly ownedPaths: string[];
  /** @internal Rebuilt from a state record (cgroupManagerForRecord): the recorded leaves are this container's own. */
  adoptRecorded(): void;
  /** Create every cgroup directory (remembering which ones it created) and apply resources. */
  create(resources: LinuxResources | undefined): Promise<void>;
  /** An O_PATH|O_DIRECTORY fd of the v2 cgroup for clone3(CLONE_INTO_CGROUP), or -1 when not possible. Caller closes it. */
  openIntoCgroupFd(): number;
  /**
   * v1/hybrid: instead of create() + addProcess(), the plan for the child to
   * place itself (validated now). null where the kernel places it (v2).
   * `ownershipMarker`: an existing empty file the child writes "1" to once it
   * made every leaf (only then are they its own), before anything else it
   * writes: how a state record tells, after its owner crashed mid-create,
   * whether the cgroups it names are the container's.
   */
  childPlacement(resources: LinuxResources | undefined, ownershipMarker?: string): Promise<ChildPlacement | null>;
  /** What the child reported it made ('1'/'0' per planned dir): those are ours to remove. */
  adoptChildCreated(created: string): void;
  /** Place a process in every hierarchy (v1: each controller; hybrid: also the unified tree). */
  addProcess(pid: number): Promise<void>;
  update(resources: LinuxResources): Promise<void>;
  stats(): Promise<CgroupStats>;
  freeze(timeoutMs?: number): Promise<void>;
  thaw(): Promise<void>;
  /** Host pids of every process in the cgroup. */
  pids(): Promise<number[]>;
  /**
   * Kill every process in the cgroups this manager owns (v2 cgroup.kill; v1
   * freeze-kill-thaw, which also ends a paused container: a task frozen by the
   * v1 freezer gets no SIGKILL until thawed) and wait until they are empty.
   */
  killAll(): Promise<void>;
  /** Number of OOM kills recorded for this cgroup so far. */
  oomKillCount(): Promise<number>;
  /** Calls cb each time the OOM killer fires in this cgroup; returns a function that stops watching. */
  watchOom(cb: () => void): () => void;
  /**
   * Remove every directory this manager owns, deepest first, leaving parents it
   * did not create (and non-empty ones). `after` are removed in the same
   * thread-pool job, after them (destroy() passes the state directory's
   * files: the record goes last, for one round trip); resolves to their errnos.
   */
  destroy(after?: RemoveItem[]): Promise<number[]>;
}
