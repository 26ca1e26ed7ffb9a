// The on-disk store: content-addressed, shared by every caller that names the
// same directory.
//   layers/<diffID hex>/      one unpacked layer in overlay form (a lowerdir as is)
//   tar-split/<diffID hex>.gz the layer's tar without its file contents (tar-split.ts): an export regenerates the tar from it
//   blobs/sha256/<hex>        image configs, as imported
//   images/<config hex>.json  one record per image (its layers, sizes, config)
//   names/<encoded name>      name -> image id, one file each (a rename retags atomically)
//   containers/<id>.json      layers (and image) a container's overlay uses
//   volumes/<name>/           named volumes (lib/volume)
//   tmp/<pid>-…               unpacks, removals and holds (an export's) in progress; a dead pid's are swept
// Records change under an flock of the store directory itself (withLock).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ImageError, errnoName } from '../errors.js';
import { native } from '../native/addon.js';
import type { ImageConfig } from './manifest.js';
import { nameFile, nameFromFile } from './names.js';

export const DEFAULT_STORE = '/var/lib/berth';

export interface ImageRecord {
  id: string;
  layers: string[];
  layerSizes: number[];
  size: number;
  config: ImageConfig;
  created: string;
}

export interface ContainerRecord {
  id: string;
  image?: string;
  layers: string[];
  /** The container's state directory (container-use.ts): gone means the record holds nothing. */
  stateDir?: string;
}

/** A container record whose container may still exist (its state directory is there). */
export function isLiveContainer(rec: ContainerRecord): boolean {
  return rec.stateDir === undefined || fs.existsSync(rec.stateDir);
}

export interface Store {
  root: string;
  layers: string;
  splits: string;
  blobs: string;
  images: string;
  names: string;
  containers: string;
  volumes: string;
  tmp: string;
}

/** /var/lib/berth as root; $XDG_DATA_HOME/berth (or ~/.local/share/berth) otherwise. */
export function defaultStore(): string {
  if (process.getuid?.() === 0) return DEFAULT_STORE;
  return path.join(process.env.XDG_DATA_HOME ?? path.join(os.homedir(), '.local', 'share'), 'berth');
}

export function openStore(dir?: string): Store {
  const root = path.resolve(dir ?? defaultStore());
  const s: Store = {
    root,
    layers: path.join(root, 'layers'),
    splits: path.join(root, 'tar-split'),
    blobs: path.join(root, 'blobs', 'sha256'),
    images: path.join(root, 'images'),
    names: path.join(root, 'names'),
    containers: path.join(root, 'containers'),
    volumes: path.join(root, 'volumes'),
    tmp: path.join(root, 'tmp'),
  };
  try {
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
    for (const d of [s.layers, s.splits, s.blobs, s.images, s.names, s.containers, s.volumes, s.tmp]) fs.mkdirSync(d, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw storeError(err, 'store', root);
  }
  return s;
}

export function storeError(err: unknown, step: string, p: string, extra: { image?: string; blob?: string } = {}): ImageError {
  if (err instanceof ImageError) return err;
  const e = err as NodeJS.ErrnoException;
  return new ImageError('IMAGE_FAILED', `${step} failed${extra.image ? ` for ${extra.image}` : ''}${extra.blob ? ` (${extra.blob})` : ''}: ${e?.message ?? String(err)}`, {
    step,
    ...(e?.code ? { errno: e.code } : {}),
    ...(e?.syscall ? { syscall: e.syscall } : {}),
    path: e?.path ?? p,
    cause: err,
    ...extra,
  });
}

export const hexOf = (digest: string): string => digest.slice('sha256:'.length);
export const layerDir = (s: Store, diffId: string): string => path.join(s.layers, hexOf(diffId));
export const splitFile = (s: Store, diffId: string): string => path.join(s.splits, `${hexOf(diffId)}.gz`);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A fresh private directory under tmp/, named for this process so a sweep knows whose it is. */
export function tempDir(s: Store, what: string): string {
  return fs.mkdtempSync(path.join(s.tmp, `${process.pid}-${what}-`));
}

/** Removes what dead processes left in tmp/ (an import killed half-way leaves its unpack there, never in layers/). */
export async function sweepTmp(s: Store): Promise<void> {
  for (const name of fs.readdirSync(s.tmp)) {
    const pid = Number(name.split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !alive(pid)) {
      await fs.promises.rm(path.join(s.tmp, name), { recursive: true, force: true });
    }
  }
}

/**
 * Runs fn holding the store's lock: the records, names and layer directories
 * change only under it, so a removal never frees a layer an import is about to
 * name. An flock on the store's directory itself (as the state directory's
 * op lock): no file is written to take or drop it — a container's hold on its
 * image is two lock cycles, and on a disk each metadata write costs — and it
 * dies with its holder, so a killed importer never leaves it held. (Two calls
 * in one process exclude each other too: each opens its own description.)
 */
export async function withLock<T>(s: Store, fn: () => Promise<T> | T): Promise<T> {
  let fd: number;
  try {
    fd = fs.openSync(s.root, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  } catch (err) {
    throw storeError(err, 'lock', s.root);
  }
  try {
    const deadline = Date.now() + 120_000;
    for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
      const rc = native.tryLock(fd);
      if (rc === 0) break;
      if (rc !== os.constants.errno.EWOULDBLOCK) throw new ImageError('IMAGE_FAILED', `cannot lock the store ${s.root}: ${errnoName(rc)}`, { step: 'lock', errno: errnoName(rc), syscall: 'flock', path: s.root });
      if (Date.now() > deadline) throw new ImageError('IMAGE_FAILED', `the store ${s.root} stayed locked for 120 s`, { step: 'lock', errno: 'EWOULDBLOCK', syscall: 'flock', path: s.root });
      await sleep(wait);
    }
    return await fn();
  } finally {
    fs.closeSync(fd);
  }
}

export function writeAtomic(p: string, data: string | Buffer): void {
  const tmp = `${p}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data, { mode: 0o600 });
  fs.renameSync(tmp, p);
}

function readJson<T>(p: string): T | null {
  try {
    return JSON.parse(fs.readFileSync(p, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export const readImage = (s: Store, id: string): ImageRecord | null => readJson<ImageRecord>(path.join(s.images, `${hexOf(id)}.json`));

export function listImageRecords(s: Store): ImageRecord[] {
  return fs
    .readdirSync(s.images)
    .filter((f) => /^[0-9a-f]{64}\.json$/.test(f))
    .map((f) => readJson<ImageRecord>(path.join(s.images, f)))
    .filter((r): r is ImageRecord => r !== null);
}

export function listContainerRecords(s: Store): ContainerRecord[] {
  return fs
    .readdirSync(s.containers)
    .filter((f) => f.endsWith('.json'))
    .map((f) => {
      try {
        return readJson<ContainerRecord>(path.join(s.containers, f));
      } catch (err) {
        // Written in place under the lock (no temp file and rename: a container
        // start pays for every metadata write): a torn one is a crashed holder's, and holds nothing.
        if (err instanceof SyntaxError) return null;
        throw err;
      }
    })
    .filter((r): r is ContainerRecord => r !== null && Array.isArray(r.layers));
}

/** name -> image id, for every name in the store. */
export function readNames(s: Store): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of fs.readdirSync(s.names)) {
    if (f.endsWith('.tmp')) continue;
    try {
      out.set(nameFromFile(f), fs.readFileSync(path.join(s.names, f), 'utf8').trim());
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return out;
}

export function setName(s: Store, name: string, id: string): void {
  writeAtomic(path.join(s.names, nameFile(name)), id);
}

export function dropName(s: Store, name: string): void {
  fs.rmSync(path.join(s.names, nameFile(name)), { force: true });
}

/** What a live process reads from the store outside the lock (an export): its image and layers are not removed meanwhile. */
export interface Hold {
  pid: number;
  /** /proc/<pid>/stat field 22: a recycled pid does not keep the hold. */
  startTime?: number;
  what: string;
  image?: string;
  layers: string[];
}

function startTimeOf(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return undefined;
  }
}

const HOLD_RE = /^(\d+)-hold-/;

/** Records a hold (call under the lock, so a removal either sees it or is done); release() drops it. A dead holder's is swept with tmp/. */
export function addHold(s: Store, hold: Omit<Hold, 'pid'>): { release(): void } {
  const dir = tempDir(s, 'hold');
  writeAtomic(path.join(dir, 'hold.json'), JSON.stringify({ ...hold, pid: process.pid, startTime: startTimeOf(process.pid) }));
  return { release: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** The holds of live processes. */
export function listHolds(s: Store): Hold[] {
  const out: Hold[] = [];
  for (const name of fs.readdirSync(s.tmp)) {
    const pid = Number(HOLD_RE.exec(name)?.[1]);
    if (!pid || !alive(pid)) continue;
    const h = readJson<Hold>(path.join(s.tmp, name, 'hold.json'));
    if (h && (h.startTime === undefined || h.startTime === startTimeOf(pid))) out.push(h);
  }
  return out;
}
