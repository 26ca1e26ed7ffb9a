// Where a container's cgroup lives, relative to each hierarchy's mount root.
//
// Policy: the default is `berth/<id>`, and linux.cgroupsPath — absolute OR relative —
// is also taken relative to the mount root. runc resolves a relative cgroupsPath
// against the *caller's* cgroup; we deliberately do not, because on the machines
// this runs on the calling Node process sits in a memory cgroup (/process_api/...)
// owned by the process supervisor, and a container nested there would be charged
// to, limited by and removable with the supervisor's cgroup. Anchoring at the mount
// root keeps every container in a tree berth owns.
import { ConfigError } from '../errors.js';

export const DEFAULT_PARENT = 'berth';

// The kernel puts its control files next to the child cgroups of a directory:
// a segment named like one either collides with the file (mkdir: EEXIST, after
// the parents were made) or shadows a file a later kernel or controller adds.
// So the core files and the whole `<controller>.` namespace are refused, on
// v1 and v2 alike (a name is valid or not whatever the host runs).
const CONTROL_FILES = new Set(['tasks', 'notify_on_release', 'release_agent']);
const CONTROL_PREFIXES = new Set([
  'cgroup', 'cpu', 'cpuacct', 'cpuset', 'memory', 'memsw', 'devices', 'freezer', 'blkio', 'io', 'pids',
  'hugetlb', 'net_cls', 'net_prio', 'perf_event', 'rdma', 'misc', 'irq', 'dmem',
]);
// kernfs node names, like any file name on Linux.
const NAME_MAX = 255;

/** Why the kernel (or a future one) would refuse `segment` as a cgroup directory name, or null. */
function refusedName(segment: string): string | null {
  if (segment === '.' || segment === '..') return `must not contain "${segment}" components`;
  if (segment.includes('\n')) return 'must not contain newlines';
  if (Buffer.byteLength(segment) > NAME_MAX) return `"${segment.slice(0, 32)}…" is longer than ${NAME_MAX} bytes`;
  const dot = segment.indexOf('.');
  if (CONTROL_FILES.has(segment) || (dot > 0 && CONTROL_PREFIXES.has(segment.slice(0, dot)))) {
    return `"${segment}" is (or could become) the name of a cgroup control file`;
  }
  return null;
}

/** Path segments of the container's cgroup, e.g. ['berth', 'web1']. Throws ConfigError for a name the kernel would refuse. */
export function cgroupSegments(id: string, cgroupsPath?: string, field = 'linux.cgroupsPath'): string[] {
  if (cgroupsPath === undefined || cgroupsPath === '') {
    if (!id || id.includes('/') || id.includes('\0')) throw new ConfigError('id', `container id "${id}" cannot name a cgroup`);
    const why = refusedName(id);
    if (why) throw new ConfigError('id', `container id "${id}" cannot name a cgroup: ${why}`);
    return [DEFAULT_PARENT, id];
  }
  if (typeof cgroupsPath !== 'string') throw new ConfigError(field, 'must be a string');
  if (cgroupsPath.includes('\0')) throw new ConfigError(field, 'must not contain NUL');
  const segments = cgroupsPath.split('/').filter((s) => s !== '');
  if (segments.length === 0) throw new ConfigError(field, 'must name a cgroup below the mount root, not the root itself');
  for (const s of segments) {
    const why = refusedName(s);
    if (why) throw new ConfigError(field, why);
  }
  return segments;
}
