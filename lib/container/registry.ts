// Containers seen from any process through the state directory: list them,
// and load one to signal or destroy it (e.g. what a crashed owner left).
// A pid is trusted only together with its start time, so a recycled pid is
// never taken for the container, and a zombie is not taken for a live one.
import fs from 'node:fs/promises';
import type { ContainerHandle, ContainerState, ContainerStatus } from '../../types/api.js';
import { cgroupManagerForRecord, removeUnconfirmedCgroups } from '../cgroups/index.js';
import { validateId } from '../config/identity.js';
import { ContainerNotFoundError, InvalidStateError } from '../errors.js';
import { type FdWatch, native } from '../native/addon.js';
import { StateDir, defaultStateRoot, isRunning, sweepClaims } from '../state/state-dir.js';
import { signalNumber } from './process.js';

export interface RegistryOptions {
  /** Default /run/berth ($XDG_RUNTIME_DIR/berth when not root). */
  stateRoot?: string;
}

function initRunning(state: ContainerState): boolean {
  return isRunning(state.pid, state.pidStartTime);
}

/**
 * The recorded state with the status corrected: 'creating' holds only while
 * the process that claimed the id runs; any other live status only while the
 * init runs (a zombie has exited).
 */
function current(state: ContainerState): ContainerState {
  if (state.status === 'stopped') return state;
  const live = state.status === 'creating' ? isRunning(state.ownerPid, state.ownerStartTime) : initRunning(state);
  return live ? state : { ...state, status: 'stopped' };
}

/** Every container in the state root (live, being created, or left over), sorted by id. */
export async function listContainers(options: RegistryOptions = {}): Promise<ContainerState[]> {
  const root = options.stateRoot ?? defaultStateRoot();
  let names: string[];
  try {
    names = await fs.readdir(root);
  } catch {
    return [];
  }
  // Claims a crash left half-made are not containers; their removal is due to no one else.
  await sweepClaims(root, names);
  const out: ContainerState[] = [];
  for (const id of names.filter((n) => !n.startsWith('.')).sort()) {
    try {
      out.push(current(await new StateDir(root, id).read()));
    } catch {
      // removed right now
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
    return new ContainerRef(id, current(await dir.read()), dir);
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

  /**
   * Signals the init through a pidfd opened only after its start time matched.
   * A paused container stays paused (see Container.kill).
   */
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
   * Kills the init and whatever is left in the cgroups the record says are the
   * container's own, with the owner's own killAll() (v2 cgroup.kill; v1
   * freeze-kill-thaw, so a paused container dies too) and destroy() (those
   * cgroups and berth's shared parent when empty), then removes the state
   * directory. For containers whose owner is gone; a live owner's Container
   * would see its init die. An id still being created by a live process is
   * refused (InvalidStateError 'creating'): it is not yet anyone else's to remove.
   */
  async destroy(): Promise<void> {
    const state = await this.state();
    if (state.status === 'creating') throw new InvalidStateError('destroy', 'creating', this.id);
    // Before any signal: a record naming cgroups that cannot be a container's is refused.
    // Planned cgroups (a v1 child was placing itself) are its own only once it said so.
    const confirmed = state.cgroupMarker === undefined || (await this.dir.cgroupsConfirmed());
    const cgroup = cgroupManagerForRecord(confirmed ? state.cgroupPaths : []);
    const pidfd = this.openInit();
    try {
      if (pidfd >= 0) native.pidfdSignal(pidfd, 9);
      if (cgroup) await cgroup.killAll();
      if (pidfd >= 0) await exitOf(pidfd);
    } finally {
      if (pidfd >= 0) native.close(pidfd);
    }
    if (cgroup) await cgroup.destroy();
    // An owner that died between mkdir and saying so: what is empty of it goes, nothing is killed.
    else if (!confirmed) await removeUnconfirmedCgroups(state.cgroupPaths);
    await this.dir.remove();
  }

  private openInit(): number {
    const s = this.snapshot;
    if (!initRunning(s)) return -1;
    let fd: number;
    try {
      fd = native.pidfdOpen(s.pid!);
    } catch {
      return -1;
    }
    // The pidfd pins this process; checking again closes the race with a reuse.
    if (!initRunning(s)) {
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

export function loadContainer(id: string, options: RegistryOptions = {}): Promise<ContainerRef> {
  return ContainerRef.load(id, options);
}
