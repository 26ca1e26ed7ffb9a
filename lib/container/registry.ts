// Containers seen from any process through the state directory: list them,
// and load one to signal or destroy it (e.g. what a crashed owner left).
// A pid is trusted only together with its start time, so a recycled pid is
// never taken for the container.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ContainerHandle, ContainerState, ContainerStatus } from '../../types/api.js';
import { DEFAULT_PARENT } from '../cgroups/paths.js';
import { validateId } from '../config/identity.js';
import { ContainerNotFoundError, InvalidStateError } from '../errors.js';
import { type FdWatch, native } from '../native/addon.js';
import { StateDir, defaultStateRoot, processStartTime } from '../state/state-dir.js';
import { signalNumber } from './process.js';

export interface RegistryOptions {
  /** Default /run/berth ($XDG_RUNTIME_DIR/berth when not root). */
  stateRoot?: string;
}

function alive(state: ContainerState): boolean {
  if (!state.pid) return false;
  const start = processStartTime(state.pid);
  return start !== undefined && (state.pidStartTime === undefined || start === state.pidStartTime);
}

/** The recorded state with the status corrected when the init is gone. */
function current(state: ContainerState): ContainerState {
  return state.status !== 'stopped' && !alive(state) ? { ...state, status: 'stopped' } : state;
}

/** Every container in the state root (live or left over), sorted by id. */
export async function listContainers(options: RegistryOptions = {}): Promise<ContainerState[]> {
  const root = options.stateRoot ?? defaultStateRoot();
  let ids: string[];
  try {
    ids = await fs.readdir(root);
  } catch {
    return [];
  }
  const out: ContainerState[] = [];
  for (const id of ids.sort()) {
    try {
      out.push(current(await new StateDir(root, id).read()));
    } catch {
      // being created or removed right now
    }
  }
  return out;
}

/** A container found by id in the state root, possibly made by another process. */
export class ContainerRef implements ContainerHandle {
  private constructor(
    readonly id: string,
    private snapshot: ContainerState,
    private readonly dir: StateDir,
  ) {}

  static async load(id: string, options: RegistryOptions = {}): Promise<ContainerRef> {
    validateId(id);
    const dir = new StateDir(options.stateRoot ?? defaultStateRoot(), id);
    return new ContainerRef(id, await dir.read(), dir);
  }

  /** The status as of the last state() (or load). */
  get status(): ContainerStatus {
    return this.snapshot.status;
  }

  /** The state as of now (re-read; 'stopped' once the init is gone). */
  async state(): Promise<ContainerState> {
    try {
      this.snapshot = current(await this.dir.read());
    } catch (err) {
      if (err instanceof ContainerNotFoundError) this.snapshot = { ...this.snapshot, status: 'stopped' };
      else throw err;
    }
    return this.snapshot;
  }

  /** Signals the init through a pidfd opened only after its start time matched. */
  async kill(signal: NodeJS.Signals | number = 'SIGTERM'): Promise<void> {
    const pidfd = this.openInit();
    if (pidfd < 0) throw new InvalidStateError('kill', 'stopped', this.id);
    try {
      native.pidfdSignal(pidfd, signalNumber(signal));
    } finally {
      native.close(pidfd);
    }
  }

  /**
   * Kills the init (and so its pid namespace) and whatever is left in its
   * cgroups, removes them and the state directory. For containers whose owner
   * is gone; a live owner's Container would see its init die.
   */
  async destroy(): Promise<void> {
    const pidfd = this.openInit();
    if (pidfd >= 0) {
      try {
        native.pidfdSignal(pidfd, 9);
        await exitOf(pidfd);
      } finally {
        native.close(pidfd);
      }
    }
    for (const dir of this.snapshot.cgroupPaths ?? []) await removeCgroup(dir);
    await this.dir.remove();
  }

  private openInit(): number {
    const s = this.snapshot;
    if (!s.pid || !alive(s)) return -1;
    let fd: number;
    try {
      fd = native.pidfdOpen(s.pid);
    } catch {
      return -1;
    }
    // The pidfd pins this process; checking again closes the race with a reuse.
    if (!alive(s)) {
      native.close(fd);
      return -1;
    }
    return fd;
  }
}

function exitOf(pidfd: number): Promise<void> {
  return new Promise((resolve) => {
    // A pidfd becomes readable when its process exits (even if not our child).
    const w: FdWatch = new native.FdWatch(pidfd, () => {
      w.stop();
      resolve();
    });
  });
}

/** Kills what is left in one cgroup directory, then removes it (and berth's shared parent if empty). */
async function removeCgroup(dir: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    let procs: string;
    try {
      procs = await fs.readFile(path.join(dir, 'cgroup.procs'), 'utf8');
    } catch {
      return; // already gone
    }
    for (const pid of procs.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
    try {
      await fs.rmdir(dir);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EBUSY') throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  const parent = path.dirname(dir);
  if (path.basename(parent) === DEFAULT_PARENT) await fs.rmdir(parent).catch(() => {});
}

export function loadContainer(id: string, options: RegistryOptions = {}): Promise<ContainerRef> {
  return ContainerRef.load(id, options);
}
