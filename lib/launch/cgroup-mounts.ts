// A `cgroup` mount on a v1/hybrid host, as runc makes it: a tmpfs at the
// destination, and in it each hierarchy's directory of the container's own
// cgroup bound at the hierarchy's name (memory, cpu,cpuacct, unified, …) with
// the mount's flags, the co-mounted names as symlinks (cpu -> cpu,cpuacct). A
// process inside reads its own limits at /sys/fs/cgroup/memory/memory.limit_in_bytes
// and can change nothing (read-only unless the mount says rw). On a pure v2
// host the mount is one cgroup2 filesystem (plan.ts).
import path from 'node:path';
import type { HostFacts } from '../host/index.js';
import { MOUNT_ATTR, MS } from '../kernel/abi.js';
import type { NativeMount } from '../native/addon.js';

export interface V1CgroupMounts {
  mounts: NativeMount[];
  links: Array<{ target: string; path: string }>;
  /** The tmpfs, made read-only after the binds in it exist (readonlyPaths). */
  readonly: string[];
}

/** The hierarchy mount point `dir` lies under, longest first (one hierarchy never holds another's mount). */
function hierarchyOf(dir: string, mountPoints: string[]): string | undefined {
  return mountPoints.filter((m) => dir === m || dir.startsWith(`${m}/`)).sort((a, b) => b.length - a.length)[0];
}

export function v1CgroupMounts(m: { destination: string; flags: number }, host: HostFacts, cgroupPaths: readonly string[]): V1CgroupMounts {
  const ro = (m.flags & MS.RDONLY) !== 0;
  const fsFlags = m.flags & (MS.NOSUID | MS.NODEV | MS.NOEXEC);
  const attrSet = (ro ? MOUNT_ATTR.RDONLY : 0) | MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOEXEC;
  const mounts: NativeMount[] = [
    { source: 'tmpfs', destination: m.destination, type: 'tmpfs', data: 'mode=755', flags: fsFlags, attrSet: 0, propagation: 0, kind: 0, recursive: false, destIsFile: false },
  ];
  const links: V1CgroupMounts['links'] = [];
  const points = [...new Set([...Object.values(host.cgroups.v1 ?? {}), ...(host.cgroups.unifiedMount ? [host.cgroups.unifiedMount] : [])])];
  const seen = new Set<string>();
  for (const dir of cgroupPaths) {
    const point = hierarchyOf(dir, points);
    if (point === undefined) continue;
    const name = path.basename(point);
    if (seen.has(name)) continue;
    seen.add(name);
    mounts.push({ source: dir, destination: path.posix.join(m.destination, name), flags: 0, attrSet, propagation: 0, kind: 1, recursive: false, destIsFile: false });
    // cpu,cpuacct is found as cpu and as cpuacct too.
    if (name.includes(',')) for (const part of name.split(',')) if (part && !seen.has(part)) links.push({ target: name, path: path.posix.join(m.destination, part) });
  }
  return { mounts, links, readonly: ro ? [m.destination] : [] };
}
