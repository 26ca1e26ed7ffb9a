// The container's root filesystem, in the forms a config can name it:
//   rootfs: '/srv/rootfs' (or root.path)      — that directory, bound as is;
//   rootfs: { path, overlay: true }            — that directory read-only under a
//                                                throwaway writable layer;
// The writable layer lives in the container's state directory (`layer/`:
// upper, work, and `root` where the union is mounted inside the container's
// mount namespace) and goes with it on destroy, so a code runner's template is
// never written to and nothing is left on the host.
import { realpathSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { hostPath, isObject, optBool } from './check.js';

/** An overlay rootfs: read-only layers (top-most first) under a writable one in `dir`. */
export interface ResolvedLayers {
  lower: string[];
  /** <stateRoot>/<id>/layer: upper/, work/ and root/ (the mount point) are made there by create. */
  dir: string;
  /** Throwaway: overlay skips every sync (the layer is removed with the container). */
  volatile: boolean;
}

export interface ResolvedRootfs {
  /** What the child pivots into: the given directory, or the overlay's mount point. */
  rootfs: string;
  layers?: ResolvedLayers;
}

/** fsconfig(2) copies at most 256 bytes of a string value: each layer is one "lowerdir+" value. */
const FSCONFIG_VALUE_MAX = 255;

export function layerDir(stateRoot: string, id: string): string {
  return path.join(stateRoot, id, 'layer');
}

function existingDir(given: string, base: string, field: string): string {
  const abs = path.resolve(base, given);
  try {
    // Sync: a few µs of metadata lookups; a thread-pool round trip each costs more.
    const real = realpathSync.native(abs);
    if (!statSync(real).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    return real;
  } catch (err) {
    throw new ConfigError(field, `root filesystem ${abs}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}

/** A layer directory as overlay's option parsing can take it (the mount(2) form splits on ':' and ','). */
export function checkLayerPath(dir: string, field: string): void {
  if (Buffer.byteLength(dir) > FSCONFIG_VALUE_MAX) throw new ConfigError(field, `layer path ${dir.slice(0, 80)}… is longer than the ${FSCONFIG_VALUE_MAX} bytes overlay takes per layer`);
  if (!lowerdirPlus() && /[:,\\]/.test(dir)) throw new ConfigError(field, `layer path ${dir} holds ':', ',' or '\\', which overlay's option string cannot carry on Linux < 6.8`);
}

/** fsconfig "lowerdir+" (one layer per call, no option-string limits): Linux 6.8 and later. */
export function lowerdirPlus(release = os.release()): boolean {
  const [major, minor] = release.split('.').map((n) => Number.parseInt(n, 10));
  return major! > 6 || (major === 6 && minor! >= 8);
}

/**
 * rootfs / root.path, resolved against the bundle (or the cwd). `id` and
 * `stateRoot` place an overlay's writable layer.
 */
export function normalizeRootfs(cfg: { rootfs?: unknown; root?: { path?: unknown } | undefined }, base: string, where: { id: string; stateRoot: string }): ResolvedRootfs {
  const given = cfg.rootfs;
  if (isObject(given)) {
    const known = new Set(['path', 'overlay']);
    for (const k of Object.keys(given)) if (!known.has(k)) throw new ConfigError(`rootfs.${k}`, 'is not a rootfs field (path, overlay)');
    if (cfg.root?.path !== undefined) throw new ConfigError('rootfs', 'and root.path both name the root filesystem: give one');
    const lower = existingDir(hostPath(given.path, 'rootfs.path'), base, 'rootfs.path');
    const overlay = optBool(given.overlay, 'rootfs.overlay') ?? false;
    if (!overlay) return { rootfs: lower };
    checkLayerPath(lower, 'rootfs.path');
    const dir = layerDir(where.stateRoot, where.id);
    checkLayerPath(path.join(dir, 'upper'), 'stateRoot');
    return { rootfs: path.join(dir, 'root'), layers: { lower: [lower], dir, volatile: true } };
  }
  const field = given !== undefined ? 'rootfs' : 'root.path';
  const raw = given !== undefined ? given : cfg.root?.path;
  if (raw === undefined) throw new ConfigError(cfg.root ? 'root.path' : 'rootfs', 'a root filesystem is required (rootfs or root.path)');
  return { rootfs: existingDir(hostPath(raw, field), base, field) };
}
