// Applying a list of converted writes to cgroup files.
import { join } from 'node:path';
import { CgroupError } from '../errors.js';
import type { CgroupWrite } from './convert.js';
import { isErrno, writeText } from './fsio.js';

/**
 * Writes in order. Some pairs of files constrain each other (v1 memsw >= limit, cpuset
 * vs. cfs period/quota ranges), so the right order depends on the current values; instead of
 * reading them first, a write the kernel refuses with EINVAL/EBUSY is retried once after
 * all others. A second failure is final and carries the file and errno.
 * `dirFor` maps a write's controller to its directory, or null when that controller is
 * not mounted here.
 */
export async function applyWrites(writes: CgroupWrite[], dirFor: (controller: string) => string | null, step: string): Promise<void> {
  const deferred: Array<{ w: CgroupWrite; path: string }> = [];
  for (const w of writes) {
    const dir = dirFor(w.controller);
    if (dir === null) {
      if (w.optional) continue;
      throw new CgroupError({ step, errno: 'ENOENT', message: `cannot set ${w.file}: the ${w.controller} cgroup controller is not available on this host` });
    }
    const path = join(dir, w.file);
    try {
      await writeText(path, w.value, step);
    } catch (err) {
      const cause = (err as CgroupError).cause;
      if (w.optional && isErrno(cause, 'ENOENT')) continue;
      if (isErrno(cause, 'EINVAL', 'EBUSY')) {
        deferred.push({ w, path });
        continue;
      }
      throw err;
    }
  }
  for (const { path, w } of deferred) await writeText(path, w.value, step);
}
