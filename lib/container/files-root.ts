// The container's root as a directory fd, for copyIn/copyOut: what its
// processes see when its init lives (/proc/<pid>/root: the overlay, its
// volumes and mounts, in its own mount namespace); once it is stopped, its
// overlay (the image's layers and its writable layer) as a detached mount
// that no namespace sees, or its rootfs directory. Every path below it is then
// opened with openat2(RESOLVE_IN_ROOT) (native openInRoot), and the ids of its
// user namespace, if any, are translated both ways.
import fs from 'node:fs';
import path from 'node:path';
import type { IdMapping } from '../config/userns.js';
import { type ResolvedLayers, lowerdirPlus } from '../config/rootfs.js';
import { CopyError } from '../errors.js';
import { native } from '../native/addon.js';
import { processStatus } from '../state/state-dir.js';

export const O_PATH = 0o10000000;
export const O_DIRECTORY = fs.constants.O_DIRECTORY;
export const O_NOFOLLOW = fs.constants.O_NOFOLLOW;

export interface FilesSource {
  id: string;
  /** The init's pid while it lives (checked again after the root is opened), else undefined. */
  livePid: () => number | undefined;
  rootfs: string;
  layers?: ResolvedLayers;
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
}

export interface ContainerRoot {
  fd: number;
  /** Container id -> host id and back (identity without a user namespace; unmapped: 65534). */
  toHost: (uid: number, gid: number) => [number, number];
  toContainer: (uid: number, gid: number) => [number, number];
  close(): void;
}

const OVERFLOW = 65534;

function parseMap(text: string): IdMapping[] {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number))
    .filter((f) => f.length === 3 && f.every(Number.isFinite))
    .map(([containerID, hostID, size]) => ({ containerID, hostID, size }));
}

function mapper(maps: IdMapping[] | undefined, from: 'containerID' | 'hostID'): (id: number) => number {
  if (!maps || maps.length === 0) return (id) => id;
  const to = from === 'containerID' ? 'hostID' : 'containerID';
  return (id) => {
    const m = maps.find((x) => id >= x[from] && id < x[from] + x.size);
    return m ? m[to] + (id - m[from]) : OVERFLOW;
  };
}

/** The maps of a live init's user namespace ("0 0 4294967295" without one of its own). */
function liveMaps(pid: number): { uid: IdMapping[]; gid: IdMapping[] } | null {
  try {
    return { uid: parseMap(fs.readFileSync(`/proc/${pid}/uid_map`, 'utf8')), gid: parseMap(fs.readFileSync(`/proc/${pid}/gid_map`, 'utf8')) };
  } catch {
    return null;
  }
}

/** The pid, unless its process is gone or a zombie (whose /proc root is gone with its mount namespace). */
function alive(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  const st = processStatus(pid);
  return st && st.state !== 'Z' && st.state !== 'X' ? pid : undefined;
}

function openStopped(src: FilesSource): number {
  if (!src.layers) return fs.openSync(src.rootfs, O_PATH | O_DIRECTORY);
  const upper = path.join(src.layers.dir, 'upper');
  const work = path.join(src.layers.dir, 'work');
  // A volatile overlay leaves this marker, and overlayfs refuses the upper dir
  // again until it is gone (Documentation/filesystems/overlayfs.rst, "Volatile mount").
  fs.rmSync(path.join(work, 'work', 'incompat', 'volatile'), { recursive: true, force: true });
  return native.overlayMountFd(src.layers.lower, upper, work, lowerdirPlus());
}

export function openContainerRoot(src: FilesSource, containerPath: string): ContainerRoot {
  let fd = -1;
  let maps: { uid?: IdMapping[]; gid?: IdMapping[] } = { uid: src.uidMappings, gid: src.gidMappings };
  try {
    const pid = alive(src.livePid());
    if (pid !== undefined) {
      try {
        fd = fs.openSync(`/proc/${pid}/root`, O_PATH | O_DIRECTORY);
      } catch (err) {
        // It died between the check and the open (a zombie has no root): the stopped container's view, below.
        if (alive(src.livePid()) === pid) throw err;
      }
      const live = fd >= 0 ? liveMaps(pid) : null;
      // The pid checked again after the open: a recycled pid's root is not this container's.
      if (fd >= 0 && (alive(src.livePid()) !== pid || !live)) {
        fs.closeSync(fd);
        fd = -1;
      } else if (live) maps = live;
    }
    if (fd < 0) fd = openStopped(src);
  } catch (err) {
    if (fd >= 0) fs.closeSync(fd);
    const e = err as NodeJS.ErrnoException;
    throw new CopyError('COPY_FAILED', `cannot open the root of container ${src.id}: ${e.message}`, containerPath, {
      step: 'copy-root',
      ...(e.code ? { errno: e.code } : {}),
      ...(e.syscall ? { syscall: e.syscall } : {}),
      cause: err,
    });
  }
  const uidIn = mapper(maps.uid, 'containerID');
  const gidIn = mapper(maps.gid, 'containerID');
  const uidOut = mapper(maps.uid, 'hostID');
  const gidOut = mapper(maps.gid, 'hostID');
  let closed = false;
  return {
    fd,
    toHost: (u, g) => [uidIn(u), gidIn(g)],
    toContainer: (u, g) => [uidOut(u), gidOut(g)],
    close() {
      if (!closed) fs.closeSync(fd);
      closed = true;
    },
  };
}

/** A path in the container as the copies take it: absolute, normalized; anything else is COPY_INVALID. */
export function containerPathOf(p: unknown): string {
  if (typeof p !== 'string' || !p.startsWith('/') || p.includes('\0')) throw new CopyError('COPY_INVALID', `a container path is absolute, got ${JSON.stringify(p)}`, String(p), { step: 'validate', errno: 'EINVAL' });
  return path.posix.normalize(p);
}

/** /proc/self/fd/<fd>[/<name>]: a path the kernel resolves through the fd itself (the final name, if any, never followed by the calls used on it). */
export const viaFd = (fd: number, name?: string): string => (name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`);

/** A failed step of a copy, said for the container's path. */
export function copyFailed(err: unknown, step: string, containerPath: string): CopyError {
  if (err instanceof CopyError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = e?.code === 'ENOENT' ? 'COPY_NOT_FOUND' : 'COPY_FAILED';
  const why = e?.code ? `${e.syscall ?? step}: ${e.code}` : (e?.message ?? String(err));
  return new CopyError(code, `${step} ${containerPath} failed: ${why}`, containerPath, {
    step,
    ...(e?.code ? { errno: e.code } : {}),
    ...(e?.syscall ? { syscall: e.syscall } : {}),
    cause: err,
  });
}
