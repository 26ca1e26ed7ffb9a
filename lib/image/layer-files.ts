// A file of an image, read from its stored layers as overlayfs would show it
// (without mounting anything): the top-most layer that has the path wins; a
// whiteout (a 0:0 character device) in a layer hides the path below it; an
// opaque directory (trusted.overlay.opaque or user.overlay.opaque = y) hides
// everything below it in lower layers; a non-directory hides a lower
// directory of the same name. Symlinks are followed in that merged view, never
// out of it (`..` and absolute targets stop at the image's root), so
// /etc/passwd -> ../usr/share/passwd finds the right file of the right layer.
import fs from 'node:fs';
import path from 'node:path';
import { native } from '../native/addon.js';
import { entryComponents, resolveInRoot, type Lookup } from './entry-path.js';
import { OPAQUE_XATTR, isOverlayWhiteout } from './whiteout.js';

const USER_OPAQUE_XATTR = 'user.overlay.opaque';

function lstat(p: string): fs.Stats | null {
  try {
    return fs.lstatSync(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw err;
  }
}

function opaque(p: string): boolean {
  const x = native.lgetxattrs(p);
  return x[OPAQUE_XATTR]?.toString() === 'y' || x[USER_OPAQUE_XATTR]?.toString() === 'y';
}

/**
 * The host path and stat of exactly `components` (no symlink followed) in the
 * merged view of `layers` (lowest first), or null when the merged view has
 * nothing there.
 */
export function lookupInLayers(layers: readonly string[], components: readonly string[]): { hostPath: string; stat: fs.Stats } | null {
  if (components.length === 0) {
    const top = layers[layers.length - 1];
    return top === undefined ? null : { hostPath: top, stat: fs.lstatSync(top) };
  }
  for (let i = layers.length - 1; i >= 0; i--) {
    let p = layers[i];
    let hidesBelow = false;
    let absent = false;
    for (const [j, c] of components.entries()) {
      p = path.join(p, c);
      const st = lstat(p);
      if (st === null) {
        absent = true;
        break;
      }
      if (isOverlayWhiteout(st)) return null;
      if (j === components.length - 1) return { hostPath: p, stat: st };
      // A parent that is not a directory here hides whatever lower layers have below it.
      if (!st.isDirectory()) return null;
      if (opaque(p)) hidesBelow = true;
    }
    if (absent && hidesBelow) return null;
  }
  return null;
}

/** A Lookup (entry-path.ts) over the merged view, with `/` as the image's root. */
export function mergedLookup(layers: readonly string[]): Lookup {
  const parts = (p: string) => p.split('/').filter(Boolean);
  return {
    kind(p) {
      const r = lookupInLayers(layers, parts(p));
      if (!r) return null;
      return r.stat.isDirectory() ? 'dir' : r.stat.isSymbolicLink() ? 'symlink' : 'other';
    },
    readlink(p) {
      const r = lookupInLayers(layers, parts(p));
      if (!r) throw new Error(`${p} vanished`);
      return fs.readlinkSync(r.hostPath);
    },
  };
}

/**
 * Where `file` (a path in the image, e.g. /etc/passwd) is: the host path of
 * the regular file in the top-most layer that shows it, symlinks followed in
 * the image's own root; null when the image has no such regular file.
 */
export function findInLayers(layers: readonly string[], file: string): string | null {
  const resolved = resolveInRoot('/', entryComponents(file), mergedLookup(layers), true);
  const r = lookupInLayers(layers, resolved.split('/').filter(Boolean));
  return r && r.stat.isFile() ? r.hostPath : null;
}

/** The contents of `file` in the image (see findInLayers), at most maxBytes (default 4 MiB); null when absent. */
export function readFileInLayers(layers: readonly string[], file: string, maxBytes = 4 << 20): Buffer | null {
  const p = findInLayers(layers, file);
  if (p === null) return null;
  const fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const size = fs.fstatSync(fd).size;
    if (size > maxBytes) throw new Error(`${file} in the image is ${size} bytes, more than the ${maxBytes} read`);
    const buf = Buffer.alloc(size);
    let off = 0;
    while (off < size) {
      const n = fs.readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } finally {
    fs.closeSync(fd);
  }
}

/** /etc/passwd and /etc/group of the image (what resolveContainerDefaults takes), each undefined when the image has none. */
export function readUserFiles(layers: readonly string[]): { passwd?: string; group?: string } {
  const passwd = readFileInLayers(layers, '/etc/passwd');
  const group = readFileInLayers(layers, '/etc/group');
  return { ...(passwd ? { passwd: passwd.toString('utf8') } : {}), ...(group ? { group: group.toString('utf8') } : {}) };
}
