// Facts about the host the launch path depends on, read in one place (once per
// process) and passed down: config and plan stay pure functions of their inputs.
import { capLast } from './capabilities.js';
import { type CgroupHierarchies, detectLayoutSync } from './cgroup-layout.js';

export interface HostFacts {
  /** /proc/sys/kernel/cap_last_cap. */
  capLast: number;
  /** The cgroup hierarchies mounted here (layout, mount points). */
  cgroups: CgroupHierarchies;
}

let cached: HostFacts | undefined;

export function hostFacts(): HostFacts {
  cached ??= { capLast: capLast(), cgroups: detectLayoutSync() };
  return cached;
}

export { capLast } from './capabilities.js';
export { type CgroupHierarchies, type CgroupLayout, V1_CONTROLLERS, detectLayout, detectLayoutSync, parseMountinfo, readHierarchies } from './cgroup-layout.js';
export { type HostLsms, hostLsms } from './lsm.js';
export { kernelHasNamespace, kernelHasWeightedInterleave, possibleCpus, possibleNodes } from './kernel-features.js';
export { type HostCgroupInfo, normalizePageSize, pageSizeName, parseCpuList, readHostCgroupInfo } from './cgroup-info.js';
