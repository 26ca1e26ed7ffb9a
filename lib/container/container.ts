// Container: the OCI lifecycle (creating -> created -> running ⇄ paused ->
// stopped) over one init process, its state directory, its cgroup and the
// processes exec'd into it. Made by create.ts; exec.ts runs more processes in it.
import { releaseImageOf } from './image-hold.js';
import { EventEmitter } from 'node:events';
import type { ContainerHandle, ContainerNetwork, ContainerState, ContainerStatus, ExitStatus, ProcessConfig, SeccompRequest } from '../../types/api.js';
import type { LinuxResources } from '../../types/oci.js';
import type { CgroupStats } from '../cgroups/index.js';
import type { ResolvedConfig } from '../config/normalize.js';
import { validateUpdate } from '../config/resources.js';
import { ConfigError, InvalidStateError } from '../errors.js';
import { readHostCgroupInfo } from '../host/index.js';
import type { PidHandle } from '../launch/channel.js';
import { letExec } from '../launch/spawn.js';
import { releaseRange } from '../state/userns-leases.js';
import { execProcess } from './exec.js';
import { startThroughSocket } from './detach.js';
import { runPoststartHooks, runPoststopHooks, runStartContainerHooks } from './hooks.js';
import { withContainerLock } from '../state/op-lock.js';
import type { ContainerParts } from './parts.js';
import { ContainerProcess, signalNumber } from './process.js';
import { stateRecord } from './state-record.js';
import { detachNetworks, networksOf } from './network.js';
import { dropVolumes } from './volumes.js';
import { stopUserNetwork } from './user-network.js';
import type { Readable } from 'node:stream';
import { type CopyInOptions, type CopyOutOptions, type FilesSource, copyIn, copyOut } from './files.js';
import { type CommitOptions, commitOf } from './commit.js';
import type { ImageInfo } from '../image/info.js';

export interface ContainerEvents {
  exit: [status: ExitStatus];
  /** The kernel's OOM killer took a process of the container. */
  oom: [];
  /** A syscall stopped by an SCMP_ACT_NOTIFY rule, before seccompNotify.handler answers it. */
  seccomp: [request: SeccompRequest];
  newListener: [event: string | symbol, listener: (...args: unknown[]) => void];
}

export class Container extends EventEmitter<ContainerEvents> implements ContainerHandle {
  readonly id: string;
  /** The validated configuration with every default filled in. */
  readonly config: ResolvedConfig;
  /**
   * Where create() spent its time, in ms since it was called: 'spawn' (config
   * checked, state dir claimed: native spawn called), 'worker' (a thread-pool
   * thread took it), 'clone' / 'cloned' (clone3 called / returned once
   * berth-init was exec'd), then the child's own marks ('exec' = berth-init's
   * first instruction, 'start', 'fds', 'cgroup', 'rootfs', 'hostname',
   * 'loopback', 'identity', 'ready'; with a new user namespace also 'userns' (about to
   * make it), 'maps' (the parent wrote the maps), 'unshare' (the other namespaces made)
   * and 'forked' (the process in the new pid namespace runs)), and 'ready-seen' when
   * Node read the child's READY.
   */
  readonly setupTimings: Record<string, number>;
  private current: ContainerStatus = 'created';
  private readonly parts: ContainerParts;
  private readonly init: ContainerProcess;
  private readonly execs = new Set<PidHandle>();
  private stopOomWatch: () => void = () => {};
  private stateWrites: Promise<void>;
  private destroyed: Promise<void> | null = null;
  private oomKillsReported = 0;

  /** @internal made by createContainer() (create.ts). */
  constructor(parts: ContainerParts) {
    super();
    this.parts = parts;
    this.id = parts.config.id;
    this.config = parts.config;
    this.setupTimings = parts.setupTimings;
    this.stateWrites = parts.firstWrite;
    const { launch, cgroup } = parts;
    parts.notifyEvents.emit = (request) => this.emit('seccomp', request);
    // The live 'oom' watch costs an eventfd (v1) or an inotify watch (v2): made
    // only once someone listens. wait()'s oomKilled reads the counter at exit.
    const onListener = (event: string | symbol) => {
      if (event !== 'oom' || this.destroyed) return;
      this.off('newListener', onListener);
      this.stopOomWatch = cgroup.watchOom(() => void this.reportOom());
    };
    this.on('newListener', onListener);
    this.init = new ContainerProcess(
      launch.proc,
      launch.stdio.streams,
      async (s) => {
        // Also catches up on an OOM kill the watcher has not seen yet (v1 polls every
        // 100 ms; v2's inotify is asynchronous too): wait() saying oomKilled implies
        // 'oom' was emitted, even when the caller destroys the container right after.
        const kills = await this.reportOom();
        return kills > 0 ? { ...s, oomKilled: true } : s;
      },
      launch.terminal,
    );
    this.init.on('exit', (s) => {
      this.current = 'stopped';
      // Deferred: whoever waited for the exit usually destroys the container
      // right away, and then this write would only precede the removal.
      void this.persist({ deferred: true });
      this.emit('exit', s);
    });
  }

  /** The OCI status as this process knows it: created, running, paused or stopped. */
  get status(): ContainerStatus {
    return this.current;
  }

  /** The OCI state record (what state.json says, and what loadContainer(id).state() returns). */
  async state(): Promise<ContainerState> {
    return stateRecord(this.config, this.current, this.pid, this.parts.record, this.parts.cgroup.ownedPaths);
  }

  /** Host pid of the container's init process. */
  get pid(): number {
    return this.parts.launch.proc.pid;
  }

  /** The networks it is attached to (config.network): interface, addresses, MAC, the host ports bound. */
  get networks(): ContainerNetwork[] {
    return networksOf(this.parts.record.networks, this.parts.record.userNetwork);
  }

  /** The init process (also returned by start()). */
  get process(): ContainerProcess {
    return this.init;
  }

  /** Lets the init exec. Resolves once execve succeeded (and state.json says 'running'); on failure the container is destroyed. */
  async start(): Promise<ContainerProcess> {
    const { launch, execAfterReady } = this.parts;
    // Told to exec right after READY, the process may have run and exited by now.
    const startable = this.current === 'created' || (execAfterReady && this.current === 'stopped');
    if (!startable || this.destroyed) throw new InvalidStateError('start', this.current, this.id);
    // The record says 'running' while the init execs, not after: the write
    // (a thread-pool job, ~1 ms while the new process runs beside it on two
    // cores) was a third of start(). If the exec fails, destroy() awaits this
    // write and removes the record with everything else. run(): 'running' is
    // written a tick later, unless the container is destroyed first.
    if (this.config.detached) {
      await this.startDetached();
      return this.init;
    }
    const written = execAfterReady ? null : this.persist({ status: 'running' });
    try {
      await runStartContainerHooks(this.parts, launch.proc.pid);
      await letExec(launch, !execAfterReady);
    } catch (err) {
      await this.destroy();
      throw err;
    }
    if (this.current === 'created') this.current = 'running';
    if (written) await written;
    else void this.persist({ deferred: true });
    launch.stdio.streams.materialize();
    await this.poststart();
    return this.init;
  }

  /** Detached: through the start socket, as any other process would (one start across all of them). */
  private async startDetached(): Promise<void> {
    const { launch, stateDir } = this.parts;
    try {
      await withContainerLock(stateDir.dir, 'start', async () => {
        const recorded = await stateDir.read();
        if (recorded.status !== 'created') throw new InvalidStateError('start', recorded.status, this.id);
        await runStartContainerHooks(this.parts, launch.proc.pid);
        await startThroughSocket(stateDir.startSocket, () => launch.proc.signal(9), () => this.persist({ status: 'running' }));
      });
    } catch (err) {
      if (!(err instanceof InvalidStateError)) await this.destroy();
      throw err;
    }
    if (this.current === 'created') this.current = 'running';
    launch.stdio.streams.materialize();
    await this.poststart();
  }

  /** runtime-spec 1.3: a failing poststart hook fails start, and the container goes. */
  private async poststart(): Promise<void> {
    try {
      await runPoststartHooks(this.config, this.pid);
    } catch (err) {
      await this.destroy();
      throw err;
    }
  }

  /**
   * Runs another process in the running container: it joins every namespace of
   * the init (one setns through the init's pidfd) and its root, with the init's
   * settings unless `process` says otherwise.
   */
  async exec(process: ProcessConfig): Promise<ContainerProcess> {
    if (this.current !== 'running' || this.destroyed) throw new InvalidStateError('exec', this.current, this.id);
    const { proc, handle } = await execProcess(this.parts, process, this);
    this.execs.add(proc);
    void proc.exited.then(() => this.execs.delete(proc));
    return handle;
  }

  /** Host pids of every process in the container's cgroup. */
  async processes(): Promise<number[]> {
    if (this.destroyed) return [];
    return (await this.parts.cgroup.pids()).sort((a, b) => a - b);
  }

  /** CPU, memory, pids and io figures from the container's cgroup. */
  async stats(): Promise<CgroupStats> {
    if (this.destroyed) throw new InvalidStateError('stats', 'destroyed', this.id);
    return this.parts.cgroup.stats();
  }

  /** Changes resource limits of the live container (validated first, naming the field; a refused value names its file). */
  async update(resources: LinuxResources): Promise<void> {
    if (this.current === 'stopped' || this.destroyed) throw new InvalidStateError('update', this.current, this.id);
    const host = await readHostCgroupInfo();
    const update = validateUpdate(resources, { ...host, layout: this.parts.cgroup.layout });
    await this.checkMemoryUsage(update);
    await this.parts.cgroup.update(update);
  }

  /**
   * memory.checkBeforeUpdate (this update's, else the container's config's): a
   * new memory limit (or memory+swap limit) at or below what the container uses
   * now is refused before anything is written, as runc does on cgroup v2 (its
   * CheckMemoryUsage). Without it the kernel reclaims, swaps or OOM-kills to fit.
   */
  private async checkMemoryUsage(update: LinuxResources): Promise<void> {
    const m = update.memory;
    const check = m?.checkBeforeUpdate ?? this.config.resources?.memory?.checkBeforeUpdate ?? false;
    if (!m || !check) return;
    const limit = m.limit ?? 0;
    const swap = m.swap ?? 0;
    if (limit <= 0 && swap <= 0) return;
    const { memory } = await this.parts.cgroup.stats();
    if (limit > 0 && memory.current >= limit) {
      throw new ConfigError('resources.memory.limit', `${limit} is not above the container's memory usage (${memory.current} bytes), and memory.checkBeforeUpdate is set`);
    }
    if (swap > 0 && memory.current + memory.swapCurrent >= swap) {
      throw new ConfigError('resources.memory.swap', `${swap} is not above the container's memory+swap usage (${memory.current + memory.swapCurrent} bytes), and memory.checkBeforeUpdate is set`);
    }
  }

  /** Freezes every process of the container (state 'paused'). */
  async pause(): Promise<void> {
    if (this.current !== 'running' || this.destroyed) throw new InvalidStateError('pause', this.current, this.id);
    await this.parts.cgroup.freeze();
    // destroy() began meanwhile and, seeing it running, only SIGKILLs the init,
    // which the v1 freezer would hold back forever.
    if (this.destroyed) {
      await this.parts.cgroup.thaw().catch(() => {});
      throw new InvalidStateError('pause', 'stopped', this.id);
    }
    this.current = 'paused';
    await this.persist();
  }

  async resume(): Promise<void> {
    if (this.current !== 'paused' || this.destroyed) throw new InvalidStateError('resume', this.current, this.id);
    await this.parts.cgroup.thaw();
    if (this.current === 'paused') this.current = 'running';
    await this.persist();
  }

  /**
   * Writes into the container, created, running, paused or stopped (until
   * destroy): the bytes of `source` as the file `dest`, or with `{ archive:
   * true }` a tar stream unpacked into the directory `dest`. Paths resolve
   * inside the container's root as its processes see it (its volumes too while
   * the init lives); nothing it made can lead the write outside.
   */
  copyIn(dest: string, source: Buffer | string | Readable, options: CopyInOptions = {}): Promise<void> {
    return copyIn(this.filesSource('copyIn'), dest, source, options);
  }

  /** What the container has at `path`: a tar stream (default), or with `{ format: 'file' }` a regular file's bytes. */
  copyOut(path: string, options?: { format?: 'tar' }): Promise<Readable>;
  copyOut(path: string, options: { format: 'file' }): Promise<Buffer>;
  copyOut(path: string, options: CopyOutOptions = {}): Promise<Readable | Buffer> {
    return copyOut(this.filesSource('copyOut'), path, options);
  }

  /**
   * Its writable layer as a new image on top of the one it was made from
   * (config.image), with the image's config plus `changes`; a running
   * container is paused meanwhile unless `pause: false`.
   */
  commit(options: CommitOptions = {}): Promise<ImageInfo> {
    if (this.destroyed) return Promise.reject(new InvalidStateError('commit', 'destroyed', this.id));
    return commitOf({ id: this.id, config: this.config, status: () => this.current, pause: () => this.pause(), resume: () => this.resume() }, options);
  }

  private filesSource(op: string): FilesSource {
    if (this.destroyed) throw new InvalidStateError(op, 'destroyed', this.id);
    const config = this.config;
    return {
      id: this.id,
      livePid: () => (this.current === 'stopped' || this.destroyed ? undefined : this.pid),
      rootfs: config.rootfs,
      ...(config.layers ? { layers: config.layers } : {}),
      ...(config.userns ? { uidMappings: config.userns.uidMappings, gidMappings: config.userns.gidMappings } : {}),
    };
  }

  /** Waits for the init to exit. */
  wait(): Promise<ExitStatus> {
    return this.init.wait();
  }

  /**
   * Signals the init (in a new pid namespace its death ends every process in it).
   * A paused container stays paused, as with runc: the signal is delivered and
   * a frozen process acts on it once resumed (the v2 freezer lets SIGKILL
   * through at once; v1 holds back every signal). destroy() ends a paused container.
   */
  async kill(signal: NodeJS.Signals | number = 'SIGTERM'): Promise<void> {
    const n = signalNumber(signal);
    if (this.current === 'stopped' || this.destroyed) throw new InvalidStateError('kill', this.current, this.id);
    this.parts.launch.proc.signal(n);
  }

  /** Kills what still runs and removes everything berth made. Idempotent. */
  destroy(): Promise<void> {
    this.destroyed ??= (async () => {
      const { launch, cgroup, config, stateDir } = this.parts;
      launch.sync.close();
      this.stopOomWatch();
      // In its own pid namespace the init's death takes every process of the
      // container with it (exec'd ones joined that namespace): killing the init
      // is enough, and the cgroup's last exits are awaited by its removal.
      // Otherwise everything in the cgroup is killed (v2 cgroup.kill; v1
      // freeze-kill-thaw, so nothing forks away) — and so is a paused one's:
      // a task frozen by the v1 freezer gets no SIGKILL until it is thawed.
      const ownPidNs = config.namespaces.some((n) => n.type === 'pid' && n.path === undefined);
      const killed = ownPidNs && this.current !== 'paused' ? Promise.resolve(null) : cgroup.killAll().catch((e: unknown) => e);
      await Promise.all([launch.proc.killAndReap(), ...[...this.execs].map((p) => p.killAndReap())]);
      // After the kills: a caller still waiting on a notify would get ENOSYS and run on.
      for (const s of [...this.parts.supervisors]) s.close();
      const killError = await killed;
      this.current = 'stopped';
      await runPoststopHooks(config, launch.proc.pid);
      // Streams the caller took are theirs to drain; ends nobody took are closed.
      launch.stdio.streams.closeUnused();
      await this.stateWrites;
      // The record goes last: killed in between, this process leaves cgroups
      // that state.json still names, and anyone's loadContainer().destroy() removes them.
      // userns 'auto': the range goes back before the record (a lease outliving
      // its record is reclaimed anyway); the processes that used it are reaped.
      if (config.userns?.slot !== undefined) await releaseRange(config.stateRoot, config.id, config.userns.slot).catch(() => {});
      await releaseImageOf(config, stateDir.dir);
      const volumeError = await dropVolumes(this.parts.record.volumes, config.id);
      await stopUserNetwork(this.parts.record.userNetwork);
      // Its networks: port mappings, leases, names (the veth goes with its namespace: its processes are gone).
      const networkError = await detachNetworks(config.stateRoot, config.id, this.parts.record.networks).then(() => null, (e: unknown) => e);
      // One thread-pool job for both, in that order; if the cgroups' removal
      // failed, the record's removal is done (again: ENOENT is fine) on its own.
      const [cgroupError, stateErrnos] = await cgroup.destroy(stateDir.removalItems()).then(
        (errnos) => [null, errnos] as const,
        (e: unknown) => [e, null] as const,
      );
      if (stateErrnos) await stateDir.finishRemoval(stateErrnos);
      else await stateDir.remove();
      if (killError) throw killError;
      if (cgroupError) throw cgroupError;
      if (networkError) throw networkError;
      if (volumeError) throw volumeError;
    })();
    return this.destroyed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }

  /** Emits 'oom' once per observed increase of the cgroup's OOM kill count; returns the count. */
  private async reportOom(): Promise<number> {
    const kills = await this.parts.cgroup.oomKillCount().catch(() => 0);
    if (kills > this.oomKillsReported) {
      this.oomKillsReported = kills;
      this.emit('oom');
    }
    return kills;
  }

  private persist({ deferred = false, status }: { deferred?: boolean; status?: ContainerStatus } = {}): Promise<void> {
    this.stateWrites = this.stateWrites.then(async () => {
      if (deferred) await new Promise((resolve) => setImmediate(resolve));
      if (this.destroyed) return;
      const { config, launch, record, cgroup, stateDir } = this.parts;
      await stateDir.write(stateRecord(config, status ?? this.current, launch.proc.pid, record, cgroup.ownedPaths)).catch(() => {});
    });
    return this.stateWrites;
  }
}
