// One layer blob -> one directory in overlay form, hashing as it goes: the
// blob's sha256 (its descriptor digest) and the uncompressed tar's (its diffID).
// Every name goes through entry-path.ts, so nothing lands outside `dir`;
// whiteouts become what overlayfs reads (whiteout.ts). Ownership and device
// nodes need root: without it files keep the caller's ids and devices are
// skipped (a rootless overlay could not use them either).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { native } from '../native/addon.js';
import { AutoDecompress } from './decompress.js';
import { entryComponents, isInside, resolveInRoot, type Lookup } from './entry-path.js';
import { extract, type TarEntry, type TarHeader } from './tar.js';
import { SplitRecorder } from './tar-split.js';
import { OPAQUE_XATTR, classifyTarName } from './whiteout.js';

export interface UnpackResult {
  digest: string; // sha256 of the blob as stored
  diffId: string; // sha256 of the uncompressed tar
  blobBytes: number;
  size: number; // bytes of file content in the layer
  entries: number;
  /** `path: xattr` of the layer's xattrs the store's filesystem refused (ENOTSUP). */
  droppedXattrs: string[];
  /** Whether opts.split was written and can regenerate the tar (false: no split asked, or the layer lost content a record names). */
  split: boolean;
}

/** A malformed or hostile entry: `entry` names it. */
export class LayerEntryError extends Error {
  constructor(readonly entry: string, message: string, cause?: unknown) {
    super(`entry "${entry}": ${message}`, cause === undefined ? undefined : { cause });
  }
}

class Hasher extends Transform {
  readonly hash = crypto.createHash('sha256');
  bytes = 0;
  constructor(private readonly onBytes?: (n: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.onBytes?.(chunk.length);
    cb(null, chunk);
  }
}

const lookup: Lookup = {
  kind(p) {
    try {
      const st = fs.lstatSync(p);
      return st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  },
  readlink: (p) => fs.readlinkSync(p),
};

const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

interface DirMeta {
  path: string;
  mode: number;
  mtime?: Date;
}

/** What place() needs besides the entry, and what it reports back. */
interface UnpackState {
  root: string;
  asRoot: boolean;
  dirs: DirMeta[];
  droppedXattrs: string[];
  /** The file entry's content is about to be written to `rel` (the tar-split's record of it). */
  onContent?: (rel: string) => void;
  /** `rel` (a directory when wasDir) was removed or replaced. */
  onRemoved?: (rel: string, wasDir: boolean) => void;
}

/** Whether place() writes this entry's data into a file of the layer (what a tar-split leaves out). */
function contentGoesToFile(h: TarHeader): boolean {
  if (!(h.type === 'file' || h.type === 'contiguous-file' || h.type == null) || !(h.size! > 0)) return false;
  try {
    const parts = entryComponents(h.name);
    return parts.length > 0 && classifyTarName(parts[parts.length - 1]).kind === 'entry';
  } catch {
    return false; // place() refuses the entry
  }
}

/**
 * Unpacks `blob` into `dir`. With opts.split, also writes the layer's
 * tar-split (tar-split.ts) there: the tar without the contents of the files
 * now in `dir`, enough to regenerate it byte for byte.
 */
export async function unpackLayer(blob: Readable, dir: string, opts: { asRoot: boolean; onBytes?: (n: number) => void; split?: string }): Promise<UnpackResult> {
  const blobHash = new Hasher(opts.onBytes);
  const tarHash = new Hasher();
  const ex = extract();
  const state: UnpackState = { root: dir, asRoot: opts.asRoot, dirs: [], droppedXattrs: [] };
  const dirs = state.dirs;
  const recorder = opts.split ? new SplitRecorder(opts.split) : null;
  let size = 0;
  let entries = 0;

  const consume = async () => {
    for await (const entry of ex) {
      entries++;
      try {
        if (recorder) {
          const h = entry.header;
          // Where this entry's data starts in the tar: tar-stream's offset is its (last) header block's.
          const start = typeof h.byteOffset === 'number' ? h.byteOffset : entry.offset + 512;
          const length = h.type === 'directory' ? 0 : (h.size ?? 0);
          if (contentGoesToFile(h)) {
            recorder.meta(start);
            state.onContent = (rel) => recorder.record(start, length, rel);
          } else {
            recorder.meta(start + length);
            state.onContent = undefined;
          }
          state.onRemoved = (rel, wasDir) => recorder.removed(rel, wasDir);
        }
        size += await place(entry, state);
      } catch (err) {
        entry.resume();
        if (err instanceof LayerEntryError) throw err;
        throw new LayerEntryError(entry.header.name, (err as Error).message, err);
      }
    }
  };
  const piping = recorder ? pipeline(blob, blobHash, new AutoDecompress(), tarHash, recorder, ex) : pipeline(blob, blobHash, new AutoDecompress(), tarHash, ex);
  const consuming = consume();
  const results = await Promise.allSettled([piping, consuming]);
  // The entry's own error first: when it stops the loop, the pipeline only sees a premature close.
  const failed = (results[1].status === 'rejected' ? results[1] : results[0].status === 'rejected' ? results[0] : undefined) as PromiseRejectedResult | undefined;
  if (failed) {
    if (!blob.destroyed) blob.destroy();
    await recorder?.abort();
    throw failed.reason;
  }
  let split = false;
  if (recorder) {
    try {
      const r = await recorder.finish(`sha256:${tarHash.hash.copy().digest('hex')}`);
      split = recorder.valid && r.size === tarHash.bytes;
    } catch (err) {
      await recorder.abort();
      throw err;
    }
    if (!split) await fs.promises.rm(recorder.path, { force: true });
  }
  // Directory modes and times last: a 0555 directory must still take its
  // children, and creating them moves its mtime.
  dirs.sort((a, b) => b.path.length - a.path.length);
  for (const d of dirs) {
    fs.chmodSync(d.path, d.mode);
    if (d.mtime) fs.utimesSync(d.path, d.mtime, d.mtime);
  }
  return { digest: `sha256:${blobHash.hash.digest('hex')}`, diffId: `sha256:${tarHash.hash.digest('hex')}`, blobBytes: blobHash.bytes, size, entries, droppedXattrs: state.droppedXattrs, split };
}

/** mkdir -p of a path resolveInRoot produced (no symlinks left in it). */
function ensureDirs(root: string, target: string): void {
  const rel = path.relative(root, target);
  if (rel === '') return;
  let p = root;
  for (const c of rel.split('/')) {
    p = path.join(p, c);
    const kind = lookup.kind(p);
    if (kind === null) fs.mkdirSync(p, 0o755);
    else if (kind !== 'dir') throw new Error(`${path.relative(root, p)} is not a directory`);
  }
}

function removeExisting(p: string, keepDir: boolean, st: UnpackState): boolean {
  const kind = lookup.kind(p);
  if (kind === null) return false;
  if (kind === 'dir' && keepDir) return true;
  st.onRemoved?.(path.relative(st.root, p), kind === 'dir');
  fs.rmSync(p, { recursive: true, force: true });
  return false;
}

function applyOwnerAndXattrs(p: string, h: TarHeader, st: UnpackState): void {
  const asRoot = st.asRoot;
  if (asRoot) fs.lchownSync(p, h.uid ?? 0, h.gid ?? 0);
  for (const [k, v] of Object.entries(h.pax ?? {})) {
    if (!k.startsWith('SCHILY.xattr.')) continue;
    const name = k.slice('SCHILY.xattr.'.length);
    // trusted.overlay.* in a layer would let the image forge whiteouts or
    // redirects of its own: only the store writes those. (tar-stream hands
    // pax values over as UTF-8 text, so a binary value such as
    // security.capability does not survive the round trip.)
    if (name.startsWith('trusted.overlay.')) continue;
    if (!asRoot && !name.startsWith('user.')) continue;
    try {
      native.lsetxattr(p, name, Buffer.from(v, 'utf8'));
    } catch (err) {
      // A store on a filesystem without (user.*) xattrs, e.g. tmpfs before
      // Linux 6.6: the file is still usable, as Docker's and containerd's
      // unpackers decide; the caller hears of it (import.ts warns) rather
      // than losing the whole image.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
      st.droppedXattrs.push(`${path.relative(st.root, p)}: ${name}`);
    }
  }
}

async function writeFile(p: string, entry: TarEntry): Promise<void> {
  const fd = fs.openSync(p, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
  await pipeline(entry, fs.createWriteStream('', { fd, autoClose: true }));
}

/** Puts one entry in place; the content bytes it wrote. */
async function place(entry: TarEntry, st: UnpackState): Promise<number> {
  const { root, dirs } = st;
  const h = entry.header;
  const parts = entryComponents(h.name);
  const mode = (h.mode ?? 0o644) & 0o7777;
  if (parts.length === 0) {
    if (h.type !== 'directory') throw new Error('names the layer root');
    dirs.push({ path: root, mode, ...(h.mtime ? { mtime: h.mtime } : {}) });
    entry.resume();
    return 0;
  }
  const base = parts[parts.length - 1];
  const parent = resolveInRoot(root, parts.slice(0, -1), lookup, true);
  if (!isInside(root, parent)) throw new Error('resolves outside the layer');
  ensureDirs(root, parent);
  const name = classifyTarName(base);
  if (name.kind === 'opaque') {
    native.lsetxattr(parent, OPAQUE_XATTR, Buffer.from('y'));
    entry.resume();
    return 0;
  }
  if (name.kind === 'whiteout') {
    const target = path.join(parent, name.name);
    removeExisting(target, false, st);
    native.mknod(target, S_IFCHR, 0, 0);
    entry.resume();
    return 0;
  }
  const target = path.join(parent, base);
  switch (h.type) {
    case 'directory': {
      if (!removeExisting(target, true, st)) fs.mkdirSync(target, 0o700);
      applyOwnerAndXattrs(target, h, st);
      dirs.push({ path: target, mode, ...(h.mtime ? { mtime: h.mtime } : {}) });
      entry.resume();
      return 0;
    }
    case 'file':
    case 'contiguous-file':
    case null:
    case undefined: {
      removeExisting(target, false, st);
      st.onContent?.(path.relative(root, target));
      await writeFile(target, entry);
      applyOwnerAndXattrs(target, h, st);
      fs.chmodSync(target, mode); // after chown, which clears setuid/setgid
      if (h.mtime) fs.utimesSync(target, h.mtime, h.mtime);
      return h.size ?? 0;
    }
    case 'symlink': {
      entry.resume();
      if (!h.linkname) throw new Error('a symlink without a target');
      removeExisting(target, false, st);
      fs.symlinkSync(h.linkname, target);
      applyOwnerAndXattrs(target, h, st);
      if (h.mtime) fs.lutimesSync(target, h.mtime, h.mtime);
      return 0;
    }
    case 'link': {
      entry.resume();
      // The target is a path in this same layer, resolved like any name: a
      // hard link to a file of a lower layer or of the host cannot be made.
      const linkParts = entryComponents(h.linkname ?? '');
      if (linkParts.length === 0) throw new Error('a hard link to the layer root');
      const source = path.join(resolveInRoot(root, linkParts.slice(0, -1), lookup, true), linkParts[linkParts.length - 1]);
      if (!isInside(root, source)) throw new Error(`the hard link target "${h.linkname}" resolves outside the layer`);
      const kind = lookup.kind(source);
      if (kind === null) throw new Error(`the hard link target "${h.linkname}" is not in this layer`);
      if (kind === 'dir') throw new Error(`the hard link target "${h.linkname}" is a directory`);
      if (source === target) return 0;
      removeExisting(target, false, st);
      fs.linkSync(source, target);
      return 0;
    }
    case 'character-device':
    case 'block-device':
    case 'fifo': {
      entry.resume();
      if (h.type !== 'fifo' && !st.asRoot) return 0;
      removeExisting(target, false, st);
      const kind = h.type === 'fifo' ? S_IFIFO : h.type === 'block-device' ? S_IFBLK : S_IFCHR;
      native.mknod(target, kind | 0o600, h.devmajor ?? 0, h.devminor ?? 0);
      applyOwnerAndXattrs(target, h, st);
      fs.chmodSync(target, mode);
      if (h.mtime) fs.utimesSync(target, h.mtime, h.mtime);
      return 0;
    }
    default:
      entry.resume();
      throw new Error(`an entry of type ${h.type} is not supported`);
  }
}

