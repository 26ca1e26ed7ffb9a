// Docker's volume copy-up: an empty volume mounted where the container's root
// filesystem has a directory gets that directory's files first (so an image's
// VOLUME /var/lib/db starts with the image's files there). Read from the
// layers as overlayfs would show them, without mounting anything
// (lib/image/layer-files.ts): whiteouts and opaque directories honoured,
// symlinks in the path followed inside the image's root only. Owners, modes,
// times, xattrs (not overlay's own), hard links, symlinks, device nodes and
// fifos are kept; sockets are not (a socket file means nothing once its
// listener is gone).
import fs from 'node:fs';
import path from 'node:path';
import { entryComponents, resolveInRoot } from '../image/entry-path.js';
import { lookupInLayers, mergedLookup } from '../image/layer-files.js';
import { devNumbers, imageXattr } from '../image/layer-tar.js';
import { native } from '../native/addon.js';

/** Names of the merged directory at `components` (whatever some layer has; lookupInLayers decides what shows). */
function mergedNames(layers: readonly string[], components: readonly string[]): string[] {
  const names = new Set<string>();
  for (const layer of layers) {
    try {
      for (const n of fs.readdirSync(path.join(layer, ...components))) names.add(n);
    } catch {
      // not a directory in this layer
    }
  }
  return [...names].sort();
}

function copyXattrs(from: string, to: string): void {
  for (const [k, v] of Object.entries(native.lgetxattrs(from))) {
    if (imageXattr(k)) native.lsetxattr(to, k, v);
  }
}

function copyMeta(from: string, st: fs.Stats, to: string): void {
  fs.lchownSync(to, st.uid, st.gid);
  if (!st.isSymbolicLink()) fs.chmodSync(to, st.mode & 0o7777);
  copyXattrs(from, to);
  fs.lutimesSync(to, st.atime, st.mtime);
}

/**
 * Copies what `layers` (lowest first) show at `containerPath` into `dest` (an
 * existing empty directory). Nothing when the path is absent or not a
 * directory there. `dest` takes the source directory's owner and mode.
 */
export function copyUpInto(layers: readonly string[], containerPath: string, dest: string): void {
  const lookup = mergedLookup(layers);
  const resolved = resolveInRoot('/', entryComponents(containerPath), lookup, true);
  const top = resolved.split('/').filter(Boolean);
  const root = lookupInLayers(layers, top);
  if (!root || !root.stat.isDirectory()) return;
  const links = new Map<string, string>();
  const walk = (components: string[], to: string): void => {
    for (const name of mergedNames(layers, components)) {
      const c = [...components, name];
      const hit = lookupInLayers(layers, c);
      if (!hit) continue; // a whiteout, or hidden by an opaque directory
      const { hostPath, stat: st } = hit;
      const target = path.join(to, name);
      if (st.isDirectory()) {
        fs.mkdirSync(target);
        walk(c, target);
        copyMeta(hostPath, st, target);
        continue;
      }
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? links.get(key) : undefined;
      if (first !== undefined) {
        fs.linkSync(first, target);
        continue;
      }
      if (st.isFile()) fs.copyFileSync(hostPath, target, fs.constants.COPYFILE_FICLONE);
      else if (st.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(hostPath), target);
      else if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
        const { major, minor } = devNumbers(st.rdev);
        native.mknod(target, st.mode, major, minor);
      }
      else continue;
      if (st.nlink > 1) links.set(key, target);
      copyMeta(hostPath, st, target);
    }
  };
  walk(top, dest);
  copyMeta(root.hostPath, root.stat, dest);
}
