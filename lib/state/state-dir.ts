// The state directory: <root>/<id>/state.json, written atomically (temp file +
// rename) so another process never reads half a file. mkdir of <root>/<id> is
// the lock that refuses a duplicate id.
import fs from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';
import type { ContainerState } from '../../types/api.js';
import { ContainerExistsError, ContainerNotFoundError, SetupError, errnoName, fromSystemError } from '../errors.js';
import { native } from '../native/addon.js';

const { ENOENT } = constants.errno;

/** State roots this process made or found: claim() needs one mkdir, not two. */
const knownRoots = new Set<string>();

export class StateDir {
  readonly dir: string;
  readonly file: string;

  constructor(readonly root: string, readonly id: string) {
    this.dir = path.join(root, id);
    this.file = path.join(this.dir, 'state.json');
  }

  /**
   * Claims the id: mkdir <root>/<id> is the lock against a concurrent create of
   * the same id (ContainerExistsError if it lost). On the thread pool: an ext4
   * mkdir can hold the event loop ~0.3 ms.
   */
  async claim(): Promise<void> {
    try {
      if (!knownRoots.has(this.root)) {
        await fs.mkdir(this.root, { recursive: true, mode: 0o711 });
        knownRoots.add(this.root);
      }
      try {
        await fs.mkdir(this.dir, { mode: 0o700 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        // Someone removed the root since: make it again.
        await fs.mkdir(this.root, { recursive: true, mode: 0o711 });
        await fs.mkdir(this.dir, { mode: 0o700 });
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new ContainerExistsError(this.id, this.dir);
      throw fromSystemError(err, 'state', this.dir);
    }
  }

  /** Atomically (temp file + rename), in one thread-pool job. */
  async write(state: ContainerState): Promise<void> {
    const errno = await native.writeFileAtomic(this.file, JSON.stringify(state, null, 2), 0o600);
    if (errno !== 0) {
      const code = errnoName(errno);
      throw new SetupError('state', `cannot write ${this.file}: ${code}`, { errno: code, syscall: 'write', path: this.file });
    }
  }

  async read(): Promise<ContainerState> {
    try {
      return JSON.parse(await fs.readFile(this.file, 'utf8')) as ContainerState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ContainerNotFoundError(this.id, this.file);
      throw fromSystemError(err, 'state', this.file);
    }
  }

  async remove(): Promise<void> {
    // The common case (just state.json) in one thread-pool job (an ext4 unlink
    // can take half a millisecond: not on the event loop); anything else in the
    // directory (a stray temp file) falls back to a recursive rm.
    const [, dirErr] = await native.removePaths([
      { path: this.file, dir: false },
      { path: this.dir, dir: true },
    ]);
    if (dirErr !== 0 && dirErr !== ENOENT) await fs.rm(this.dir, { recursive: true, force: true });
  }

}

/** /proc/<pid>/stat field 22 (start time in clock ticks since boot), or undefined if gone. */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may contain spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

export const DEFAULT_STATE_ROOT = '/run/berth';

/** /run/berth as root; $XDG_RUNTIME_DIR/berth (or /run/user/<uid>/berth) otherwise. */
export function defaultStateRoot(): string {
  if (process.getuid?.() === 0) return DEFAULT_STATE_ROOT;
  return path.join(process.env.XDG_RUNTIME_DIR ?? `/run/user/${process.getuid?.()}`, 'berth');
}

