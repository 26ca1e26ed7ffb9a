// copyIn(dest, source): bytes become the file `dest`, or a tar stream is
// unpacked into the directory `dest` (Docker's PUT /containers/{id}/archive).
// Every parent directory is opened below the container's root with
// openat2(RESOLVE_IN_ROOT) — a symlink in the container resolves inside it,
// as a mount destination does — and the entry itself is made through that fd
// with calls that never follow a final symlink (O_NOFOLLOW, mkdir, symlink,
// mknod, lchown; modes and times through an fd of the made inode), so a
// container racing us cannot turn a write into one on the host. A tar's ids
// are the container's (mapped to the host's through its user namespace).
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { entryComponents } from '../image/entry-path.js';
import { extract as tarExtract, type TarHeader } from '../image/tar.js';
import { native } from '../native/addon.js';
import { CopyError } from '../errors.js';
import type { CopyInOptions } from '../../types/api.js';
import { type ContainerRoot, type FilesSource, O_DIRECTORY, O_NOFOLLOW, O_PATH, containerPathOf, copyFailed, openContainerRoot, viaFd } from './files-root.js';

/** A directory's owner, mode and time, applied after its entries (which change its mtime). */
interface DirMeta {
  at: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: Date | undefined;
}

export type { CopyInOptions };

function toStream(source: unknown, dest: string): Readable {
  if (Buffer.isBuffer(source) || source instanceof Uint8Array) return Readable.from([Buffer.from(source)]);
  if (typeof source === 'string') return Readable.from([Buffer.from(source)]);
  if (source instanceof Readable || (typeof source === 'object' && source !== null && typeof (source as Readable).pipe === 'function')) return source as Readable;
  throw new CopyError('COPY_INVALID', 'copyIn takes a Buffer, a string or a Readable', dest, { step: 'validate', errno: 'EINVAL' });
}

function openDir(root: ContainerRoot, dir: string): number {
  try {
    return native.openInRoot(root.fd, dir, O_PATH | O_DIRECTORY);
  } catch (err) {
    throw copyFailed(err, 'open', dir);
  }
}

/** What is at parentFd/name now, or null. */
function lstatAt(parentFd: number, name: string): fs.Stats | null {
  try {
    return fs.lstatSync(viaFd(parentFd, name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Makes room for a new non-directory entry: a non-directory there goes; a directory is an error (tar does the same). */
function clearFor(parentFd: number, name: string): void {
  const st = lstatAt(parentFd, name);
  if (st === null) return;
  if (st.isDirectory()) throw Object.assign(new Error(`a directory is in the way`), { code: 'EISDIR', syscall: 'unlink' });
  fs.unlinkSync(viaFd(parentFd, name));
}

/** Owner, mode and times through an fd of the inode itself (O_PATH: works for fifos and devices too, and never follows). */
function setMeta(parentFd: number, name: string, mode: number, uid: number, gid: number, mtime: Date | undefined): void {
  const fd = native.openInRoot(parentFd, name, O_PATH | O_NOFOLLOW);
  try {
    fs.chownSync(viaFd(fd), uid, gid);
    fs.chmodSync(viaFd(fd), mode & 0o7777);
    if (mtime) fs.utimesSync(viaFd(fd), mtime, mtime);
  } finally {
    fs.closeSync(fd);
  }
}

async function writeFileAt(parentFd: number, name: string, data: Readable): Promise<void> {
  clearFor(parentFd, name);
  const fd = fs.openSync(viaFd(parentFd, name), fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | O_NOFOLLOW, 0o600);
  await pipeline(data, fs.createWriteStream('', { fd, autoClose: true }));
}

/** One file: the bytes of `source` at `dest`. */
export async function copyInFile(src: FilesSource, dest: string, source: unknown, opts: CopyInOptions): Promise<void> {
  const p = containerPathOf(dest);
  if (p === '/') throw new CopyError('COPY_INVALID', 'the root directory cannot be a file', p, { step: 'validate', errno: 'EISDIR' });
  const data = toStream(source, p);
  const root = openContainerRoot(src, p);
  try {
    const parentFd = openDir(root, path.posix.dirname(p));
    const name = path.posix.basename(p);
    try {
      await writeFileAt(parentFd, name, data);
      const [uid, gid] = root.toHost(opts.uid ?? 0, opts.gid ?? 0);
      setMeta(parentFd, name, opts.mode ?? 0o644, uid, gid, undefined);
    } catch (err) {
      throw copyFailed(err, 'write', p);
    } finally {
      fs.closeSync(parentFd);
    }
  } finally {
    root.close();
  }
}

/** A tar stream unpacked into the directory `dest` (which must exist). */
export async function copyInArchive(src: FilesSource, dest: string, source: unknown): Promise<void> {
  const p = containerPathOf(dest);
  const input = toStream(source, p);
  const root = openContainerRoot(src, p);
  // Directory modes and times last: entries written into a directory change its mtime.
  const dirs: DirMeta[] = [];
  try {
    const destFd = openDir(root, p);
    fs.closeSync(destFd); // there, and a directory
    const extract = tarExtract();
    input.on('error', (err) => extract.destroy(err));
    input.pipe(extract);
    try {
      for await (const entry of extract) await unpackEntry(root, p, entry.header, entry, dirs);
    } catch (err) {
      // The rest of the source is not read: it goes with the failed copy (tar-stream's streams have no unpipe).
      extract.destroy();
      (input as { destroy?: () => void }).destroy?.();
      throw err instanceof CopyError ? err : copyFailed(err, 'unpack', p);
    }
    for (const d of dirs.reverse()) {
      const parentFd = openDir(root, path.posix.dirname(d.at));
      try {
        setMeta(parentFd, path.posix.basename(d.at), d.mode, d.uid, d.gid, d.mtime);
      } catch (err) {
        throw copyFailed(err, 'chmod', d.at);
      } finally {
        fs.closeSync(parentFd);
      }
    }
  } finally {
    root.close();
  }
}

async function unpackEntry(root: ContainerRoot, dest: string, h: TarHeader, stream: Readable, dirs: DirMeta[]): Promise<void> {
  let parts: string[];
  try {
    parts = entryComponents(h.name);
  } catch (err) {
    throw new CopyError('COPY_INVALID', `tar entry ${JSON.stringify(h.name)}: ${(err as Error).message}`, dest, { step: 'unpack', errno: 'EINVAL' });
  }
  if (parts.length === 0) {
    stream.resume();
    return; // "./": the destination itself, which is the caller's
  }
  const at = path.posix.join(dest, ...parts);
  const name = parts[parts.length - 1];
  const parentFd = openDir(root, path.posix.dirname(at));
  const [uid, gid] = root.toHost(h.uid ?? 0, h.gid ?? 0);
  const mode = h.mode ?? 0o644;
  const mtime = h.mtime ?? undefined;
  try {
    switch (h.type) {
      case 'directory': {
        const st = lstatAt(parentFd, name);
        if (st && !st.isDirectory()) fs.unlinkSync(viaFd(parentFd, name));
        if (!st || !st.isDirectory()) fs.mkdirSync(viaFd(parentFd, name), 0o700);
        dirs.push({ at, mode, uid, gid, mtime });
        stream.resume();
        break;
      }
      case 'file':
      case 'contiguous-file':
        await writeFileAt(parentFd, name, stream);
        setMeta(parentFd, name, mode, uid, gid, mtime);
        break;
      case 'symlink':
        stream.resume();
        clearFor(parentFd, name);
        fs.symlinkSync(h.linkname ?? '', viaFd(parentFd, name));
        fs.lchownSync(viaFd(parentFd, name), uid, gid);
        if (mtime) fs.lutimesSync(viaFd(parentFd, name), mtime, mtime);
        break;
      case 'link': {
        stream.resume();
        const target = path.posix.join(dest, ...entryComponents(h.linkname ?? ''));
        const targetParent = openDir(root, path.posix.dirname(target));
        try {
          clearFor(parentFd, name);
          fs.linkSync(viaFd(targetParent, path.posix.basename(target)), viaFd(parentFd, name));
        } finally {
          fs.closeSync(targetParent);
        }
        break;
      }
      case 'character-device':
      case 'block-device':
      case 'fifo': {
        stream.resume();
        clearFor(parentFd, name);
        const kind = h.type === 'fifo' ? fs.constants.S_IFIFO : h.type === 'block-device' ? fs.constants.S_IFBLK : fs.constants.S_IFCHR;
        native.mknod(viaFd(parentFd, name), kind | 0o600, h.devmajor ?? 0, h.devminor ?? 0);
        setMeta(parentFd, name, mode, uid, gid, mtime);
        break;
      }
      default:
        stream.resume(); // pax/gnu metadata records are read by tar-stream itself; anything else has no file form
        return;
    }
    for (const [k, v] of Object.entries(h.pax ?? {})) {
      if (k.startsWith('SCHILY.xattr.') && h.type !== 'symlink') native.lsetxattr(viaFd(parentFd, name), k.slice('SCHILY.xattr.'.length), Buffer.from(v, 'utf8'));
    }
  } catch (err) {
    throw copyFailed(err, 'unpack', at);
  } finally {
    fs.closeSync(parentFd);
  }
}
