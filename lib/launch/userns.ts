// The parent's half of a user namespace: while berth-init waits (it does
// nothing until CONTINUE), the maps are written, and so is what needs the
// host's privileges, which the container's root does not have: rlimits above
// the current hard limit (CAP_SYS_RESOURCE in the initial namespace) and a
// lower oom_score_adj. runc sets these from the parent too.
import fs from 'node:fs';
import type { ResolvedProcess } from '../config/process.js';
import { type ResolvedUserns, mapText } from '../config/userns.js';
import { SetupError, errnoName } from '../errors.js';
import { RLIMITS } from '../kernel/abi.js';
import { native } from '../native/addon.js';
import { writeMapsWithHelpers } from './idmap-helpers.js';
import type { IdmappedTree } from './plan.js';

const RLIM_INFINITY = 0xffffffffffffffffn;

function writeProc(pid: number, file: string, text: string, what: string): void {
  const path = `/proc/${pid}/${file}`;
  try {
    fs.writeFileSync(path, text);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SetupError('user-namespace', `cannot write ${what} to ${path}: ${code ?? err}`, { ...(code ? { errno: code } : {}), syscall: 'write', path });
  }
}

/**
 * uid_map, then gid_map: as root in the parent namespace the writer has
 * CAP_SETUID/CAP_SETGID there, so any map is allowed and setgroups stays
 * "allow" (deny is only required of a writer without CAP_SETGID, and would
 * make the container's setgroups() fail).
 */
export async function writeIdMaps(pid: number, userns: ResolvedUserns): Promise<void> {
  // A caller without root in the initial namespace may map only itself, and
  // its gid only with setgroups denied (user_namespaces(7)); the ranges
  // /etc/subuid grants go through the setuid helpers.
  if (userns.setgroups === 'deny') writeProc(pid, 'setgroups', 'deny', 'setgroups "deny"');
  else if (process.geteuid?.() !== 0) return writeMapsWithHelpers(pid, userns);
  writeProc(pid, 'uid_map', mapText(userns.uidMappings), 'the uid map');
  writeProc(pid, 'gid_map', mapText(userns.gidMappings), 'the gid map');
}

/**
 * The idmapped trees, made once the maps exist: each a detached clone of its
 * source with the container's user namespace as its idmapping. Returns their
 * fds (the caller sends them to berth-init and closes them); on a failure
 * closes what it made and throws a SetupError naming the mount.
 */
export function makeIdmappedTrees(pid: number, trees: IdmappedTree[]): number[] {
  if (!trees.length) return [];
  const nsPath = `/proc/${pid}/ns/user`;
  let userns: number;
  try {
    userns = fs.openSync(nsPath, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SetupError('mount', `cannot open the container's user namespace ${nsPath}: ${code}`, { ...(code ? { errno: code } : {}), syscall: 'open', path: nsPath });
  }
  const fds: number[] = [];
  try {
    for (const t of trees) {
      try {
        fds.push(native.idmappedTree(t.source, userns, t.recursive, t.attrSet, t.propagation, t.idmapRecursive));
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        // EINVAL from mount_setattr: the filesystem cannot be idmapped (or the tree holds one that cannot, with ridmap).
        const why = e.code === 'EINVAL' && e.syscall === 'mount_setattr' ? ' (the filesystem does not support idmapped mounts?)' : '';
        throw new SetupError('mount', `cannot make an idmapped mount of ${t.source}: ${e.syscall ?? 'syscall'}: ${e.code}${why}`, {
          ...(e.code ? { errno: e.code } : {}),
          ...(e.syscall ? { syscall: e.syscall } : {}),
          path: t.source,
        });
      }
    }
    return fds;
  } catch (err) {
    for (const fd of fds) native.close(fd);
    throw err;
  } finally {
    fs.closeSync(userns);
  }
}

export function applyHostLimits(pid: number, proc: ResolvedProcess): void {
  for (const r of proc.rlimits) {
    const value = (v: number) => (v >= Number.MAX_SAFE_INTEGER ? RLIM_INFINITY : BigInt(v));
    const err = native.prlimit(pid, RLIMITS[r.type], value(r.soft), value(r.hard));
    if (err !== 0) throw new SetupError('rlimits', `prlimit64 ${r.type} of the container process: ${errnoName(err)}`, { errno: errnoName(err), syscall: 'prlimit64' });
  }
  if (proc.oomScoreAdj !== undefined) writeProc(pid, 'oom_score_adj', String(proc.oomScoreAdj), 'oom_score_adj');
}
