// An image archive as a set of members: a directory as it is (an OCI layout,
// or a `docker save` unpacked), or a tar of one (a path or a stream), staged
// into a private directory of the store first: a docker-save tar names its
// layers in manifest.json, which comes last. Member names are confined like
// layer entries; symlinks between members (Docker 25+ links `<id>/layer.tar`
// to `blobs/sha256/<hex>`) are followed inside the archive only.
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { entryComponents, isInside, resolveInRoot, type Lookup } from './entry-path.js';
import { extract } from './tar.js';

export interface Archive {
  /** The member's host path, or null when the archive has no such file. */
  locate(member: string): string | null;
  close(): Promise<void>;
}

const lookup: Lookup = {
  kind(p) {
    try {
      const st = fs.lstatSync(p);
      return st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
    } catch {
      return null;
    }
  },
  readlink: (p) => fs.readlinkSync(p),
};

function directoryArchive(dir: string, onClose: () => Promise<void> = async () => {}): Archive {
  return {
    locate(member) {
      const p = resolveInRoot(dir, entryComponents(member), lookup, true);
      if (!isInside(dir, p)) return null;
      try {
        return fs.statSync(p).isFile() ? p : null;
      } catch {
        return null;
      }
    },
    close: onClose,
  };
}

/** The tar's members written under `staging` (regular files, directories and in-archive symlinks only). */
async function stageTar(input: Readable, staging: string, onBytes?: (n: number) => void): Promise<void> {
  const ex = extract();
  if (onBytes) input.on('data', (c: Buffer) => onBytes(c.length));
  const consume = async () => {
    for await (const entry of ex) {
      const h = entry.header;
      const parts = entryComponents(h.name);
      if (parts.length === 0) {
        entry.resume();
        continue;
      }
      const parent = resolveInRoot(staging, parts.slice(0, -1), lookup, false);
      fs.mkdirSync(parent, { recursive: true, mode: 0o700 });
      const target = path.join(parent, parts[parts.length - 1]);
      if (h.type === 'file' || h.type === 'contiguous-file' || !h.type) {
        fs.rmSync(target, { force: true, recursive: true });
        const fd = fs.openSync(target, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
        await pipeline(entry, fs.createWriteStream('', { fd }));
        continue;
      }
      entry.resume();
      if (h.type === 'directory') fs.mkdirSync(target, { recursive: true, mode: 0o700 });
      else if (h.type === 'symlink' && h.linkname) {
        fs.rmSync(target, { force: true, recursive: true });
        fs.symlinkSync(h.linkname, target); // followed only through resolveInRoot(staging)
      }
    }
  };
  await Promise.all([pipeline(input, ex), consume()]);
}

/** Opens a path (directory or tar) or a stream of a tar; `staging` is an empty private directory the archive may fill. */
export async function openArchive(source: string | Readable, staging: string, onBytes?: (n: number) => void): Promise<Archive> {
  const drop = () => fs.promises.rm(staging, { recursive: true, force: true });
  try {
    if (typeof source === 'string') {
      const st = fs.statSync(source);
      if (st.isDirectory()) {
        await drop();
        return directoryArchive(path.resolve(source));
      }
      await stageTar(fs.createReadStream(source), staging, onBytes);
    } else {
      await stageTar(source, staging, onBytes);
    }
  } catch (err) {
    await drop();
    throw err;
  }
  return directoryArchive(staging, drop);
}
