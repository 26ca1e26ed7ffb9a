// Named volumes in the store: directories that outlive containers.
//   <store>/volumes/<name>/volume.json          { name, created, labels }
//   <store>/volumes/<name>/_data/               what a container mounts
//   <store>/volumes/<name>/users/<containerId>  { containerId, pid, startTime | stateDir, since }: a container holds it
// Every change happens under the store's lock (lib/image/store.ts), so a
// removal and an acquire never both win. A volume appears whole: it is made
// in tmp/ and renamed into volumes/; it goes by a rename into tmp/ too, and
// its data is deleted after the lock is released (a dead remover's leftovers
// are swept with tmp/). A user record whose process is gone, or is another
// process with a recycled pid (its start time differs), or whose container's
// state directory is gone, does not count.
import fs from 'node:fs';
import path from 'node:path';
import { BerthError, VolumeError } from '../errors.js';
import { openStore, sweepTmp, tempDir, withLock, writeAtomic, type Store } from '../image/store.js';
import { processStatus } from '../state/state-dir.js';
import { volumeDir as volumeDirIn } from './paths.js';
import { CONTAINER_ID_RE, anonymousVolumeName, labelsProblem, sameLabels, volumeNameProblem } from './names.js';

export interface VolumeStoreOptions {
  /** The store's directory (default /var/lib/berth as root, $XDG_DATA_HOME/berth otherwise). */
  store?: string;
}

export interface CreateVolumeOptions extends VolumeStoreOptions {
  /** [a-zA-Z0-9][a-zA-Z0-9_.-]*; absent: an anonymous volume with a 64-hex-digit name. */
  name?: string;
  labels?: Record<string, string>;
}

export interface RemoveVolumeOptions extends VolumeStoreOptions {
  /** Remove it even while containers hold it (their mounts then show an emptied directory), and resolve when there is no such volume. */
  force?: boolean;
}

export interface AcquireVolumeOptions extends VolumeStoreOptions {
  /** The process whose life the hold lasts (default: this one); e.g. a detached container's init. */
  pid?: number;
  /** Instead of a process: the hold lasts while this directory (a container's state directory) exists. */
  stateDir?: string;
  /**
   * Called under the store's lock with the data directory when it is empty
   * (a new volume): what a container's copy-up puts in, so two containers
   * mounting a new volume at once do not both fill it.
   */
  fill?: (dataDir: string) => void;
}

export interface VolumeInfo {
  name: string;
  /** The host directory a container mounts (`<store>/volumes/<name>/_data`). */
  mountpoint: string;
  /** ISO time of creation. */
  created: string;
  labels: Record<string, string>;
  /** Ids of the containers that hold it now (live holders only). */
  users: string[];
}

interface VolumeRecord {
  name: string;
  created: string;
  labels: Record<string, string>;
}

interface UserRecord {
  containerId: string;
  pid?: number;
  startTime?: number;
  stateDir?: string;
  since: string;
}

const META = 'volume.json';
const DATA = '_data';
const USERS = 'users';

const volumeDir = (s: Store, name: string) => volumeDirIn(s.root, name);

function invalid(message: string, volume?: string): VolumeError {
  return new VolumeError('VOLUME_INVALID', message, { step: 'validate', ...(volume !== undefined ? { volume } : {}) });
}

function failed(err: unknown, step: string, volume: string | undefined, p: string): BerthError {
  if (err instanceof VolumeError) return err;
  const e = err as NodeJS.ErrnoException & { errno?: unknown };
  const errno = typeof e?.code === 'string' ? e.code : err instanceof BerthError ? err.errno : undefined;
  return new VolumeError('VOLUME_FAILED', `${step} failed${volume ? ` for volume ${volume}` : ''}: ${e?.message ?? String(err)}`, {
    step,
    ...(volume !== undefined ? { volume } : {}),
    ...(errno ? { errno } : {}),
    ...(e?.syscall ? { syscall: e.syscall } : {}),
    path: e?.path ?? p,
    cause: err,
  });
}

function checkName(name: unknown): string {
  const problem = volumeNameProblem(name);
  if (problem) throw invalid(problem, typeof name === 'string' ? name : undefined);
  return name as string;
}

function open(store: string | undefined): Store {
  try {
    return openStore(store);
  } catch (err) {
    throw failed(err, 'store', undefined, store ?? '');
  }
}

function readRecord(s: Store, name: string): VolumeRecord | null {
  try {
    const r = JSON.parse(fs.readFileSync(path.join(volumeDir(s, name), META), 'utf8')) as VolumeRecord;
    return r && r.name === name ? r : null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || err instanceof SyntaxError) return null;
    throw err;
  }
}

function isLive(u: UserRecord): boolean {
  if (typeof u.stateDir === 'string') return fs.existsSync(u.stateDir);
  const pid = u.pid;
  const p = typeof pid === 'number' && Number.isInteger(pid) && pid > 0 ? processStatus(pid) : undefined;
  return p !== undefined && p.state !== 'Z' && p.state !== 'X' && p.startTime === u.startTime;
}

/** The volume's user records: the live ones, and (prune) the dead ones removed. */
function users(s: Store, name: string, prune: boolean): UserRecord[] {
  const dir = path.join(volumeDir(s, name), USERS);
  let files: string[];
  try {
    files = fs.readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const live: UserRecord[] = [];
  for (const f of files) {
    if (f.endsWith('.tmp')) continue;
    let u: UserRecord | null = null;
    try {
      u = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as UserRecord;
    } catch {
      // half-written by a dead process, or just released
    }
    if (u && u.containerId === f && isLive(u)) live.push(u);
    else if (prune) fs.rmSync(path.join(dir, f), { force: true });
  }
  return live.sort((a, b) => a.containerId.localeCompare(b.containerId));
}

function info(s: Store, r: VolumeRecord): VolumeInfo {
  return {
    name: r.name,
    mountpoint: path.join(volumeDir(s, r.name), DATA),
    created: r.created,
    labels: { ...r.labels },
    users: users(s, r.name, false).map((u) => u.containerId),
  };
}

function notFound(s: Store, name: string): VolumeError {
  return new VolumeError('VOLUME_NOT_FOUND', `no volume ${name} in ${s.root}`, { step: 'resolve', volume: name, errno: 'ENOENT', path: volumeDir(s, name) });
}

/**
 * Creates a named volume (or, without a name, an anonymous one). Creating a
 * name that exists returns that volume, as Docker does, unless labels are
 * given and differ (VOLUME_EXISTS).
 */
export async function createVolume(opts: CreateVolumeOptions = {}): Promise<VolumeInfo> {
  const name = opts.name === undefined ? anonymousVolumeName() : checkName(opts.name);
  const labelProblem = labelsProblem(opts.labels);
  if (labelProblem) throw invalid(labelProblem, name);
  const labels = { ...(opts.labels ?? {}) };
  const s = open(opts.store);
  try {
    await sweepTmp(s);
    return await withLock(s, () => {
      const existing = readRecord(s, name);
      if (existing) {
        if (opts.labels !== undefined && !sameLabels(existing.labels, labels)) {
          throw new VolumeError('VOLUME_EXISTS', `volume ${name} already exists with other labels`, { step: 'create', volume: name, errno: 'EEXIST', path: volumeDir(s, name) });
        }
        return info(s, existing);
      }
      const work = tempDir(s, 'volume');
      try {
        const v = path.join(work, 'v');
        fs.mkdirSync(v, 0o755);
        fs.mkdirSync(path.join(v, DATA), 0o755);
        fs.mkdirSync(path.join(v, USERS), 0o700);
        const record: VolumeRecord = { name, created: new Date().toISOString(), labels };
        writeAtomic(path.join(v, META), JSON.stringify(record));
        // A leftover without volume.json (not one of ours) is in the way: set aside, not merged.
        if (fs.existsSync(volumeDir(s, name))) fs.renameSync(volumeDir(s, name), path.join(work, 'stale'));
        fs.renameSync(v, volumeDir(s, name));
        return info(s, record);
      } finally {
        fs.rmSync(work, { recursive: true, force: true });
      }
    });
  } catch (err) {
    throw failed(err, 'create', name, volumeDir(s, name));
  }
}

/** Every volume of the store, by name. */
export async function listVolumes(opts: VolumeStoreOptions = {}): Promise<VolumeInfo[]> {
  const s = open(opts.store);
  try {
    const out: VolumeInfo[] = [];
    for (const name of fs.readdirSync(s.volumes).sort()) {
      if (volumeNameProblem(name)) continue;
      const r = readRecord(s, name);
      if (r) out.push(info(s, r));
    }
    return out;
  } catch (err) {
    throw failed(err, 'list', undefined, s.volumes);
  }
}

export async function inspectVolume(name: string, opts: VolumeStoreOptions = {}): Promise<VolumeInfo> {
  checkName(name);
  const s = open(opts.store);
  let r: VolumeRecord | null;
  try {
    r = readRecord(s, name);
  } catch (err) {
    throw failed(err, 'inspect', name, volumeDir(s, name));
  }
  if (!r) throw notFound(s, name);
  return info(s, r);
}

/** Removes a volume and its data; refused (VOLUME_IN_USE, with `users`) while a live container holds it, unless force. */
export async function removeVolume(name: string, opts: RemoveVolumeOptions = {}): Promise<void> {
  checkName(name);
  const s = open(opts.store);
  let gone: string | null;
  try {
    gone = await withLock(s, () => {
      if (!readRecord(s, name)) {
        if (opts.force) return null;
        throw notFound(s, name);
      }
      const held = users(s, name, true).map((u) => u.containerId);
      if (held.length > 0 && !opts.force) {
        throw new VolumeError('VOLUME_IN_USE', `volume ${name} is in use by container${held.length > 1 ? 's' : ''} ${held.join(', ')}`, {
          step: 'remove',
          volume: name,
          users: held,
          errno: 'EBUSY',
          path: volumeDir(s, name),
        });
      }
      const work = tempDir(s, 'gone-volume');
      fs.renameSync(volumeDir(s, name), path.join(work, 'v'));
      return work;
    });
  } catch (err) {
    throw failed(err, 'remove', name, volumeDir(s, name));
  }
  // Out of volumes/ under the lock; the (slow) recursive removal after it.
  if (gone) await fs.promises.rm(gone, { recursive: true, force: true });
}

/**
 * Records that container `containerId` uses the volume (for the container
 * side: call before mounting it, release on destroy). Holding it again
 * refreshes the record. The hold lasts while `pid` (default: this process)
 * lives; a crashed holder does not keep the volume from removal.
 */
export async function acquireVolume(name: string, containerId: string, opts: AcquireVolumeOptions = {}): Promise<VolumeInfo> {
  checkName(name);
  if (typeof containerId !== 'string' || !CONTAINER_ID_RE.test(containerId)) throw invalid(`invalid container id ${JSON.stringify(containerId)}`, name);
  let holder: Pick<UserRecord, 'pid' | 'startTime' | 'stateDir'>;
  if (opts.stateDir !== undefined) {
    if (typeof opts.stateDir !== 'string' || !path.isAbsolute(opts.stateDir)) throw invalid(`stateDir must be an absolute path`, name);
    if (opts.pid !== undefined) throw invalid('a hold lasts for a pid or a stateDir, not both', name);
    holder = { stateDir: opts.stateDir };
  } else {
    const pid = opts.pid ?? process.pid;
    const st = Number.isInteger(pid) && pid > 0 ? processStatus(pid) : undefined;
    if (!st || st.state === 'Z' || st.state === 'X') throw invalid(`no live process ${pid} to hold volume ${name}`, name);
    holder = { pid, startTime: st.startTime };
  }
  const s = open(opts.store);
  try {
    return await withLock(s, () => {
      const r = readRecord(s, name);
      if (!r) throw notFound(s, name);
      const dir = path.join(volumeDir(s, name), USERS);
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const u: UserRecord = { containerId, ...holder, since: new Date().toISOString() };
      writeAtomic(path.join(dir, containerId), JSON.stringify(u));
      users(s, name, true);
      const data = path.join(volumeDir(s, name), DATA);
      if (opts.fill && fs.readdirSync(data).length === 0) {
        try {
          opts.fill(data);
        } catch (err) {
          // Empty again, not half-filled: the next container's copy-up starts over.
          for (const e of fs.readdirSync(data)) fs.rmSync(path.join(data, e), { recursive: true, force: true });
          throw err;
        }
      }
      return info(s, r);
    });
  } catch (err) {
    throw failed(err, 'acquire', name, volumeDir(s, name));
  }
}

/** Drops container `containerId`'s hold on the volume; a hold (or a volume) that is not there is no error. */
export async function releaseVolume(name: string, containerId: string, opts: VolumeStoreOptions = {}): Promise<void> {
  checkName(name);
  if (typeof containerId !== 'string' || !CONTAINER_ID_RE.test(containerId)) throw invalid(`invalid container id ${JSON.stringify(containerId)}`, name);
  const s = open(opts.store);
  try {
    await withLock(s, () => {
      fs.rmSync(path.join(volumeDir(s, name), USERS, containerId), { force: true });
    });
  } catch (err) {
    throw failed(err, 'release', name, volumeDir(s, name));
  }
}
