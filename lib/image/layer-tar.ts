// A stored layer back into a tar, two ways:
//  - from its tar-split (tar-split.ts): the very bytes that were imported, the
//    file contents read from the layer directory, so the tar hashes to the
//    diffID the image config names;
//  - canonically, from the directory alone (a layer without a split: stored by
//    an older berth, or whose split was void): a walk in name order, overlay
//    whiteouts (0:0 character devices) and the opaque xattr turned back into
//    `.wh.<name>` and `.wh..wh..opq` entries (as Docker's overlay2 driver writes
//    them), ownership, modes, times, xattrs, hard links, devices and fifos kept.
//    Deterministic for an unchanged directory, but its own bytes: a new diffID.
// Paths are walked without following symlinks; nothing outside the layer
// directory is read.
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { native } from '../native/addon.js';
import { pack, type TarHeader, type TarPack } from './tar.js';
import { readSplit } from './tar-split.js';
import { OPAQUE_MARKER, OPAQUE_XATTR, isOverlayWhiteout, tarWhiteoutName } from './whiteout.js';

export const USER_OPAQUE_XATTR = 'user.overlay.opaque';
const CHUNK = 1 << 20;

/** A layer directory that does not match what its split says (changed on disk, or a bug). */
export class LayerMismatchError extends Error {}

/** The size and diffID a split regenerates (its end record), read without touching the layer. */
export async function splitSummary(splitPath: string): Promise<{ size: number; diffId: string }> {
  let size = 0;
  for await (const r of readSplit(splitPath)) {
    if (r.kind === 'meta') size += r.bytes.length;
    else if (r.kind === 'file') size += r.size;
    else {
      if (r.size !== size) throw new Error(`${splitPath}: its records make ${size} bytes, its end says ${r.size}`);
      return { size, diffId: r.diffId };
    }
  }
  throw new Error(`${splitPath} has no end record`);
}

/** Opens `rel` inside root for reading: every parent a real directory (no symlink), the file itself a regular file. */
async function openInLayer(root: string, rel: string): Promise<fs.promises.FileHandle> {
  const parts = rel.split('/');
  if (parts.some((c) => c === '' || c === '.' || c === '..')) throw new LayerMismatchError(`the split names "${rel}", not a plain path`);
  let p = root;
  for (const [i, c] of parts.entries()) {
    p = path.join(p, c);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      throw new LayerMismatchError(`${rel} is missing from the layer`);
    }
    if (i < parts.length - 1 ? !st.isDirectory() : !st.isFile()) throw new LayerMismatchError(`${rel} is no longer a ${i < parts.length - 1 ? 'directory path' : 'regular file'} in the layer`);
  }
  return fs.promises.open(p, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
}

async function* splitBytes(root: string, splitPath: string): AsyncGenerator<Buffer> {
  for await (const r of readSplit(splitPath)) {
    if (r.kind === 'meta') yield r.bytes;
    else if (r.kind === 'file') {
      const fh = await openInLayer(root, r.path);
      try {
        const st = await fh.stat();
        if (st.size !== r.size) throw new LayerMismatchError(`${r.path} has ${st.size} bytes in the layer, its tar entry ${r.size}`);
        let left = r.size;
        while (left > 0) {
          const buf = Buffer.allocUnsafe(Math.min(CHUNK, left));
          const { bytesRead } = await fh.read(buf, 0, buf.length, r.size - left);
          if (bytesRead === 0) throw new LayerMismatchError(`${r.path} shrank while it was read`);
          left -= bytesRead;
          yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
        }
      } finally {
        await fh.close();
      }
    }
  }
}

/** The layer's original tar, from its split and its directory. */
export function splitLayerTar(root: string, splitPath: string): Readable {
  return Readable.from(splitBytes(root, splitPath), { objectMode: false });
}

/** Linux's dev_t encoding (glibc's gnu_dev_major/minor). */
export function devNumbers(rdev: number): { major: number; minor: number } {
  const r = BigInt(rdev);
  const major = Number(((r >> 8n) & 0xfffn) | ((r >> 32n) & ~0xfffn));
  const minor = Number((r & 0xffn) | ((r >> 12n) & ~0xffn));
  return { major, minor };
}

/** xattrs that belong to the host or to overlayfs, never to the image. */
export function imageXattr(name: string): boolean {
  return !name.startsWith('trusted.overlay.') && !name.startsWith('user.overlay.') && name !== 'security.selinux';
}

function paxOf(xattrs: Record<string, Buffer>): Record<string, string> | undefined {
  const pax: Record<string, string> = {};
  for (const name of Object.keys(xattrs).sort()) {
    // tar-stream writes pax values as UTF-8 text (and import.ts reads them so).
    if (imageXattr(name)) pax[`SCHILY.xattr.${name}`] = xattrs[name].toString('utf8');
  }
  return Object.keys(pax).length ? pax : undefined;
}

function addEntry(p: TarPack, header: TarHeader, data?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => p.entry(header, data ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve())));
}

async function addFile(p: TarPack, header: TarHeader, file: string, closed: Promise<never>): Promise<void> {
  const fh = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    let settle!: (err?: Error | null) => void;
    const done = new Promise<void>((resolve, reject) => (settle = (err) => (err ? reject(err) : resolve())));
    done.catch(() => {});
    // tar-stream calls back once the entry is complete (or with its error).
    const entry = p.entry.bind(p) as unknown as (h: TarHeader, cb: (err?: Error | null) => void) => NodeJS.WritableStream;
    const sink = entry(header, (err) => settle(err));
    sink.on('error', () => {}); // settle() hears of it
    let left = header.size ?? 0;
    let pos = 0;
    while (left > 0) {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, left));
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) throw new Error(`${file} shrank while it was read`);
      left -= bytesRead;
      pos += bytesRead;
      if (!sink.write(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead))) {
        await Promise.race([new Promise((r) => sink.once('drain', r)), closed]);
      }
    }
    sink.end();
    await Promise.race([done, closed]);
  } finally {
    await fh.close();
  }
}

const S_IFREG = 0o100000;
const isOpaque = (xattrs: Record<string, Buffer>) => [OPAQUE_XATTR, USER_OPAQUE_XATTR].some((x) => xattrs[x]?.toString() === 'y');

// Modes are passed whole (with their S_IF* bits): tar-stream takes a mode of 0
// for "none" and writes 0644, and keeps only the low 12 bits of what it is given.
async function fillCanonical(p: TarPack, root: string, closed: Promise<never>): Promise<void> {
  const links = new Map<string, string>(); // dev:ino -> first tar name
  const rootSt = fs.lstatSync(root);
  if (isOpaque(native.lgetxattrs(root))) {
    await addEntry(p, { name: OPAQUE_MARKER, type: 'file', mode: S_IFREG | (rootSt.mode & 0o777), uid: rootSt.uid, gid: rootSt.gid, mtime: new Date(Math.floor(rootSt.mtimeMs / 1000) * 1000) });
  }
  const walk = async (rel: string): Promise<void> => {
    const names = fs.readdirSync(rel === '' ? root : path.join(root, rel)).sort();
    for (const name of names) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const full = path.join(root, r);
      const st = fs.lstatSync(full);
      const base: TarHeader = { name: r, mode: st.mode, uid: st.uid, gid: st.gid, mtime: new Date(Math.floor(st.mtimeMs / 1000) * 1000) };
      if (isOverlayWhiteout(st)) {
        await addEntry(p, { ...base, name: rel === '' ? tarWhiteoutName(name) : `${rel}/${tarWhiteoutName(name)}`, type: 'file', mode: S_IFREG | 0o600 });
        continue;
      }
      const xattrs = st.isSymbolicLink() ? {} : native.lgetxattrs(full);
      const pax = paxOf(xattrs);
      const header: TarHeader = { ...base, ...(pax ? { pax } : {}) };
      if (st.isDirectory()) {
        await addEntry(p, { ...header, name: `${r}/`, type: 'directory' });
        if (isOpaque(xattrs)) await addEntry(p, { ...base, name: `${r}/${OPAQUE_MARKER}`, type: 'file', mode: S_IFREG | (st.mode & 0o777) });
        await walk(r);
      } else if (st.isSymbolicLink()) {
        await addEntry(p, { ...base, type: 'symlink', linkname: fs.readlinkSync(full) });
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? links.get(key) : undefined;
        if (first !== undefined) {
          await addEntry(p, { ...base, type: 'link', linkname: first });
          continue;
        }
        if (st.nlink > 1) links.set(key, r);
        if (st.size === 0) await addEntry(p, { ...header, type: 'file' });
        else await addFile(p, { ...header, type: 'file', size: st.size }, full, closed);
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        const { major, minor } = devNumbers(st.rdev);
        await addEntry(p, { ...header, type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: major, devminor: minor });
      } else if (st.isFIFO()) {
        await addEntry(p, { ...header, type: 'fifo' });
      }
      // Sockets are not archived (as tar and Docker do).
    }
  };
  await walk('');
}

/** A tar of the layer directory in Docker's form (see the top of this file). */
export function canonicalLayerTar(root: string): Readable {
  const p = pack();
  let closedReject!: (e: Error) => void;
  const closed = new Promise<never>((_, reject) => (closedReject = reject));
  closed.catch(() => {});
  p.once('close', () => closedReject(new Error('the tar stream was closed')));
  fillCanonical(p, root, closed).then(
    () => p.finalize(),
    (err) => p.destroy(err),
  );
  return p;
}
