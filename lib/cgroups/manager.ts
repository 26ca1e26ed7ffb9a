// The one interface every cgroup implementation (v2, v1/hybrid) provides.
// The launch path only talks to this; which implementation backs it is decided
// once per process by detectLayout() (see ./detect.ts).
import type { LinuxResources } from '../../types/oci.js';

export type CgroupLayout = 'v2' | 'hybrid' | 'v1';

export interface CgroupStats {
  cpu: { usageUsec: number; userUsec: number; systemUsec: number; throttledUsec: number; nrThrottled: number };
  memory: { current: number; peak: number; limit: number | null; swapCurrent: number; oomEvents: number; oomKills: number };
  pids: { current: number; limit: number | null };
  io: { readBytes: number; writeBytes: number; readOps: number; writeOps: number };
}

export interface CgroupManager {
  readonly layout: CgroupLayout;
  /** Absolute path of the container's cgroup in the unified (v2) tree, when there is one. */
  readonly unifiedPath: string | null;
  /** Create every cgroup directory (remembering which ones it created) and apply resources. */
  create(resources: LinuxResources | undefined): Promise<void>;
  /** An O_PATH|O_DIRECTORY fd of the v2 cgroup for clone3(CLONE_INTO_CGROUP), or -1 when not possible. Caller closes it. */
  openIntoCgroupFd(): number;
  /** Place a process in every hierarchy (v1: each controller; hybrid: also the unified tree). */
  addProcess(pid: number): Promise<void>;
  update(resources: LinuxResources): Promise<void>;
  stats(): Promise<CgroupStats>;
  freeze(timeoutMs?: number): Promise<void>;
  thaw(): Promise<void>;
  /** Host pids of every process in the cgroup. */
  pids(): Promise<number[]>;
  /** Kill every process in the cgroup (v2 cgroup.kill; v1 freeze-kill-thaw) and wait until empty. */
  killAll(): Promise<void>;
  /** Number of OOM kills recorded for this cgroup so far. */
  oomKillCount(): Promise<number>;
  /** Calls cb each time the OOM killer fires in this cgroup; returns a function that stops watching. */
  watchOom(cb: () => void): () => void;
  /** Remove every directory create() made, deepest first, leaving parents it did not create. */
  destroy(): Promise<void>;
}
