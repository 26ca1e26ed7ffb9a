// What this kernel can do, where config validation needs to know before
// anything is created: which namespace types exist, which CPUs and NUMA nodes
// can ever be online, whether set_mempolicy knows MPOL_WEIGHTED_INTERLEAVE.
// Each is read once: none of them changes while the system runs.
import fs from 'node:fs';
import type { LinuxNamespaceType } from '../../types/oci.js';
import { parseCpuList } from './cgroup-info.js';

const NS_PROC_NAME: Record<LinuxNamespaceType, string> = {
  mount: 'mnt', network: 'net', pid: 'pid', ipc: 'ipc', uts: 'uts', user: 'user', cgroup: 'cgroup', time: 'time',
};

const nsCache = new Map<LinuxNamespaceType, boolean>();

/** Whether the kernel has this namespace type (CONFIG_*_NS): /proc/self/ns/<name> exists. */
export function kernelHasNamespace(type: LinuxNamespaceType): boolean {
  let has = nsCache.get(type);
  if (has === undefined) {
    has = fs.existsSync(`/proc/self/ns/${NS_PROC_NAME[type]}`);
    nsCache.set(type, has);
  }
  return has;
}

function possible(file: string): Set<number> {
  try {
    return new Set(parseCpuList(fs.readFileSync(file, 'utf8')) ?? [0]);
  } catch {
    return new Set([0]); // no NUMA (or no sysfs): exactly one of each
  }
}

let cpus: Set<number> | undefined;
let nodes: Set<number> | undefined;

/** CPUs that can ever be online here (hot-plug included). */
export function possibleCpus(): Set<number> {
  cpus ??= possible('/sys/devices/system/cpu/possible');
  return cpus;
}

/** NUMA memory nodes that can ever be online here. */
export function possibleNodes(): Set<number> {
  nodes ??= possible('/sys/devices/system/node/possible');
  return nodes;
}

let weighted: boolean | undefined;

/** MPOL_WEIGHTED_INTERLEAVE (6.9+) comes with its sysfs weights. */
export function kernelHasWeightedInterleave(): boolean {
  weighted ??= fs.existsSync('/sys/kernel/mm/mempolicy/weighted_interleave');
  return weighted;
}
