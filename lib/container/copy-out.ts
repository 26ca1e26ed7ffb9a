// copyOut(path): what the container has at `path` as a tar stream (Docker's
// GET /containers/{id}/archive: one entry named after the path's last
// component, a directory's tree below it) or, for a regular file, its bytes.
// Every name is opened below the container's root with openat2(RESOLVE_IN_ROOT)
// and walked without following symlinks (they are archived as symlinks), so a
// container that swaps a directory for a symlink mid-copy cannot make us read
// a host file. Ids are the container's (its user namespace mapped back).
// Kernel filesystems (proc, sysfs, cgroup, devpts, mqueue, ...) mounted in a
// running container are listed as empty directories, not walked.
import fs from 'node:fs';
import path from 'node:path';
import { type Readable } from 'node:stream';
import { devNumbers, imageXattr } from '../image/layer-tar.js';
import { pack as tarPack, type TarHeader, type TarPack } from '../image/tar.js';
import { native } from '../native/addon.js';
import { type ContainerRoot, type FilesSource, O_DIRECTORY, O_NOFOLLOW, O_PATH, containerPathOf, copyFailed, openContainerRoot, viaFd } from './files-root.js';
import { CopyError } from '../errors.js';

// statfs f_type of filesystems that describe the kernel, not files.
const KERNEL_FS = new Set([0x9fa0 /* proc */, 0x62656572 /* sysfs */, 0x27e0eb /* cgroup */, 0x63677270 /* cgroup2 */, 0x1cd1 /* devpts */, 0x19800202 /* mqueue */, 0x64626720 /* debugfs */, 0x73636673 /* securityfs */, 0x74726163 /* tracefs */, 0xcafe4a11 /* bpf */, 0x6e736673 /* nsfs */]);

const CHUNK = 1 << 16;

function entryAdd(pack: TarPack, header: TarHeader, data?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => pack.entry(header, data ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve())));
}

/** Exactly `size` bytes of fd into the entry (zeros if the file shrank meanwhile: the header is already written). */
async function pumpFile(w: Walk, header: TarHeader, fd: number, size: number): Promise<void> {
  const pack = w.pack;
  let done!: (err?: Error | null) => void;
  const finished = new Promise<void>((resolve, reject) => (done = (err) => (err ? reject(err) : resolve())));
  finished.catch(() => {});
  const open = pack.entry.bind(pack) as unknown as (h: TarHeader, cb: (err?: Error | null) => void) => NodeJS.WritableStream;
  const entry = open(header, (err) => done(err));
  entry.on('error', () => {}); // done() hears of it
  let off = 0;
  while (off < size) {
    const buf = Buffer.alloc(Math.min(CHUNK, size - off));
    const n = await new Promise<number>((resolve, reject) => fs.read(fd, buf, 0, buf.length, off, (err, got) => (err ? reject(err) : resolve(got))));
    const chunk = n === 0 ? buf : buf.subarray(0, n);
    off += chunk.length;
    // A reader that went away (destroyed the stream) ends the walk instead of leaving it waiting on a drain.
    if (pack.destroyed) throw new Error('the archive stream was destroyed');
    if (!entry.write(chunk)) await Promise.race([new Promise<void>((r) => entry.once('drain', () => r())), w.closed]);
  }
  entry.end();
  await finished;
}

interface Walk {
  pack: TarPack;
  /** Resolves when the reader destroyed the stream (one listener for the whole walk). */
  closed: Promise<void>;
  root: ContainerRoot;
  links: Map<string, string>;
}

async function addEntry(w: Walk, dirFd: number, name: string, archName: string, containerPath: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(viaFd(dirFd, name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // gone while we walked
    throw copyFailed(err, 'lstat', containerPath);
  }
  const [uid, gid] = w.root.toContainer(st.uid, st.gid);
  const xattrs = native.lgetxattrs(viaFd(dirFd, name));
  const pax: Record<string, string> = {};
  for (const k of Object.keys(xattrs).sort()) if (imageXattr(k)) pax[`SCHILY.xattr.${k}`] = xattrs[k].toString('utf8');
  // The whole mode (S_IF* bits too): tar-stream keeps the low 12 bits, and takes a bare 0 for "none" (0644).
  const base: TarHeader = { name: archName, mode: st.mode, uid, gid, mtime: st.mtime, ...(Object.keys(pax).length ? { pax } : {}) };
  const key = `${st.dev}:${st.ino}`;
  if (!st.isDirectory() && st.nlink > 1) {
    const first = w.links.get(key);
    if (first !== undefined) return entryAdd(w.pack, { ...base, type: 'link', linkname: first });
    w.links.set(key, archName);
  }
  if (st.isDirectory()) {
    let fd: number;
    try {
      fd = native.openInRoot(dirFd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW);
    } catch (err) {
      throw copyFailed(err, 'open', containerPath);
    }
    try {
      await entryAdd(w.pack, { ...base, name: `${archName}/`, type: 'directory' });
      if (KERNEL_FS.has(Number(fs.statfsSync(viaFd(fd)).type))) return;
      for (const child of fs.readdirSync(viaFd(fd)).sort()) await addEntry(w, fd, child, `${archName}/${child}`, path.posix.join(containerPath, child));
    } finally {
      fs.closeSync(fd);
    }
    return;
  }
  if (st.isSymbolicLink()) return entryAdd(w.pack, { ...base, type: 'symlink', linkname: fs.readlinkSync(viaFd(dirFd, name)) });
  if (st.isFile()) {
    let fd: number;
    try {
      fd = native.openInRoot(dirFd, name, fs.constants.O_RDONLY | O_NOFOLLOW | fs.constants.O_NONBLOCK);
    } catch (err) {
      throw copyFailed(err, 'open', containerPath);
    }
    try {
      const fst = fs.fstatSync(fd); // the size of what was opened, not of what lstat saw
      if (!fst.isFile()) return;
      await pumpFile(w, { ...base, type: 'file', size: fst.size }, fd, fst.size);
    } finally {
      fs.closeSync(fd);
    }
    return;
  }
  if (st.isCharacterDevice() || st.isBlockDevice()) {
    const { major, minor } = devNumbers(st.rdev);
    return entryAdd(w.pack, { ...base, type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: major, devminor: minor });
  }
  if (st.isFIFO()) return entryAdd(w.pack, { ...base, type: 'fifo' });
  // A socket has no tar form (and means nothing without its listener): left out.
}

/**
 * The tar stream of `containerPath`; the root is held open until the stream
 * ends. Resolves once the path was found (a missing one rejects with
 * COPY_NOT_FOUND, before any stream exists).
 */
export async function copyOutTar(src: FilesSource, containerPath: string): Promise<Readable> {
  const p = containerPathOf(containerPath);
  const root = openContainerRoot(src, p);
  const name = p === '/' ? '.' : path.posix.basename(p);
  let parentFd = -1;
  try {
    parentFd = native.openInRoot(root.fd, path.posix.dirname(p), O_PATH | O_DIRECTORY);
    if (p !== '/') fs.lstatSync(viaFd(parentFd, name));
  } catch (err) {
    if (parentFd >= 0) fs.closeSync(parentFd);
    root.close();
    throw copyFailed(err, 'open', p);
  }
  const pack = tarPack();
  const closed = new Promise<void>((r) => pack.once('close', () => r()));
  const w: Walk = { pack, closed, root, links: new Map() };
  void (async () => {
    try {
      if (p === '/') for (const child of fs.readdirSync(viaFd(parentFd)).sort()) await addEntry(w, parentFd, child, child, `/${child}`);
      else await addEntry(w, parentFd, name, name, p);
      pack.finalize();
    } catch (err) {
      pack.destroy(copyFailed(err, 'copy', p));
    } finally {
      fs.closeSync(parentFd);
      root.close();
    }
  })();
  return pack;
}

/** The bytes of the regular file at `containerPath` (symlinks followed inside the container). */
export async function copyOutFile(src: FilesSource, containerPath: string): Promise<Buffer> {
  const p = containerPathOf(containerPath);
  const root = openContainerRoot(src, p);
  try {
    let fd: number;
    try {
      fd = native.openInRoot(root.fd, p, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    } catch (err) {
      throw copyFailed(err, 'open', p);
    }
    try {
      if (!fs.fstatSync(fd).isFile()) throw new CopyError('COPY_INVALID', `${p} is not a regular file (copyOut with { format: 'tar' } archives anything)`, p, { step: 'copy', errno: 'EISDIR' });
      return await fs.promises.readFile(viaFd(fd));
    } finally {
      fs.closeSync(fd);
    }
  } finally {
    root.close();
  }
}
