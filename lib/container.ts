// Container: the OCI lifecycle (creating -> created -> running -> stopped) over
// one init process, its state directory, the processes exec'd into it, and
// everything else it owns. Every failure path removes what was made before it.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import type { ContainerConfig, ContainerState, ContainerStatus, ExitStatus, ProcessConfig } from '../types/api.js';
import type { LinuxResources } from '../types/oci.js';
import { type CgroupManager, type CgroupStats, createCgroupManager } from './cgroups/index.js';
import { resolveExecProcess } from './config/exec.js';
import { type ResolvedConfig, normalizeConfig } from './config/normalize.js';
import { InvalidStateError, SetupError, errnoName } from './errors.js';
import { CLONE_NS } from './launch/constants.js';
import { PidHandle, SyncChannel, messageToError, readSetup } from './launch/child.js';
import { setupSlot } from './launch/admission.js';
import { containerPlan, execPlan } from './launch/plan.js';
import { encodePlan } from './launch/plan-codec.js';
import { type PreparedStdio, prepareStdio } from './launch/stdio.js';
import { type NativePlan, native } from './native.js';
import { ContainerProcess, signalNumber } from './process.js';
import { StateDir, processStartTime } from './state.js';
import { Terminal } from './terminal.js';

const OCI_VERSION = '1.2.0';

/**
 * Test seam: called with the host pid of an exec'd process while it sits in the
 * container, set up but not yet exec'd — the window CVE-2019-5736 lived in.
 */
const kBeforeExecStart = Symbol.for('berth.test.beforeExecStart');
/** @internal run() takes the init's raw output pipes instead of streams (lib/run.ts). */
export const kTakeOutputFd = Symbol('berth.takeOutputFd');
/** @internal run()'s start(): see Container[kStartDeferringState]. */
export const kStartDeferringState = Symbol('berth.startDeferringState');

export interface ContainerEvents {
  exit: [status: ExitStatus];
  /** The kernel's OOM killer took a process of the container. */
  oom: [];
  newListener: [event: string | symbol, listener: (...args: unknown[]) => void];
}

/** What a spawn made, for the failure path to take apart. */
interface Launch {
  sync: SyncChannel;
  proc: PidHandle;
  stdio: PreparedStdio;
  terminal: Terminal | null;
}

/** µs on CLOCK_MONOTONIC, the clock the child's marks use. */
function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

async function spawnOrThrow(plan: NativePlan, step: string): ReturnType<typeof native.spawn> {
  try {
    return await native.spawn(encodePlan(plan));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new SetupError(step, `cannot create the container process: ${e.message}`, {
      ...(e.code ? { errno: e.code } : {}),
      syscall: e.syscall ?? 'clone3',
      cause: err,
    });
  }
}

function openOrThrow(path: string, step: string, what: string): number {
  try {
    return fs.openSync(path, 'r');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new SetupError(step, `cannot open ${what} ${path}: ${e.code}`, {
      ...(e.code ? { errno: e.code } : {}),
      syscall: 'open',
      path,
    });
  }
}

/**
 * Lets the process exec (unless it was told to right after READY) and waits
 * for the sync socket's EOF (exec'd) or an error.
 */
async function goAndConfirmExec(launch: Launch, sendGo = true): Promise<void> {
  const err = sendGo ? launch.sync.sendGo() : 0;
  if (err !== 0) throw new SetupError('start', 'the container process is gone', { errno: errnoName(err), syscall: 'send' });
  const m = await launch.sync.next();
  if (!m.eof) throw messageToError(m, launch.proc);
}

export class Container extends EventEmitter<ContainerEvents> {
  readonly id: string;
  /** The validated configuration with every default filled in. */
  readonly config: ResolvedConfig;
  private status: ContainerStatus = 'creating';
  private readonly stateDir: StateDir;
  private readonly launch: Launch;
  private readonly init: ContainerProcess;
  private readonly execs = new Set<PidHandle>();
  /** Made by run(): the init execs right after setup, without start()'s go. */
  private execsAfterReady = false;
  /**
   * Where create() spent its time, in ms since it was called: 'spawn' (config
   * checked, state dir claimed: native spawn called), 'worker' (a thread-pool
   * thread took it), 'clone' / 'cloned' (clone3 called / returned once
   * berth-init was exec'd), then the child's own marks ('exec' = berth-init's
   * first instruction, 'start', 'fds', 'cgroup', 'rootfs', 'network',
   * 'identity', 'ready'), and 'ready-seen' when Node read the child's READY.
   */
  setupTimings: Record<string, number> = {};
  private readonly cgroup: CgroupManager;
  private stopOomWatch: () => void = () => {};
  private readonly created: string;
  private readonly startTime: number | undefined;
  private stateWrites: Promise<void> = Promise.resolve();
  private destroyed: Promise<void> | null = null;
  private oomKillsReported = 0;

  private constructor(config: ResolvedConfig, stateDir: StateDir, launch: Launch, cgroup: CgroupManager, record: InitRecord) {
    super();
    this.id = config.id;
    this.config = config;
    this.stateDir = stateDir;
    this.launch = launch;
    this.cgroup = cgroup;
    this.startTime = record.startTime;
    this.created = record.created;
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
      this.status = 'stopped';
      // Deferred: whoever waited for the exit usually destroys the container
      // right away, and then this write would only precede the removal.
      void this.persist({ deferred: true });
      this.emit('exit', s);
    });
  }

  /**
   * @internal use createContainer(). execAfterReady (run()): the process execs
   * as soon as it is set up, and [kStartDeferringState]() only confirms it.
   */
  static async create(input: ContainerConfig, { execAfterReady = false } = {}): Promise<Container> {
    const createdAt = nowUs();
    // The setup slot first: a hundred creates called in one tick then do their
    // synchronous part (config checks, state claim, plan) a few at a time, as
    // slots free up, instead of all at once in the caller's tick.
    const release = await setupSlot();
    try {
      return await Container.setUp(input, createdAt, release, execAfterReady);
    } finally {
      release();
    }
  }

  private static async setUp(input: ContainerConfig, createdAt: number, release: () => void, execAfterReady: boolean): Promise<Container> {
    const config = await normalizeConfig(input);
    const stateDir = new StateDir(config.stateRoot, config.id);
    await stateDir.claim();
    let stdio: PreparedStdio | null = null;
    let launch: Launch | null = null;
    let cgroup: CgroupManager | null = null;
    let cgroupFd = -1;
    let firstWrite: Promise<unknown> = Promise.resolve(null);
    const joinFds: number[] = [];
    try {
      cgroup = createCgroupManager({ id: config.id, ...(config.cgroupsPath !== undefined ? { cgroupsPath: config.cgroupsPath } : {}) });
      // cgroup v2: the init is born in its cgroup (CLONE_INTO_CGROUP). v1 has no
      // such thing: the child joins (and limits) itself before anything else.
      const placement = await cgroup.childPlacement(config.resources);
      if (!placement) {
        await cgroup.create(config.resources);
        cgroupFd = cgroup.openIntoCgroupFd();
      }
      stdio = prepareStdio(config.process.stdio);
      const joins = config.namespaces
        .filter((n) => n.path !== undefined)
        .map((n) => {
          const fd = openOrThrow(n.path!, 'setns', `${n.type} namespace`);
          joinFds.push(fd);
          return { fd, nstype: CLONE_NS[n.type] };
        });
      let spawned;
      const spawnAt = nowUs();
      try {
        spawned = await spawnOrThrow(containerPlan(config, { fds: stdio.childFds, joins, cgroupFd, placement, execAfterReady }), 'clone');
      } finally {
        for (const fd of joinFds.splice(0)) native.close(fd);
        if (cgroupFd >= 0) native.close(cgroupFd);
        cgroupFd = -1;
        stdio.closeChildEnds();
      }
      launch = { sync: new SyncChannel(spawned.syncFd), proc: new PidHandle(spawned.pid, spawned.pidfd), stdio, terminal: null };
      // state.json ('created') is written while the child sets itself up; a
      // failed setup waits for this write before removing the directory.
      const record: InitRecord = { created: new Date().toISOString(), startTime: spawned.startTime ?? processStartTime(spawned.pid) };
      firstWrite = stateDir
        .write(stateRecord(config, 'created', spawned.pid, record, cgroup.paths))
        .then(() => null, (e: unknown) => e);
      const report = await readSetup(launch.sync, false);
      release();
      const readyAt = nowUs();
      if (report.cgroupCreated !== undefined) cgroup.adoptChildCreated(report.cgroupCreated);
      if (report.failure) throw messageToError(report.failure, launch.proc);
      if (report.ptyFd !== undefined) launch.terminal = new Terminal(report.ptyFd);
      const c = new Container(config, stateDir, launch, cgroup, record);
      c.setupTimings = setupTimings(createdAt, spawnAt, [...Object.entries(spawned.marks), ...(report.marks ?? [])], readyAt);
      c.status = 'created';
      c.execsAfterReady = execAfterReady;
      c.stateWrites = firstWrite.then(() => {});
      await c.stateWrites;
      return c;
    } catch (err) {
      release();
      for (const fd of joinFds) native.close(fd);
      if (cgroupFd >= 0) native.close(cgroupFd);
      if (launch) {
        launch.sync.close();
        launch.terminal?.destroy();
        await launch.proc.killAndReap();
      }
      stdio?.destroyAll();
      if (cgroup) await cgroup.killAll().then(() => cgroup!.destroy()).catch(() => {});
      await firstWrite;
      await stateDir.remove();
      throw err;
    }
  }

  get state(): ContainerStatus {
    return this.status;
  }

  /** Host pid of the container's init process. */
  get pid(): number {
    return this.launch.proc.pid;
  }

  /** The init process (also returned by start()). */
  get process(): ContainerProcess {
    return this.init;
  }

  /** Lets the init exec. Resolves once execve succeeded (and state.json says 'running'); on failure the container is destroyed. */
  async start(): Promise<ContainerProcess> {
    await this.letExec();
    await this.persist();
    this.launch.stdio.streams.materialize();
    return this.init;
  }

  /**
   * @internal start() for run(): state.json says 'running' a tick later, unless
   * the container is destroyed first (a short run() never pays that write).
   */
  async [kStartDeferringState](): Promise<ContainerProcess> {
    await this.letExec();
    void this.persist({ deferred: true });
    this.launch.stdio.streams.materialize();
    return this.init;
  }

  private async letExec(): Promise<void> {
    // Told to exec right after READY, the process may have run and exited by now.
    const startable = this.status === 'created' || (this.execsAfterReady && this.status === 'stopped');
    if (!startable || this.destroyed) throw new InvalidStateError('start', this.status, this.id);
    try {
      await goAndConfirmExec(this.launch, !this.execsAfterReady);
    } catch (err) {
      await this.destroy();
      throw err;
    }
    if (this.status === 'created') this.status = 'running';
  }

  /**
   * Runs another process in the running container: it joins every namespace of
   * the init (one setns through the init's pidfd) and its root, with the init's
   * settings unless `process` says otherwise.
   */
  async exec(process: ProcessConfig): Promise<ContainerProcess> {
    if (this.status !== 'running' || this.destroyed) throw new InvalidStateError('exec', this.status, this.id);
    const proc = resolveExecProcess(this.config.process, process);
    const stdio = prepareStdio(proc.stdio);
    let cgroupFd = -1;
    let release = () => {};
    let first: PidHandle | null = null;
    let launch: Launch | null = null;
    let channel: SyncChannel | null = null;
    try {
      const joinPidfd = this.launch.proc.fd;
      if (joinPidfd < 0) throw new InvalidStateError('exec', 'stopped', this.id);
      const rootFd = openOrThrow(`/proc/${this.pid}/root`, 'join', 'the container root');
      cgroupFd = this.cgroup.openIntoCgroupFd();
      release = await setupSlot();
      let spawned;
      try {
        spawned = await spawnOrThrow(execPlan(this.config, proc, { fds: stdio.childFds, joinPidfd, joinRootFd: rootFd, cgroupFd }), 'join');
      } finally {
        native.close(rootFd);
        if (cgroupFd >= 0) native.close(cgroupFd);
        stdio.closeChildEnds();
      }
      // The first process only joins and forks; it reports the fork's pid and
      // exits. The fork's own messages can overtake that pid.
      first = new PidHandle(spawned.pid, spawned.pidfd);
      channel = new SyncChannel(spawned.syncFd);
      const report = await readSetup(channel, true);
      release();
      if (report.pid !== undefined) {
        // The fork is our child (CLONE_PARENT): its pid cannot be reused before we reap it.
        const proc = new PidHandle(report.pid, native.pidfdOpen(report.pid));
        launch = { sync: channel, proc, stdio, terminal: report.ptyFd === undefined ? null : new Terminal(report.ptyFd) };
        this.execs.add(proc);
        void proc.exited.then(() => this.execs.delete(proc));
      }
      if (report.failure || !launch) throw messageToError(report.failure ?? { eof: true }, launch?.proc ?? first);
      if (cgroupFd < 0) await this.cgroup.addProcess(launch.proc.pid);
      const hook = (this as unknown as Record<symbol, ((pid: number) => Promise<void>) | undefined>)[kBeforeExecStart];
      if (hook) await hook(launch.proc.pid);
      await goAndConfirmExec(launch);
      launch.sync.close();
      await first.exited;
      const execd = new ContainerProcess(launch.proc, stdio.streams, undefined, launch.terminal);
      stdio.streams.materialize();
      return execd;
    } catch (err) {
      release();
      channel?.close();
      launch?.terminal?.destroy();
      if (launch) await launch.proc.killAndReap();
      if (first) await first.killAndReap();
      stdio.destroyAll();
      throw err;
    }
  }

  /** Host pids of every process in the container's cgroup. */
  async processes(): Promise<number[]> {
    if (this.destroyed) return [];
    return (await this.cgroup.pids()).sort((a, b) => a - b);
  }

  /** CPU, memory, pids and io figures from the container's cgroup. */
  async stats(): Promise<CgroupStats> {
    if (this.destroyed) throw new InvalidStateError('stats', 'destroyed', this.id);
    return this.cgroup.stats();
  }

  /** Changes resource limits of the live container (validated first; a refused value names its file). */
  async update(resources: LinuxResources): Promise<void> {
    if (this.status === 'stopped' || this.destroyed) throw new InvalidStateError('update', this.status, this.id);
    await this.cgroup.update(resources);
  }

  /** Freezes every process of the container (state 'paused'). */
  async pause(): Promise<void> {
    if (this.status !== 'running' || this.destroyed) throw new InvalidStateError('pause', this.status, this.id);
    await this.cgroup.freeze();
    this.status = 'paused';
    await this.persist();
  }

  async resume(): Promise<void> {
    if (this.status !== 'paused' || this.destroyed) throw new InvalidStateError('resume', this.status, this.id);
    await this.cgroup.thaw();
    if (this.status === 'paused') this.status = 'running';
    await this.persist();
  }

  /** Waits for the init to exit. */
  wait(): Promise<ExitStatus> {
    return this.init.wait();
  }

  /** Signals the init (in a new pid namespace its death ends every process in it). */
  async kill(signal: NodeJS.Signals | number = 'SIGTERM'): Promise<void> {
    const n = signalNumber(signal);
    if (this.status === 'stopped' || this.destroyed) throw new InvalidStateError('kill', this.status, this.id);
    this.launch.proc.signal(n);
  }

  /** Kills what still runs and removes everything berth made. Idempotent. */
  destroy(): Promise<void> {
    this.destroyed ??= (async () => {
      this.launch.sync.close();
      this.stopOomWatch();
      // In its own pid namespace the init's death takes every process of the
      // container with it (exec'd ones joined that namespace): killing the init
      // is enough, and the cgroup's last exits are awaited by its removal.
      // Otherwise everything in the cgroup is killed (v2 cgroup.kill; v1
      // freeze-kill-thaw, so nothing forks away).
      const ownPidNs = this.config.namespaces.some((n) => n.type === 'pid' && n.path === undefined);
      const killed = ownPidNs ? Promise.resolve(null) : this.cgroup.killAll().catch((e: unknown) => e);
      await Promise.all([this.launch.proc.killAndReap(), ...[...this.execs].map((p) => p.killAndReap())]);
      const killError = await killed;
      this.status = 'stopped';
      // Streams the caller took are theirs to drain; ends nobody took are closed.
      this.launch.stdio.streams.closeUnused();
      await this.stateWrites;
      await Promise.all([this.cgroup.destroy(), this.stateDir.remove()]);
      if (killError) throw killError;
    })();
    return this.destroyed;
  }

  /** @internal The parent end of the init's stdio pipe i, as a raw fd the caller owns; null if none. */
  [kTakeOutputFd](i: number): number | null {
    return this.launch.stdio.streams.takeFd(i);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }

  /** Emits 'oom' once per observed increase of the cgroup's OOM kill count; returns the count. */
  private async reportOom(): Promise<number> {
    const kills = await this.cgroup.oomKillCount().catch(() => 0);
    if (kills > this.oomKillsReported) {
      this.oomKillsReported = kills;
      this.emit('oom');
    }
    return kills;
  }

  private persist({ deferred = false } = {}): Promise<void> {
    this.stateWrites = this.stateWrites.then(async () => {
      if (deferred) await new Promise((resolve) => setImmediate(resolve));
      if (this.destroyed) return;
      const status = this.status;
      const record = { created: this.created, startTime: this.startTime };
      await this.stateDir.write(stateRecord(this.config, status, this.launch.proc.pid, record, this.cgroup.paths)).catch(() => {});
    });
    return this.stateWrites;
  }
}

interface InitRecord {
  created: string;
  startTime: number | undefined;
}

/** What state.json holds: OCI state plus what berth needs to find the process again. */
function stateRecord(config: ResolvedConfig, status: ContainerStatus, pid: number, init: InitRecord, cgroupPaths: string[]): ContainerState {
  return {
    ociVersion: OCI_VERSION,
    id: config.id,
    status,
    pid,
    ...(init.startTime !== undefined ? { pidStartTime: init.startTime } : {}),
    ...(config.bundle ? { bundle: config.bundle } : {}),
    rootfs: config.rootfs,
    created: init.created,
    ownerPid: process.pid,
    annotations: config.annotations,
    cgroupPaths,
  };
}

function setupTimings(createdAt: number, spawnAt: number, marks: Array<[string, number]>, readyAt: number): Record<string, number> {
  const ms = (us: number) => Math.round((us - createdAt) / 10) / 100;
  const out: Record<string, number> = { spawn: ms(spawnAt) };
  for (const [name, us] of marks) out[name] = ms(us);
  out['ready-seen'] = ms(readyAt);
  return out;
}

export async function createContainer(config: ContainerConfig): Promise<Container> {
  return Container.create(config);
}
