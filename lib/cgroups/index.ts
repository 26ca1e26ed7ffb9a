// Entry point of the cgroup subsystem: layout detection (once per process) and the
// factory that picks the manager implementation for it.
import type { CgroupManager } from './manager.js';
import { type CgroupHierarchies, type CgroupLayout, detectLayoutSync } from '../host/index.js';
import { cgroupSegments } from './paths.js';
import { CgroupV1Manager } from './v1.js';
import { CgroupV2Manager } from './v2.js';
import { CgroupError } from '../errors.js';

export type { CgroupManager, CgroupStats, ChildPlacement } from './manager.js';
export type { CgroupWrite } from './convert.js';
export { cgroupSegments, DEFAULT_PARENT } from './paths.js';
export { sharesToWeight, blkioWeightToIoWeight, cpuMax, swapMaxV2, v1Writes, v2Writes, mergeResources } from './convert.js';

export interface CreateCgroupManagerOptions {
  /** Container id: the default cgroup is `berth/<id>` below each hierarchy's mount root. */
  id: string;
  /** OCI linux.cgroupsPath; absolute or relative, always taken relative to the mount root (see paths.ts). */
  cgroupsPath?: string;
  /**
   * Override detection. A layout name forces that implementation on this host's mounts:
   * 'v2' on a hybrid host drives the cgroup2 tree at /sys/fs/cgroup/unified alone (tests use this).
   */
  layout?: CgroupLayout | CgroupHierarchies;
}

/**
 * Returns a manager for one container. Throws ConfigError for an unusable id/cgroupsPath;
 * nothing touches the filesystem until create(). Detection (a read of
 * /proc/self/mountinfo) happens synchronously the first time, then is cached.
 */
export function createCgroupManager(opts: CreateCgroupManagerOptions): CgroupManager {
  const segments = cgroupSegments(opts.id, opts.cgroupsPath);
  let h: CgroupHierarchies;
  if (opts.layout === undefined) h = detectLayoutSync();
  else if (typeof opts.layout === 'string') {
    const detected = detectLayoutSync();
    if (opts.layout === 'v2') {
      if (!detected.unifiedMount) throw new CgroupError({ step: 'detect', errno: 'ENOENT', message: 'no cgroup2 hierarchy is mounted' });
      h = { layout: 'v2', unifiedMount: detected.unifiedMount, v1: {} };
    } else if (opts.layout === 'v1') {
      h = { layout: 'v1', unifiedMount: null, v1: detected.v1 };
    } else {
      h = { ...detected, layout: 'hybrid' };
    }
  } else h = opts.layout;
  if (h.layout === 'v2') return new CgroupV2Manager(h.unifiedMount!, segments);
  return new CgroupV1Manager(h, segments);
}

