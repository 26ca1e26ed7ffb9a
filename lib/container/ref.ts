// ContainerRef: a container found by id in the state root, possibly made by
// another process that may be gone — driven through the same operations as a
// Container (start, exec, kill, pause/resume, update, wait, destroy).
// A pid is trusted only together with its start time, so a recycled pid is
// never taken for the container, and a zombie is not taken for a live one.
// What needs the container's config (exec, update) is there for a detached
// container, whose state dir holds it (config.json).
import { releaseImageOf } from './image-hold.js';
import type { ContainerHandle, ContainerNetwork, ContainerState, ContainerStatus, ExitStatus, ProcessConfig } from '../../types/api.js';
import type { LinuxResources } from '../../types/oci.js';
import { type CgroupManager, type CgroupStats, cgroupManagerForRecord, removeUnconfirmedCgroups } from '../cgroups/index.js';
import { validateId } from '../config/identity.js';
import type { ResolvedConfig } from '../config/normalize.js';
import { validateUpdate } from '../config/resources.js';
import { ContainerNotFoundError, InvalidStateError } from '../errors.js';
import { hostFacts, readHostCgroupInfo } from '../host/index.js';
import { type FdWatch, native } from '../native/addon.js';
import { loadConfig } from './config-record.js';
import { withContainerLock } from '../state/op-lock.js';
import { StateDir, defaultStateRoot, initAwaitsStart, isRunning, isSameProcess } from '../state/state-dir.js';
import { sendToConsoleSocket, startThroughSocket } from './detach.js';
import { type ExecTarget, execProcess } from './exec.js';
import { runPoststartHooks, runPoststopHooks, runStartContainerHooks } from './hooks.js';
import { signalName } from '../launch/channel.js';
import { detachNetworks, networksOf } from './network.js';
import { dropVolumes } from './volumes.js';
import { stopUserNetwork } from './user-network.js';
import path from 'node:path';
import { layerDir } from '../config/rootfs.js';
import type { Readable } from 'node:stream';
import { type CopyInOptions, type CopyOutOptions, type FilesSource, copyIn, copyOut } from './files.js';
import { type CommitOptions, commitOf } from './commit.js';
import type { ImageInfo } from '../image/info.js';
import type { ContainerProcess } from './process.js';
import { signalNumber } from './process.js';

export interface RegistryOptions {
  /** Default /run/berth ($XDG_RUNTIME_DIR/berth when not root). */
  stateRoot?: string;
}

export interface RefExecOptions {
  /** The pty master of a `terminal: true` process goes to this unix socket (runc's --console-socket). */
  consoleSocket?: string;
}

function initRunning(state: ContainerState): boolean {
  return isRunning(state.pid, state.pidStartTime);
}

/**
 * The recorded state with the status corrected: 'creating' holds only while
 * the process that claimed the id runs; any other live status only while the
 * init runs (a zombie has exited).
 */
export function currentState(state: ContainerState): ContainerState {
  if (state.status === 'stopped') return state;
  if (state.status === 'creating') return isRunning(state.ownerPid, state.ownerStartTime) ? state : { ...state, status: 'stopped' };
  const waiting = initAwaitsStart(state.pid, state.pidStartTime);
  if (waiting === undefined) return { ...state, status: 'stopped' };
  // The record is written around GO by a starter that may be killed in between:
  // the init itself says whether it exec'd (an init still berth-init waits for the next start).
  if (state.status === 'created' && !waiting) return { ...state, status: 'running' };
  if ((state.status === 'running' || state.status === 'paused') && waiting) return { ...state, status: 'created' };
  return state;
}

export class ContainerRef implements ContainerHandle {
  private config: ResolvedConfig | null | undefined;

  private constructor(
    readonly id: string,
    private snapshot: ContainerState,
    private readonly dir: StateDir,
  ) {}

  static async load(id: string, options: RegistryOptions = {}): Promise<ContainerRef> {
    validateId(id);
    const dir = new StateDir(options.stateRoot ?? defaultStateRoot(), id);
    return new ContainerRef(id, currentState(await dir.read()), dir);
  }

  /** The status as of the last state() (or load). */
  get status(): ContainerStatus {
    return this.snapshot.status;
  }

  /** Host pid of the init as recorded (undefined before it was spawned). */
  get pid(): number | undefined {
    return this.snapshot.pid;
  }

  /** The networks it is attached to, as its record says (config.network). */
  get networks(): ContainerNetwork[] {
    return networksOf(this.snapshot.networks, this.snapshot.userNetwork);
  }

  /** The state as of now (re-read; 'stopped' once the init is gone). */
  async state(): Promise<ContainerState> {
    try {
      this.snapshot = currentState(await this.dir.read());
    } catch (err) {
      if (err instanceof ContainerNotFoundError) this.snapshot = { ...this.snapshot, status: 'stopped' };
      else throw err;
    }
    return this.snapshot;
  }

  /** Lets a detached container's init exec; resolves once execve succeeded. */
  async start(): Promise<void> {
    await withContainerLock(this.dir.dir, 'start', async () => {
      const state = await this.state();
      if (state.status !== 'created') throw new InvalidStateError('start', state.status, this.id);
      // 'running' before GO, as Container.start() writes it: after the exec the
      // program may exit at once, and nobody would then correct it.
      // No config.json: not a detached container (its creator drives it); an
      // unreadable one fails start rather than skip the container's hooks.
      const config = await this.resolvedConfig('start');
      try {
        await this.withTarget('start', config, (target) => runStartContainerHooks(target, state.pid!));
      } catch (err) {
        // runtime-spec: a failing startContainer hook stops the container (delete removes it).
        this.signalInit(9);
        throw err;
      }
      let written = false;
      try {
        await startThroughSocket(
          this.dir.startSocket,
          () => this.signalInit(9),
          async () => {
            await this.dir.write({ ...state, status: 'running' });
            written = true;
          },
        );
      } catch (err) {
        if (written) await this.dir.write(state).catch(() => {});
        throw err;
      }
      this.snapshot = { ...state, status: 'running' };
      // runtime-spec 1.3: a failing poststart fails start and stops the container (delete removes it).
      try {
        await runPoststartHooks(config, state.pid!);
      } catch (err) {
        this.signalInit(9);
        throw err;
      }
    });
  }

  /** An exec target rebuilt from the state dir: the init's pidfd (closed after fn), its cgroup, the config. */
  private async withTarget<T>(op: string, config: ResolvedConfig, fn: (target: ExecTarget) => Promise<T>): Promise<T> {
    const cgroup = await this.cgroupManager();
    const pidfd = this.openInit();
    if (pidfd < 0 || !cgroup) {
      if (pidfd >= 0) native.close(pidfd);
      throw new InvalidStateError(op, 'stopped', this.id);
    }
    try {
      return await fn({ config, cgroup, host: hostFacts(), supervisors: new Set(), notifyEvents: { emit: () => {} }, launch: { proc: { pid: this.snapshot.pid!, fd: pidfd } } });
    } finally {
      native.close(pidfd);
    }
  }

  /**
   * Runs another process in the running container, as Container.exec() does;
   * the container's config comes from its state dir (detached containers).
   */
  async exec(process: ProcessConfig, options: RefExecOptions = {}): Promise<ContainerProcess> {
    const state = await this.state();
    if (state.status !== 'running') throw new InvalidStateError('exec', state.status, this.id);
    const config = await this.resolvedConfig('exec');
    const { handle } = await this.withTarget('exec', config, (target) => execProcess(target, process, this));
    if (options.consoleSocket && handle.terminal) {
      try {
        sendToConsoleSocket(options.consoleSocket, handle.terminal.masterFd);
      } finally {
        handle.terminal.destroy();
      }
    }
    return handle;
  }

  /**
   * Signals the init through a pidfd opened only after its start time matched;
   * `all`: every process in the container's cgroup (runc's kill --all).
   * A paused container stays paused (see Container.kill).
   */
  async kill(signal: NodeJS.Signals | number = 'SIGTERM', options: { all?: boolean } = {}): Promise<void> {
    const n = signalNumber(signal);
    const pidfd = this.openInit();
    // `all` on a stopped container signals what is left in its cgroup (an init
    // without a pid namespace can leave children behind) and is no error, as runc.
    if (pidfd < 0 && !options.all) throw new InvalidStateError('kill', 'stopped', this.id);
    if (pidfd >= 0) {
      try {
        native.pidfdSignal(pidfd, n);
      } finally {
        native.close(pidfd);
      }
    }
    if (options.all) {
      for (const pid of await this.processes()) {
        try {
          globalThis.process.kill(pid, n);
        } catch {
          // exited meanwhile
        }
      }
    }
  }

  /**
   * 'paused' is written before the freeze and 'running' after the thaw: a
   * caller killed in between leaves a record saying paused, which resume()
   * sets right whatever the freezer holds — never a frozen container that
   * says running and refuses resume().
   */
  async pause(): Promise<void> {
    await this.transition('pause', 'running', 'paused', (cg) => cg.freeze(), 'before');
  }

  async resume(): Promise<void> {
    await this.transition('resume', 'paused', 'running', (cg) => cg.thaw(), 'after');
  }

  /** Changes resource limits of the live container (validated first, naming the field). */
  async update(resources: LinuxResources): Promise<void> {
    const state = await this.state();
    if (state.status === 'stopped' || state.status === 'creating') throw new InvalidStateError('update', state.status, this.id);
    const cgroup = await this.cgroupManager();
    if (!cgroup) throw new InvalidStateError('update', 'without a cgroup of its own', this.id);
    const update = validateUpdate(resources, { ...(await readHostCgroupInfo()), layout: cgroup.layout });
    await cgroup.update(update);
  }

  /** Host pids of every process in the container's cgroup. */
  async processes(): Promise<number[]> {
    const cgroup = await this.cgroupManager();
    return cgroup ? (await cgroup.pids()).sort((a, b) => a - b) : [];
  }

  async stats(): Promise<CgroupStats> {
    const cgroup = await this.cgroupManager();
    if (!cgroup) throw new InvalidStateError('stats', 'without a cgroup of its own', this.id);
    return cgroup.stats();
  }

  /**
   * Waits for the init to exit (its pidfd). The exit status is known where
   * this process reaps it (its parent, or the subreaper it was reparented to);
   * elsewhere exitCode and signal are null.
   */
  async wait(): Promise<ExitStatus> {
    // A zombie too: where we are its reaper, its status is still ours to take.
    const pidfd = this.openInit({ zombie: true });
    if (pidfd < 0) return { exitCode: null, signal: null, oomKilled: false };
    return new Promise((resolve) => {
      const w: FdWatch = new native.FdWatch(pidfd, () => {
        let r: ReturnType<typeof native.reap> = null;
        try {
          r = native.reap(pidfd);
        } catch {
          // ECHILD: not ours to reap; its parent gets the status.
        }
        w.stop();
        native.close(pidfd);
        resolve({ exitCode: r?.exitCode ?? null, signal: r?.signal == null ? null : signalName(r.signal), oomKilled: false });
      });
    });
  }

  /**
   * Kills the init and whatever is left in the cgroups the record says are the
   * container's own, with the owner's own killAll() (v2 cgroup.kill; v1
   * freeze-kill-thaw, so a paused container dies too) and destroy() (those
   * cgroups and berth's shared parent when empty), then removes the state
   * directory. An id still being created by a live process is refused
   * (InvalidStateError 'creating'): it is not yet anyone else's to remove.
   */
  async destroy(): Promise<void> {
    const state = await this.state();
    if (state.status === 'creating') throw new InvalidStateError('destroy', 'creating', this.id);
    // Before any signal: a record naming cgroups that cannot be a container's is refused.
    // Planned cgroups (a v1 child was placing itself) are its own only once it said so.
    const confirmed = state.cgroupMarker === undefined || (await this.dir.cgroupsConfirmed());
    const cgroup = cgroupManagerForRecord(confirmed ? state.cgroupPaths : []);
    // A zombie too: reaped here where we are its reaper (a subreaper's delete).
    const pidfd = this.openInit({ zombie: true });
    try {
      if (pidfd >= 0) native.pidfdSignal(pidfd, 9);
      if (cgroup) await cgroup.killAll();
      if (pidfd >= 0) await exitOf(pidfd, state.pid!, this.id);
    } finally {
      if (pidfd >= 0) native.close(pidfd);
    }
    if (cgroup) await cgroup.destroy();
    // An owner that died between mkdir and saying so: what is empty of it goes, nothing is killed.
    else if (!confirmed) await removeUnconfirmedCgroups(state.cgroupPaths);
    // Deletion goes on whatever config.json holds; poststop hooks that cannot be read are said, not skipped silently.
    const config = await loadConfig(this.dir.configFile).catch((err: Error) => {
      process.emitWarning(`poststop hooks of ${this.id} not run: cannot read ${this.dir.configFile}: ${err.message}`, { type: 'BerthHookWarning', code: 'BERTH_HOOK_CONFIG_UNREADABLE' });
      return null;
    });
    if (config) await runPoststopHooks(config, state.pid);
    // Without config.json (not detached) the store's record of an image is stale once the state dir is gone.
    await releaseImageOf(config, this.dir.dir);
    const volumeError = await dropVolumes(state.volumes, this.id);
    await stopUserNetwork(state.userNetwork);
    // Its networks (mappings, leases, names; the veth went with its namespace), from the record: whoever made the container.
    const networkError = await detachNetworks(this.dir.root, this.id, state.networks).then(() => null, (e: unknown) => e);
    await this.dir.remove();
    if (networkError) throw networkError;
    if (volumeError) throw volumeError;
  }

  private async transition(op: string, from: ContainerStatus, to: ContainerStatus, act: (cg: CgroupManager) => Promise<void>, write: 'before' | 'after'): Promise<void> {
    await withContainerLock(this.dir.dir, op, async () => {
      const state = await this.state();
      if (state.status !== from) throw new InvalidStateError(op, state.status, this.id);
      const cgroup = await this.cgroupManager();
      if (!cgroup) throw new InvalidStateError(op, 'without a cgroup of its own', this.id);
      if (write === 'before') await this.dir.write({ ...state, status: to });
      try {
        await act(cgroup);
      } catch (err) {
        if (write === 'before') await this.dir.write(state).catch(() => {});
        throw err;
      }
      if (write === 'after') await this.dir.write({ ...state, status: to });
      this.snapshot = { ...state, status: to };
    });
  }

  private async cgroupManager(): Promise<CgroupManager | null> {
    const s = this.snapshot;
    const confirmed = s.cgroupMarker === undefined || (await this.dir.cgroupsConfirmed());
    return cgroupManagerForRecord(confirmed ? s.cgroupPaths : []);
  }

  /** copyIn for a container found by id (see Container.copyIn). */
  async copyIn(dest: string, source: Buffer | string | Readable, options: CopyInOptions = {}): Promise<void> {
    return copyIn(await this.filesSource('copyIn'), dest, source, options);
  }

  /** copyOut for a container found by id (see Container.copyOut). */
  async copyOut(path: string, options?: { format?: 'tar' }): Promise<Readable>;
  async copyOut(path: string, options: { format: 'file' }): Promise<Buffer>;
  async copyOut(path: string, options: CopyOutOptions = {}): Promise<Readable | Buffer> {
    return copyOut(await this.filesSource('copyOut'), path, options);
  }

  /** commit for a container found by id (see Container.commit); needs its config.json (a detached container's). */
  async commit(options: CommitOptions = {}): Promise<ImageInfo> {
    const config = await this.resolvedConfig('commit');
    await this.state();
    return commitOf({ id: this.id, config, status: () => this.snapshot.status, pause: () => this.pause(), resume: () => this.resume() }, options);
  }

  // While the init lives its /proc root is the container's; once stopped, the
  // overlay's layers are in config.json (a detached container's), and a
  // container whose config is not there has only its empty mount point left.
  private async filesSource(op: string): Promise<FilesSource> {
    const s = await this.state();
    if (this.config === undefined) this.config = await loadConfig(this.dir.configFile).catch(() => null);
    const config = this.config;
    const live = () => (initRunning(s) ? s.pid : undefined);
    if (live() === undefined && !config && s.rootfs === path.join(layerDir(this.dir.root, this.id), 'root')) {
      throw new InvalidStateError(op, 'stopped, and its overlay layers are known only to the process that created it (not detached)', this.id);
    }
    return {
      id: this.id,
      livePid: live,
      rootfs: config?.rootfs ?? s.rootfs,
      ...(config?.layers ? { layers: config.layers } : {}),
      ...(config?.userns ? { uidMappings: config.userns.uidMappings, gidMappings: config.userns.gidMappings } : {}),
    };
  }

  private async resolvedConfig(op: string): Promise<ResolvedConfig> {
    if (this.config === undefined) this.config = await loadConfig(this.dir.configFile);
    if (!this.config) throw new InvalidStateError(op, 'owned by the process that created it (not detached)', this.id);
    return this.config;
  }

  private signalInit(sig: number): void {
    const fd = this.openInit();
    if (fd < 0) return;
    native.pidfdSignal(fd, sig);
    native.close(fd);
  }

  /** The init's pidfd, opened only while the recorded process runs (or, with zombie, is not yet reaped); else -1. */
  private openInit({ zombie = false }: { zombie?: boolean } = {}): number {
    const s = this.snapshot;
    const live = () => (zombie ? isSameProcess(s.pid, s.pidStartTime) : initRunning(s));
    if (!live()) return -1;
    let fd: number;
    try {
      fd = native.pidfdOpen(s.pid!);
    } catch {
      return -1;
    }
    // The pidfd pins this process; checking again closes the race with a reuse.
    if (!live()) {
      native.close(fd);
      return -1;
    }
    return fd;
  }
}

/**
 * How long destroy() waits for a killed init. A pid namespace's init finishes
 * exiting only once every zombie in it was reaped, and an exec'd process whose
 * caller died is reparented to that caller's subreaper, not to the init: until
 * that subreaper reaps it the init cannot go, and a bounded wait says so.
 */
const INIT_EXIT_TIMEOUT_MS = 10_000;

function exitOf(pidfd: number, pid: number, id: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      w.stop();
      reject(new InvalidStateError('destroy', `still exiting ${INIT_EXIT_TIMEOUT_MS / 1000} s after SIGKILL (init ${pid}: a process of its pid namespace waits, as a zombie, for a reaper outside it)`, id));
    }, INIT_EXIT_TIMEOUT_MS);
    // A pidfd becomes readable when its process exits (even if not our child).
    const w: FdWatch = new native.FdWatch(pidfd, () => {
      w.stop();
      clearTimeout(timer);
      // Reparented to us (we are its subreaper): reaped here, or it stays a zombie.
      try {
        native.reap(pidfd);
      } catch {
        // not our child
      }
      resolve();
    });
  });
}

export function loadContainer(id: string, options: RegistryOptions = {}): Promise<ContainerRef> {
  return ContainerRef.load(id, options);
}
