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

/** Path segments of the container's cgroup, e.g. ['berth', 'web1']. Throws ConfigError on traversal. */
export function cgroupSegments(id: string, cgroupsPath?: string, field = 'linux.cgroupsPath'): string[] {
  if (cgroupsPath === undefined || cgroupsPath === '') {
    if (!id || id.includes('/') || id === '.' || id === '..' || id.includes('\0')) {
      throw new ConfigError('id', `container id "${id}" cannot name a cgroup`);
    }
    return [DEFAULT_PARENT, id];
  }
  if (typeof cgroupsPath !== 'string') throw new ConfigError(field, 'must be a string');
  if (cgroupsPath.includes('\0')) throw new ConfigError(field, 'must not contain NUL');
  const segments = cgroupsPath.split('/').filter((s) => s !== '');
  if (segments.length === 0) throw new ConfigError(field, 'must name a cgroup below the mount root, not the root itself');
  for (const s of segments) {
    if (s === '.' || s === '..') throw new ConfigError(field, `must not contain "${s}" components`);
    // A cgroupfs directory name that collides with a control file would be refused
    // by the kernel anyway; refusing it here keeps the error a config error.
    if (s.includes('\n')) throw new ConfigError(field, 'must not contain newlines');
  }
  return segments;
}
