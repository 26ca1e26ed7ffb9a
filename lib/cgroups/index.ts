// Entry point of the cgroup subsystem: layout detection (once per process) and the
// factory that picks the manager implementation for it.
import type { CgroupManager } from './manager.js';
import { type CgroupHierarchies, type CgroupLayout, detectLayoutSync } from '../host/index.js';
import { basename, dirname, join, normalize, relative } from 'node:path';
import { DEFAULT_PARENT, cgroupSegments } from './paths.js';
import { removeIfEmpty } from './tree.js';
import { CgroupV1Manager } from './v1.js';
import { CgroupV2Manager } from './v2.js';
import { CgroupError, ConfigError } from '../errors.js';
import { accessSync, constants as fsConstants, readFileSync } from 'node:fs';
import { delegatedBase, hierarchyMounts, readOnlyHierarchy, readOnlyRefusal, rootlessRefusal } from './ci-layout.js';
import { NoCgroupManager } from './none.js';

export type { CgroupManager, CgroupStats, ChildPlacement } from './manager.js';
export type { CgroupWrite } from './convert.js';
export { cgroupSegments, DEFAULT_PARENT } from './paths.js';
export { cgroupExistsError } from './tree.js';
export { CALLER_LEAF, MOVE_ENV } from './ci-layout.js';
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


export interface ContainerCgroupOptions {
  id: string;
  cgroupsPath?: string;
  /** ResolvedConfig.resourceFields: the linux.resources fields the caller set. */
  resourceFields?: string[];
  /** Whether the container has a pid namespace of its own (not joined, not the host's). */
  ownPidNamespace: boolean;
}

// access(2) answers EROFS for a read-only mount, including a bind the
// mountinfo options of the hierarchy's own mount do not show. Asked once per
// process and mount, as the layout is.
const writableCache = new Map<string, boolean>();
function writable(mount: string): boolean {
  let ok = writableCache.get(mount);
  if (ok === undefined) {
    try {
      accessSync(mount, fsConstants.W_OK);
      ok = true;
    } catch (err) {
      ok = (err as NodeJS.ErrnoException).code !== 'EROFS';
    }
    writableCache.set(mount, ok);
  }
  return ok;
}

/**
 * The manager for a new container: createCgroupManager's on a writable tree.
 * Where a hierarchy berth would write to is read-only (a CI job container),
 * a container that asks for nothing a cgroup gives runs without one; one that
 * sets linux.resources or linux.cgroupsPath is refused here, before anything
 * exists, naming the fields and the read-only hierarchy. So is one without a
 * pid namespace of its own: without a cgroup nothing else could end all its processes.
 */
export function cgroupManagerForContainer(opts: ContainerCgroupOptions): CgroupManager {
  const h = detectLayoutSync();
  const euid = process.geteuid?.() ?? 0;
  if (euid !== 0) return rootlessManager(h, euid, opts);
  const ro = readOnlyHierarchy(h, writable);
  if (ro === null) return createCgroupManager({ id: opts.id, ...(opts.cgroupsPath !== undefined ? { cgroupsPath: opts.cgroupsPath } : {}) });
  cgroupSegments(opts.id, opts.cgroupsPath);
  const fields = [...(opts.resourceFields ?? []), ...(opts.cgroupsPath !== undefined ? ['linux.cgroupsPath'] : [])];
  if (fields.length > 0) throw new CgroupError({ step: 'create', path: ro, errno: 'EROFS', message: readOnlyRefusal(ro, fields) });
  refuseWithoutPidNamespace(opts, ro, 'EROFS', 'is read-only');
  return new NoCgroupManager(h.layout, ro);
}

function refuseWithoutPidNamespace(opts: ContainerCgroupOptions, mount: string, errno: string, says: string): void {
  if (opts.ownPidNamespace) return;
  throw new CgroupError({
    step: 'create',
    path: mount,
    errno,
    message: `the cgroup hierarchy ${mount} ${says}, so the container would run without a cgroup, and then only a pid namespace of its own lets berth end all its processes; linux.namespaces has no new pid namespace`,
  });
}

/** A rootless caller's v2 cgroup when it may write it (delegated), as /proc/self/cgroup names it below the mount. */
function delegatedSubtree(mount: string): string | null {
  let own: string | undefined;
  try {
    own = /^0::(.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1];
  } catch {
    return null;
  }
  const base = own === undefined ? null : delegatedBase(own);
  if (base === null) return null;
  const dir = join(mount, base);
  try {
    // Delegation hands the directory and these files to the user (systemd's Delegate=yes, cgroups(7)).
    for (const f of ['', 'cgroup.procs', 'cgroup.subtree_control']) accessSync(join(dir, f), fsConstants.W_OK);
  } catch {
    return null;
  }
  return dir;
}

/**
 * Not root: containers go below the caller's own cgroup where it is a
 * delegated v2 subtree (the caller moves into its leaf there, as in a CI
 * container's namespace root), else without a cgroup, and resources are refused.
 */
function rootlessManager(h: CgroupHierarchies, euid: number, opts: ContainerCgroupOptions): CgroupManager {
  const segments = cgroupSegments(opts.id, opts.cgroupsPath);
  const base = h.layout === 'v2' && h.unifiedMount && !(h.readOnly ?? []).includes(h.unifiedMount) ? delegatedSubtree(h.unifiedMount) : null;
  if (base !== null) return new CgroupV2Manager(base, segments);
  const mount = hierarchyMounts(h)[0] ?? '/sys/fs/cgroup';
  const fields = [...(opts.resourceFields ?? []), ...(opts.cgroupsPath !== undefined ? ['linux.cgroupsPath'] : [])];
  if (fields.length > 0) throw new CgroupError({ step: 'create', path: mount, errno: 'EACCES', message: rootlessRefusal(mount, euid, fields) });
  const says = `is not writable by uid ${euid} (no subtree delegated to it)`;
  refuseWithoutPidNamespace(opts, mount, 'EACCES', says);
  return new NoCgroupManager(h.layout, mount, { errno: 'EACCES', says });
}

/**
 * A manager for the cgroups a state record says are a container's own
 * (state.json `cgroupPaths`), so that another process ends and removes a
 * container with the owner's own killAll() and destroy(). null when nothing is
 * recorded. A path outside this host's cgroup hierarchies, or paths that do not
 * name one cgroup, are refused: a record is data, never a licence to kill.
 */
/**
 * A record's planned cgroups whose creation was never confirmed (the owner died
 * between the mkdir and saying so): each is removed only if empty, with berth's
 * own shared parent when that empties too; nothing is killed, since another
 * container could own a cgroup of that name. Paths are checked as for
 * cgroupManagerForRecord.
 */
export async function removeUnconfirmedCgroups(paths: string[] | undefined): Promise<void> {
  const m = cgroupManagerForRecord(paths);
  if (!m) return;
  const parents = m.paths.map((p) => dirname(p)).filter((p) => basename(p) === DEFAULT_PARENT);
  // Long enough for a dying init to leave, short when a live one holds it.
  await removeIfEmpty(m.paths, parents, 1000);
}

export function cgroupManagerForRecord(paths: string[] | undefined): CgroupManager | null {
  if (!paths || paths.length === 0) return null;
  const h = detectLayoutSync();
  const mounts = [...new Set([...Object.values(h.v1), ...(h.unifiedMount ? [h.unifiedMount] : [])])];
  const used = new Set<string>();
  let rel: string | null = null;
  for (const p of paths) {
    const refuse = (why: string) => new CgroupError({ step: 'load', path: String(p), errno: 'EINVAL', message: `state records cgroup ${String(p)}, which ${why}` });
    if (typeof p !== 'string' || normalize(p) !== p) throw refuse('is not a normalized path');
    const mount = mounts.filter((m) => p.startsWith(`${m}/`)).sort((a, b) => b.length - a.length)[0];
    if (!mount) throw refuse('is not in a cgroup hierarchy of this host');
    const r = relative(mount, p);
    try {
      cgroupSegments('record', r);
    } catch (err) {
      throw refuse(`cannot be a container cgroup (${(err as ConfigError).message})`);
    }
    if (rel !== null && r !== rel) throw refuse(`is not the same cgroup as ${join(mounts[0]!, rel)} in another hierarchy`);
    rel = r;
    used.add(mount);
  }
  const segments = rel!.split('/');
  let m: CgroupManager;
  if (h.layout === 'v2') m = new CgroupV2Manager(h.unifiedMount!, segments);
  else {
    // Only the hierarchies the record names: the others are not the container's.
    const v1 = Object.fromEntries(Object.entries(h.v1).filter(([, mount]) => used.has(mount)));
    const unifiedMount = h.unifiedMount && used.has(h.unifiedMount) ? h.unifiedMount : null;
    m = new CgroupV1Manager({ layout: h.layout, unifiedMount, v1 }, segments);
  }
  m.adoptRecorded();
  return m;
}
