// The one spawn sequence, for a container's init and for every exec'd process:
// stdio -> the plan -> clone3 on a worker thread -> close what only the child
// needed -> the sync channel -> read setup until READY (or the failure) -> on
// failure take apart everything this sequence made. The caller owns what it
// made before (state dir, cgroup) and rolls that back itself.
import type { StdioOption } from '../../types/api.js';
import { SetupError, errnoName } from '../errors.js';
import { type NativePlan, native } from '../native/addon.js';
import { encodePlan } from '../native/plan-codec.gen.js';
import { type ListenerSink, PidHandle, type SetupReport, SyncChannel, messageToError, readSetup } from './channel.js';
import { type PreparedStdio, prepareStdio } from './stdio.js';
import { Terminal } from './terminal.js';

/** What a spawn made: the process, its sync socket, its stdio and terminal. */
export interface Launch {
  sync: SyncChannel;
  /** The process that will exec the container's program. */
  proc: PidHandle;
  stdio: PreparedStdio;
  terminal: Terminal | null;
  /** CLOCK_MONOTONIC µs: when the worker took the spawn, called clone3, saw it return; then the child's marks. */
  marks: Array<[string, number]>;
  /** /proc/<pid>/stat field 22 of the spawned process (exec: of the first, joining one). */
  startTime?: number;
  /** exec: the joining process, which forks `proc` and exits; resolves once it is reaped. */
  joinerExited: Promise<unknown>;
}

export interface SpawnSpec {
  /** The step a failed clone3 is reported as ('clone' for an init, 'join' for an exec). */
  step: string;
  stdio: StdioOption[];
  /** The plan, given the fds the child gets at 0, 1, 2, …. */
  plan(childFds: number[]): NativePlan;
  /** fds opened for the child only (namespaces to join, its root, a cgroup): closed once clone3 returned. */
  childOnlyFds: number[];
  /** exec, or an init joining a pid namespace: the spawned process joins and forks the one that execs, reporting its pid. */
  forks: boolean;
  /** Gives back the setup slot (lib/launch/admission.ts) once setup is read. */
  release(): void;
  /** Runs as soon as the process that will exec exists (the init's state.json is written meanwhile). */
  onSpawned?(pid: number, startTime: number | undefined): void;
  /**
   * An init making a user namespace: once it says it exists (MSG_USERNS), the
   * maps are written with this and berth-init is told to continue, getting
   * the fds this returns (idmapped trees) with it.
   */
  writeMaps?(pid: number): Promise<number[]>;
  /** exec into a user namespace: berth-init waits until this ran (its rlimits) and is told to continue. */
  beforeContinue?(pid: number): void;
  /**
   * The init stops before pivot_root (plan hooksPause): this runs the create
   * hooks with the pid of the process that waits; berth-init then continues.
   */
  runHooks?(pid: number): Promise<void>;
  /** Sees the setup report before a failure is handled (cgroup v1: which directories the child made). */
  onReport?(report: SetupReport): void;
  /** Takes the seccomp notify listener (a NOTIFY profile); a throw kills the process and fails the spawn or the exec. */
  onListener?: ListenerSink;
}

async function clone(plan: NativePlan, step: string): ReturnType<typeof native.spawn> {
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

function continueSetup(sync: SyncChannel, fds: number[] = []): void {
  const err = sync.sendContinue(fds);
  if (err !== 0) throw new SetupError('user-namespace', 'the container process is gone', { errno: errnoName(err), syscall: 'send' });
}

export async function spawnProcess(spec: SpawnSpec): Promise<Launch> {
  let stdio: PreparedStdio | null = null;
  let sync: SyncChannel | null = null;
  let joiner: PidHandle | null = null;
  let proc: PidHandle | null = null;
  let ptyFd: number | undefined;
  try {
    stdio = prepareStdio(spec.stdio);
    let spawned;
    try {
      spawned = await clone(spec.plan(stdio.childFds), spec.step);
    } finally {
      for (const fd of spec.childOnlyFds.splice(0)) native.close(fd);
      stdio.closeChildEnds();
    }
    const first = new PidHandle(spawned.pid, spawned.pidfd);
    sync = new SyncChannel(spawned.syncFd, spec.onListener, () => {
      // The process that installed the filter: the exec'd one once known, else the first.
      (proc ?? first).signal(9);
    });
    if (spec.forks) joiner = first;
    else proc = first;
    if (!spec.forks) spec.onSpawned?.(spawned.pid, spawned.startTime);
    if (spec.beforeContinue) {
      spec.beforeContinue(spawned.pid);
      continueSetup(sync);
    }
    // An exec's fork reports its pid; its own messages can overtake that pid.
    const writeMaps = spec.writeMaps;
    const runHooks = spec.runHooks;
    const report = await readSetup(
      sync,
      spec.forks,
      writeMaps &&
        (async () => {
          // The idmapped trees go with CONTINUE; ours are closed once sent.
          const trees = await writeMaps(spawned.pid);
          try {
            continueSetup(sync!, trees);
          } finally {
            for (const fd of trees) native.close(fd);
          }
        }),
      runHooks &&
        (async (forkPid) => {
          await runHooks(forkPid ?? spawned.pid);
          continueSetup(sync!);
        }),
    );
    spec.release();
    spec.onReport?.(report);
    if (spec.forks && report.pid !== undefined) {
      // The fork is our child (CLONE_PARENT): its pid cannot be reused before we reap it.
      proc = new PidHandle(report.pid, native.pidfdOpen(report.pid));
      spec.onSpawned?.(proc.pid, undefined);
    }
    ptyFd = report.ptyFd;
    // After the fork's handle exists: the rollback below reaps it too.
    if (report.thrown !== undefined) throw report.thrown;
    if (report.failure || !proc) throw sync.listenerError ?? messageToError(report.failure ?? { eof: true }, proc ?? first);
    const terminal = ptyFd === undefined ? null : new Terminal(ptyFd);
    ptyFd = undefined;
    const marks: Array<[string, number]> = [...Object.entries(spawned.marks), ...(report.marks ?? [])];
    return {
      sync,
      proc,
      stdio,
      terminal,
      marks,
      ...(spawned.startTime !== undefined ? { startTime: spawned.startTime } : {}),
      joinerExited: joiner ? joiner.exited : Promise.resolve(),
    };
  } catch (err) {
    spec.release();
    for (const fd of spec.childOnlyFds.splice(0)) native.close(fd);
    if (ptyFd !== undefined) native.close(ptyFd);
    sync?.close();
    await Promise.all([proc?.killAndReap(), joiner?.killAndReap()]);
    stdio?.destroyAll();
    throw err;
  }
}

/**
 * Lets a spawned process exec (unless its plan told it to right after READY)
 * and waits for the sync socket's EOF (exec'd) or its error.
 */
export async function letExec(launch: Launch, sendGo: boolean): Promise<void> {
  const err = sendGo ? launch.sync.sendGo() : 0;
  if (err !== 0) throw new SetupError('start', 'the container process is gone', { errno: errnoName(err), syscall: 'send' });
  const m = await launch.sync.next();
  if (launch.sync.listenerError) throw launch.sync.listenerError;
  if (!m.eof) throw messageToError(m, launch.proc);
}
