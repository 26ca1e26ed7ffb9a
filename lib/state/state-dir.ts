// The state directory: <root>/<id>/state.json, written atomically (temp file +
// rename) so another process never reads half a file. The rename of a prepared
// claim onto <root>/<id> is the lock that refuses a duplicate id.
import fs from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';
import type { ContainerState } from '../../types/api.js';
import { ContainerExistsError, ContainerNotFoundError, SetupError, errnoName, fromSystemError } from '../errors.js';
import { native, type RemoveItem } from '../native/addon.js';

const { ENOENT } = constants.errno;

/** State roots this process made or found: claim() needs no mkdir for them. */
const knownRoots = new Set<string>();

// A claim is prepared under a name no id can have (ids start with [A-Za-z0-9])
// and renamed into place with its state.json in it, so <root>/<id> never
// exists without one: a crash at any point leaves either nothing under the id,
// or a record that says who claimed it (ownerPid, ownerStartTime) and how far
// it got. The pid in the name lets sweepClaims() tell an abandoned one.
const CLAIM_PREFIX = '.claim.';
const CGROUP_MARKER = 'cgroups-made';
// The runtime-spec version state records speak (lib/container/state-record.ts writes them).
const LEFTOVER_OCI_VERSION = '1.2.0';
let claimSeq = 0;

/**
 * mkdir -p without fs.mkdir's recursive mode: on a filesystem that answers
 * ENOENT for a new name whose parent exists (procfs, sysfs), Node's recursive
 * mkdir retries forever on a thread-pool thread, and the create never settles.
 */
export async function makeDirs(dir: string, mode: number): Promise<void> {
  const missing: string[] = [];
  for (let d = dir; ; ) {
    try {
      await fs.mkdir(d, { mode });
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Made meanwhile, or there already (a file there fails at the next mkdir below it, ENOTDIR).
      if (code === 'EEXIST') break;
      const parent = path.dirname(d);
      if (code !== 'ENOENT' || parent === d) throw err;
      missing.push(d);
      d = parent;
    }
  }
  for (const d of missing.reverse()) {
    try {
      await fs.mkdir(d, { mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

export class StateDir {
  readonly dir: string;
  readonly file: string;
  /** See CgroupManager.childPlacement: made empty by claim() when asked for, "1" once the planned cgroups were all made. */
  readonly cgroupMarker: string;
  /** A detached init listens here for start() (lib/container/detach.ts). */
  readonly startSocket: string;
  /** A detached container's resolved config, for exec, hooks and update from other processes. */
  readonly configFile: string;
  /** An overlay rootfs's writable layer (lib/config/rootfs.ts): removed with the directory (recursively). */
  readonly layerDir: string;

  constructor(readonly root: string, readonly id: string) {
    this.dir = path.join(root, id);
    this.file = path.join(this.dir, 'state.json');
    this.cgroupMarker = path.join(this.dir, CGROUP_MARKER);
    this.startSocket = path.join(this.dir, 'start.sock');
    this.configFile = path.join(this.dir, 'config.json');
    this.layerDir = path.join(this.dir, 'layer');
  }

  /** Says the planned cgroups of the record are the container's own (the v2 path; the v1 child writes it itself). */
  confirmCgroups(): Promise<void> {
    return writeBytes(this.cgroupMarker, '1');
  }

  /** Whether the cgroup v1 child said it made every cgroup of the record (see cgroupMarker). */
  async cgroupsConfirmed(): Promise<boolean> {
    return (await fs.readFile(this.cgroupMarker, 'utf8').catch(() => '')).startsWith('1');
  }

  /**
   * Claims the id with its first record (status 'creating'): the rename of a
   * prepared directory onto <root>/<id> is the lock against another create of
   * the same id (ContainerExistsError if it lost). Fails fast with a
   * SetupError naming the path and errno when the root cannot be made or used.
   */
  async claim(record: ContainerState, { cgroupMarker = false } = {}): Promise<void> {
    const tmp = path.join(this.root, `${CLAIM_PREFIX}${process.pid}.${ownStartTime() ?? 0}.${++claimSeq}.${this.id}`);
    const files: Array<[string, string]> = [['state.json', JSON.stringify(record, null, 2)]];
    if (cgroupMarker) files.push([CGROUP_MARKER, '']);
    if (!knownRoots.has(this.root)) {
      await this.makeRoot();
      knownRoots.add(this.root);
    }
    // mkdir, writes and rename in one thread-pool job (native claimDir): the
    // prepared directory is nobody else's until the rename.
    let result = await native.claimDir(tmp, this.dir, files);
    if (result.errno === ENOENT && result.syscall === 'mkdir') {
      // Someone removed the root since: make it again.
      await this.makeRoot();
      result = await native.claimDir(tmp, this.dir, files);
    }
    if (result.errno === 0) return;
    const code = errnoName(result.errno);
    // rename(2) replaces only an empty directory: one with a state.json is a container.
    if (result.syscall === 'rename' && (code === 'EEXIST' || code === 'ENOTEMPTY')) throw new ContainerExistsError(this.id, this.dir);
    // The prepared claim's name is ours alone: the caller knows <root>/<id>.
    const where = result.path === undefined || result.path.startsWith(tmp) ? this.dir : result.path;
    throw new SetupError('state', `cannot create the state directory ${where}: ${code}`, { errno: code, syscall: result.syscall ?? 'mkdir', path: where });
  }

  private async makeRoot(): Promise<void> {
    try {
      await makeDirs(this.root, 0o711);
    } catch (err) {
      if (err instanceof SetupError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      const where = (err as NodeJS.ErrnoException).path ?? this.root;
      throw new SetupError('state', `cannot create the state directory ${where}: ${code ?? (err as Error).message}`, {
        ...(code ? { errno: code } : {}),
        syscall: (err as NodeJS.ErrnoException).syscall ?? 'mkdir',
        path: where,
        cause: err,
      });
    }
  }

  /** Atomically (temp file + rename), in one thread-pool job. */
  write(state: ContainerState): Promise<void> {
    return writeAtomic(this.file, state);
  }

  /**
   * The record; a directory that is not berth's — another runtime's in a state
   * root shared with it (Docker and containerd give runc and berth
   * neighbouring ids; runc's state.json has no ociVersion/status) — is not
   * found, so it is never listed, driven or deleted as a berth container.
   */
  async read(): Promise<ContainerState> {
    let record: unknown;
    try {
      record = JSON.parse(await fs.readFile(this.file, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        const left = await fs.stat(this.dir).catch(() => null);
        // What a crash in the middle of remove() leaves: nothing runs, nothing is recorded.
        if (left?.isDirectory() && (await this.holdsOnlyOurs())) {
          return { ociVersion: LEFTOVER_OCI_VERSION, id: this.id, status: 'stopped', rootfs: '', created: left.mtime.toISOString(), ownerPid: 0 };
        }
        throw new ContainerNotFoundError(this.id, this.file);
      }
      if (err instanceof SyntaxError) throw new ContainerNotFoundError(this.id, this.file);
      throw fromSystemError(err, 'state', this.file);
    }
    if (!isOurRecord(record)) throw new ContainerNotFoundError(this.id, this.file);
    return record;
  }

  /** Every entry is one berth makes here (its files, an atomic write's temporary). */
  private async holdsOnlyOurs(): Promise<boolean> {
    const names = await fs.readdir(this.dir).catch(() => null);
    if (names === null) return false;
    // …and the /etc name files of a container on a network (lib/container/network.ts).
    const ours = new Set([...[this.file, this.cgroupMarker, this.startSocket, this.configFile, this.layerDir].map((f) => path.basename(f)), 'hosts', 'hostname', 'resolv.conf']);
    return names.every((n) => ours.has(n) || [...ours].some((o) => n.startsWith(`${o}.`) && n.endsWith('.tmp')));
  }

  async remove(): Promise<void> {
    await this.finishRemoval(await native.removePaths(this.removalItems()));
  }

  /**
   * The common case (just state.json) as items for one thread-pool job (an ext4
   * unlink can take half a millisecond: not on the event loop), which destroy()
   * appends to the cgroups' removal. state.json goes last but the directory: a
   * crash in between leaves either a record or an empty directory (read() lists
   * it, claim()'s rename replaces it).
   */
  removalItems(): RemoveItem[] {
    return [
      { path: this.cgroupMarker, dir: false },
      { path: this.startSocket, dir: false },
      { path: this.configFile, dir: false },
      { path: this.file, dir: false },
      { path: this.dir, dir: true },
    ];
  }

  /** After removalItems() ran: anything else in the directory (a stray temp file) falls back to a recursive rm. */
  async finishRemoval(errnos: number[]): Promise<void> {
    const dirErr = errnos[this.removalItems().length - 1];
    if (dirErr !== undefined && dirErr !== 0 && dirErr !== ENOENT) await fs.rm(this.dir, { recursive: true, force: true });
  }

}

function writeAtomic(file: string, state: ContainerState): Promise<void> {
  return writeBytes(file, JSON.stringify(state, null, 2));
}

export async function writeBytes(file: string, text: string): Promise<void> {
  const errno = await native.writeFileAtomic(file, text, 0o600);
  if (errno !== 0) {
    const code = errnoName(errno);
    throw new SetupError('state', `cannot write ${file}: ${code}`, { errno: code, syscall: 'write', path: file });
  }
}

/**
 * Removes the prepared claims (see CLAIM_PREFIX) of processes that are gone:
 * what a crash between their mkdir and their rename left.
 */
export async function sweepClaims(root: string, names: string[]): Promise<void> {
  for (const name of names) {
    if (!name.startsWith(CLAIM_PREFIX)) continue;
    const [pid, start] = name.slice(CLAIM_PREFIX.length).split('.').map(Number);
    const p = pid ? processStatus(pid) : undefined;
    if (p && p.state !== 'Z' && (start === 0 || p.startTime === start)) continue;
    await fs.rm(path.join(root, name), { recursive: true, force: true }).catch(() => {});
  }
}

export interface ProcessStatus {
  /** /proc/<pid>/stat field 22: start time in clock ticks since boot. */
  startTime: number;
  /** Field 3: R, S, D, Z (exited, not yet reaped), T, ... */
  state: string;
  /** Field 2: the command name (15 bytes at most). */
  comm: string;
}

/**
 * The comm of berth-init, exec'd from its memfd, until it execs the
 * container's program: an init with it has not started (still 'created').
 */
export const BERTH_INIT_COMM = 'memfd:berth-ini';

/** Whether the recorded init still is berth-init (set up, not yet exec'd); undefined when it is gone. */
export function initAwaitsStart(pid: number | undefined, startTime: number | undefined): boolean | undefined {
  if (!pid || pid <= 0) return undefined;
  const p = processStatus(pid);
  if (!p || p.state === 'Z' || p.state === 'X' || (startTime !== undefined && p.startTime !== startTime)) return undefined;
  return p.comm === BERTH_INIT_COMM;
}

/** What /proc/<pid>/stat says of a process, or undefined if there is none. */
export function processStatus(pid: number): ProcessStatus | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may contain spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, startTime: Number(fields[19]), comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) };
  } catch {
    return undefined;
  }
}

/** /proc/<pid>/stat field 22 (start time in clock ticks since boot), or undefined if gone. */
export function processStartTime(pid: number): number | undefined {
  return processStatus(pid)?.startTime;
}

/**
 * Whether `pid` is a process that still runs (a zombie has exited: only its
 * reaper has not looked yet) and, given its start time, the same process.
 */
/** The recorded process, alive or a zombie not yet reaped (its pid cannot be reused before). */
export function isSameProcess(pid: number | undefined, startTime: number | undefined): boolean {
  if (!pid || pid <= 0) return false;
  const p = processStatus(pid);
  return p !== undefined && p.state !== 'X' && (startTime === undefined || p.startTime === startTime);
}

export function isRunning(pid: number | undefined, startTime: number | undefined): boolean {
  if (!pid || pid <= 0) return false;
  const p = processStatus(pid);
  return p !== undefined && p.state !== 'Z' && p.state !== 'X' && (startTime === undefined || p.startTime === startTime);
}

let ownStart: number | undefined;
/** This process's start time (what records' ownerStartTime holds). */
export function ownStartTime(): number | undefined {
  ownStart ??= processStartTime(process.pid);
  return ownStart;
}

export const DEFAULT_STATE_ROOT = '/run/berth';

/** /run/berth as root; $XDG_RUNTIME_DIR/berth (or /run/user/<uid>/berth) otherwise. */
export function defaultStateRoot(): string {
  if (process.getuid?.() === 0) return DEFAULT_STATE_ROOT;
  return path.join(process.env.XDG_RUNTIME_DIR ?? `/run/user/${process.getuid?.()}`, 'berth');
}

/** A state.json berth wrote: the OCI state fields it always has. */
function isOurRecord(r: unknown): r is ContainerState {
  const o = r as Partial<ContainerState> | null;
  return typeof o === 'object' && o !== null && typeof o.ociVersion === 'string' && typeof o.id === 'string' && typeof o.status === 'string' && typeof o.ownerPid === 'number';
}
