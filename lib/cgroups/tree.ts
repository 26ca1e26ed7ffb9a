// Creating and removing a container's cgroup directories in one hierarchy, remembering
// exactly which ones we made: berth never removes a cgroup it did not create.
import { mkdir } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import { CgroupError, errnoName } from '../errors.js';
import { native, type RemoveItem } from '../native/addon.js';
import { isErrno, readOptional, readText, toCgroupError, writeText } from './fsio.js';
import { makeRoom } from './caller-leaf.js';
import { busyParentRefusal, type MovePolicy } from './ci-layout.js';

const { ENOENT, EBUSY, ENOTEMPTY } = constants.errno;
import { DEFAULT_PARENT } from './paths.js';

/**
 * mkdir each level of `segments` under `mount`; returns the directories this call created,
 * shallowest first. The leaf must not exist: an existing leaf is someone else's cgroup
 * (or a container with the same id), and we must not adopt it.
 * `onCreated` runs right after each mkdir (v1 cpuset needs its values copied down before
 * the next level can be used), and also on each parent that already existed: another
 * create (this process or another) may have just made it and not yet seeded it.
 */
export async function createDirs(
  mount: string,
  segments: string[],
  onCreated?: (dir: string) => Promise<void>,
): Promise<string[]> {
  const created: string[] = [];
  // A concurrent destroy() of another container can rmdir a shared parent (the `berth`
  // dir) between our EEXIST and the mkdir below it; start over a few times when that happens.
  for (let attempt = 0; ; attempt++) {
    let raced = false;
    for (let i = 1; i <= segments.length; i++) {
      const dir = join(mount, ...segments.slice(0, i));
      const leaf = i === segments.length;
      try {
        await mkdir(dir);
        created.push(dir);
        if (onCreated) await onCreated(dir);
      } catch (err) {
        if (isErrno(err, 'EEXIST') && !leaf) {
          // berth's own shared parent is removed by whichever container leaves it
          // empty (removeDirs only removes parents that are empty), so none lingers.
          if (i === 1 && segments[0] === DEFAULT_PARENT && segments.length === 2) created.push(dir);
          // A parent a concurrent create made a moment ago may still have an empty v1
          // cpuset; a child seeded from it stays empty and refuses tasks (ENOSPC).
          // Seeding is idempotent and only fills empty values.
          if (onCreated) {
            try {
              await onCreated(dir);
            } catch (e) {
              // Removed meanwhile by a concurrent destroy(): start over, as for mkdir.
              // (ENODEV: a file of a cgroup being removed right now.)
              const errno = (e as { errno?: string }).errno;
              if ((errno === 'ENOENT' || errno === 'ENODEV') && attempt < 3) {
                raced = true;
                break;
              }
              await removeDirs(created, join(mount, ...segments)).catch(() => undefined);
              throw e;
            }
          }
          continue;
        }
        if (isErrno(err, 'ENOENT') && attempt < 3) {
          raced = true;
          break;
        }
        // Undo what this call made before reporting, so a failed create leaves nothing.
        await removeDirs(created, join(mount, ...segments)).catch(() => undefined);
        if (isErrno(err, 'EEXIST')) throw cgroupExistsError(dir);
        throw toCgroupError('create', err, dir, `cannot create cgroup ${dir}`);
      }
    }
    if (!raced) return created;
  }
}

/**
 * What a manager rebuilt from a state record may remove: the container's own
 * cgroup and, for the default `berth/<id>`, berth's shared parent (only ever
 * removed when empty). Parents of a custom cgroupsPath are not recorded and stay.
 */
export function adoptedDirs(mount: string, segments: string[]): string[] {
  const leaf = join(mount, ...segments);
  return segments.length === 2 && segments[0] === DEFAULT_PARENT ? [join(mount, DEFAULT_PARENT), leaf] : [leaf];
}

/** A leaf that exists already is another container's (same id, other state root) or not berth's at all. */
export function cgroupExistsError(dir: string): CgroupError {
  return new CgroupError({
    step: 'create',
    path: dir,
    errno: 'EEXIST',
    syscall: 'mkdir',
    message: `cgroup ${dir} already exists (another container with this id or cgroupsPath, or a cgroup berth did not create); berth will not adopt it`,
  });
}

/** The directories one hierarchy's create made, and the container's own cgroup (the leaf) there. */
export interface CreatedDirs {
  created: string[];
  leaf: string;
}

/**
 * rmdir the given directories deepest first, in one thread-pool job (native
 * removePaths). The container's own cgroup (`leaf`, when this create made it)
 * is retried on EBUSY while its last processes finish exiting; the others are
 * parents (berth's shared one, or those of a cgroupsPath) and are removed only
 * if empty (ENOTEMPTY/EBUSY there means another container, at once).
 */
export async function removeDirs(created: string[], leaf: string, busyTimeoutMs = 3000, after: RemoveItem[] = []): Promise<number[]> {
  return removeDirGroups([{ created, leaf }], busyTimeoutMs, after);
}

/**
 * removeDirs for several trees (one per v1 hierarchy) in the same single
 * thread-pool job, then `after` (see CgroupManager.destroy; their errnos are
 * the result); throws the first failure after every path was tried.
 */
export async function removeDirGroups(groups: CreatedDirs[], busyTimeoutMs = 3000, after: RemoveItem[] = []): Promise<number[]> {
  const items: Array<{ path: string; dir: true; busyMs: number; leaf: boolean }> = [];
  for (const { created, leaf } of groups) {
    // Which one is the leaf is said, never guessed from length: when the leaf
    // was not ours (EEXIST), the deepest of `created` is a busy parent, and
    // waiting out its EBUSY took 3 s per hierarchy.
    for (const path of [...created].sort((a, b) => b.length - a.length)) {
      const isLeaf = path === leaf;
      items.push({ path, dir: true, busyMs: isLeaf ? busyTimeoutMs : 0, leaf: isLeaf });
    }
  }
  if (items.length + after.length === 0) return [];
  // Not synchronously: nine rmdirs on cgroupfs measured ~0.7 ms of the event
  // loop per container (more than the round trip to a worker thread).
  const results = await native.removePaths([...items, ...after]);
  items.forEach(({ path, leaf }, i) => {
    const errno = results[i]!;
    if (errno === 0 || errno === ENOENT) return;
    if (!leaf && (errno === EBUSY || errno === ENOTEMPTY)) return;
    const code = errnoName(errno);
    throw new CgroupError({ step: 'destroy', path, errno: code, syscall: 'rmdir', message: `cannot remove cgroup ${path}: ${code}` });
  });
  return results.slice(items.length);
}

/**
 * rmdir each leaf that is empty (waiting up to busyMs for its last processes
 * to leave), then each parent that is empty; one that stays busy or holds
 * children is left alone. Never kills: for cgroups a record names but cannot
 * prove were made by berth (an owner that died between mkdir and saying so).
 */
export async function removeIfEmpty(leaves: string[], parents: string[], busyMs: number): Promise<void> {
  const items = [
    ...leaves.map((path) => ({ path, dir: true, busyMs })),
    ...[...new Set(parents)].map((path) => ({ path, dir: true, busyMs: 0 })),
  ];
  if (items.length > 0) await native.removePaths(items);
}

/**
 * In a v2 tree, enables controllers in cgroup.subtree_control of every ancestor
 * of the container's cgroup, from the mount root down to its parent — never in
 * the container's own cgroup, which holds processes (the no-internal-processes
 * rule). Each of `wanted` is tried; a failure is an error only for those in
 * `needed` (an ancestor we do not own may not have a controller delegated).
 *
 * An ancestor that holds processes (below the real root, which the rule
 * exempts: the root of a CI container's cgroup namespace) first gets them
 * moved into a leaf (caller-leaf.ts: berth's own process; all with
 * BERTH_CGROUP_MOVE=all). If some stay, nothing is enabled there: even a
 * threaded controller (cpu, cpuset, pids) would make it a thread root, and
 * then no cgroup below it could hold a process (clone3 EOPNOTSUPP). Limits
 * that need a controller there are refused, saying why. A failed call turns
 * off again every controller it turned on; calls are serialized in this
 * process, so that never takes one from a concurrent create.
 */
export function enableSubtreeControllers(mount: string, segments: string[], wanted: Iterable<string>, needed: Set<string>, policy: MovePolicy = 'caller'): Promise<void> {
  const run = enabling.then(() => enableLocked(mount, segments, [...wanted], needed, policy));
  enabling = run.catch(() => undefined);
  return run;
}

let enabling: Promise<unknown> = Promise.resolve();

async function enableLocked(mount: string, segments: string[], wanted: string[], needed: Set<string>, policy: MovePolicy): Promise<void> {
  const turnedOn: Array<{ dir: string; c: string }> = [];
  try {
    for (let i = 0; i < segments.length; i++) {
      const dir = join(mount, ...segments.slice(0, i));
      const available = (await readText(join(dir, 'cgroup.controllers'), 'enable-controllers')).split(/\s+/);
      const enabled = new Set((await readText(join(dir, 'cgroup.subtree_control'), 'enable-controllers')).split(/\s+/));
      const missing = [...needed].find((c) => !enabled.has(c) && !available.includes(c));
      if (missing) {
        throw new CgroupError({ step: 'enable-controllers', path: join(dir, 'cgroup.controllers'), errno: 'ENOENT', message: `the ${missing} controller is not available in ${dir}` });
      }
      const toEnable = wanted.filter((c) => !enabled.has(c) && available.includes(c));
      if (toEnable.length === 0) continue;
      // The real root has no cgroup.type and may hold processes (the rule exempts it).
      if (i > 0 || (await readOptional(join(dir, 'cgroup.type'))) !== null) {
        const room = await makeRoom(dir, policy);
        if (room.stay.length > 0) {
          const refused = toEnable.filter((c) => needed.has(c));
          if (refused.length > 0) {
            throw new CgroupError({ step: 'enable-controllers', path: dir, errno: 'EBUSY', message: busyParentRefusal(dir, refused, room.stay, room.callerMoved) });
          }
          continue;
        }
      }
      for (const c of toEnable) {
        try {
          await writeText(join(dir, 'cgroup.subtree_control'), `+${c}`, 'enable-controllers');
          turnedOn.push({ dir, c });
        } catch (err) {
          if (needed.has(c)) throw err;
        }
      }
    }
  } catch (err) {
    // Deepest first: a parent refuses to drop a controller a child still hands down.
    for (const { dir, c } of turnedOn.reverse()) {
      await writeText(join(dir, 'cgroup.subtree_control'), `-${c}`, 'enable-controllers').catch(() => undefined);
    }
    throw err;
  }
}
