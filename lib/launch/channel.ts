// The two handles on a process we cloned:
//  - PidHandle: its pidfd, watched by libuv; reaps exactly once, sends signals
//    without ever hitting a recycled pid.
//  - SyncChannel: the SOCK_SEQPACKET sync socket, whose messages (ready, pid,
//    error) and EOF (exec'd or died) drive create/start/exec.
import os from 'node:os';
import { BerthError, CgroupError, ExecutableNotFoundError, SetupError, errnoName } from '../errors.js';
import { type ChildMessage, type FdWatch, native } from '../native/addon.js';
import { MSG_CGROUP_CREATED, MSG_CONTINUE, MSG_ERROR, MSG_GO, MSG_HOOKS, MSG_PID, MSG_PTY, MSG_READY, MSG_SECCOMP_LISTENER, MSG_USERNS, STEP_NAMES, SYSCALL_NAMES } from '../native/protocol.gen.js';
import { cgroupWriteHint } from '../cgroups/convert.js';

export interface ExitInfo {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

export function signalName(n: number): NodeJS.Signals | null {
  for (const [name, value] of Object.entries(os.constants.signals)) if (value === n) return name as NodeJS.Signals;
  return null;
}

export class PidHandle {
  readonly exited: Promise<ExitInfo>;
  exitInfo: ExitInfo | null = null;
  private pidfd: number;
  private watch: FdWatch | null;

  constructor(readonly pid: number, pidfd: number) {
    this.pidfd = pidfd;
    let resolveExit!: (e: ExitInfo) => void;
    this.exited = new Promise((r) => (resolveExit = r));
    this.watch = new native.FdWatch(pidfd, () => {
      let r: ReturnType<typeof native.reap>;
      try {
        r = native.reap(this.pidfd);
      } catch (err) {
        // ECHILD: someone else in this process reaped it first (a waitpid(-1) loop, a
        // subreaper's sweep): it exited, and its status went to them.
        if ((err as NodeJS.ErrnoException).code !== 'ECHILD') throw err;
        r = { exitCode: null, signal: null };
      }
      if (!r) return;
      this.watch?.stop();
      this.watch = null;
      native.close(this.pidfd);
      this.pidfd = -1;
      this.exitInfo = { exitCode: r.exitCode, signal: r.signal === null ? null : signalName(r.signal) };
      resolveExit(this.exitInfo);
    });
  }

  /** The pidfd while the process is not reaped, else -1 (for setns into its namespaces). */
  get fd(): number {
    return this.pidfd;
  }

  /** False if the process is already gone. */
  signal(sig: number): boolean {
    if (this.pidfd < 0) return false;
    return native.pidfdSignal(this.pidfd, sig) === 0;
  }

  /** Whether the event loop waits for this process (like ChildProcess.ref/unref). */
  setRef(ref: boolean): void {
    if (ref) this.watch?.ref();
    else this.watch?.unref();
  }

  /** SIGKILL and wait until reaped. */
  async killAndReap(): Promise<ExitInfo> {
    this.signal(9);
    return this.exited;
  }
}

type Waiter = (m: ChildMessage) => void;

/** Takes a seccomp notify listener (the fd is its to close); a throw fails the setup. */
export type ListenerSink = (fd: number) => void;

export class SyncChannel {
  /** Why a listener could not be handed on (the process was killed for it). */
  listenerError: BerthError | null = null;
  private fd: number;
  private watch: FdWatch | null;
  private queue: ChildMessage[] = [];
  private waiters: Waiter[] = [];

  /**
   * onListener takes the seccomp notify listener as soon as it arrives (before
   * READY, or between GO and the exec): its supervisor must already answer
   * while the child goes on, whatever the caller awaits meanwhile.
   */
  constructor(fd: number, private readonly onListener?: ListenerSink, private readonly onListenerError?: () => void) {
    this.fd = fd;
    this.watch = new native.FdWatch(fd, () => this.drain());
  }

  private takeListener(fd: number): void {
    if (!this.onListener || this.listenerError) {
      native.close(fd);
      return;
    }
    try {
      this.onListener(fd);
    } catch (err) {
      this.listenerError = err instanceof BerthError ? err : new SetupError('seccomp', `cannot hand on the notify listener: ${(err as Error).message}`, { cause: err });
      // Without its supervisor a NOTIFY call would wait forever: the process goes.
      this.onListenerError?.();
    }
  }

  private drain(): void {
    while (this.fd >= 0) {
      const m = native.recvMessage(this.fd);
      if (m === null) return;
      if (!m.eof && m.kind === MSG_SECCOMP_LISTENER && m.fd !== undefined) {
        this.takeListener(m.fd);
        continue;
      }
      if (m.eof) this.close();
      const w = this.waiters.shift();
      if (w) w(m);
      else this.queue.push(m);
      if (m.eof) return;
    }
  }

  /** The next message: READY, PID, ERROR, or EOF (the peer exec'd or died). */
  next(): Promise<ChildMessage> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.fd < 0) return Promise.resolve({ eof: true });
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** 0, or the errno of a failed send (EPIPE: the child is gone). */
  sendGo(): number {
    return this.send(MSG_GO);
  }

  /** A user namespace's maps are written: berth-init goes on. 0 or errno. */
  sendContinue(fds: number[] = []): number {
    if (this.fd < 0) return os.constants.errno.EPIPE;
    return fds.length ? native.sendFds(this.fd, MSG_CONTINUE, fds) : this.send(MSG_CONTINUE);
  }

  private send(kind: number): number {
    if (this.fd < 0) return os.constants.errno.EPIPE;
    return native.sendMessage(this.fd, kind);
  }

  close(): void {
    if (this.fd < 0) return;
    this.watch?.stop();
    this.watch = null;
    native.close(this.fd);
    this.fd = -1;
    for (const w of this.waiters.splice(0)) w({ eof: true });
  }
}

export interface SetupReport {
  /** exec: the host pid of the process forked into the container. */
  pid?: number;
  /** terminal: the pty master (ours to close). */
  ptyFd?: number;
  /** cgroup v1: which of the planned cgroup directories the child made ('1'/'0' each). */
  cgroupCreated?: string;
  /** The ERROR (or EOF) that ended setup, if it failed. */
  failure?: ChildMessage;
  /**
   * What a caller's callback (the maps, the create hooks) threw: setup stops
   * there, and the report still says what the child made until then (its v1
   * cgroups), so the rollback can remove it.
   */
  thrown?: unknown;
  /** CLOCK_MONOTONIC µs at each setup step in the child (from READY). */
  marks?: Array<[string, number]>;
}

/**
 * Reads setup messages until the child is ready or failed — and, for an exec,
 * until the forked pid is known too (its messages can overtake the pid, and a
 * failed fork still has to be reaped).
 */
export async function readSetup(sync: SyncChannel, needPid: boolean, onUserns?: () => Promise<void>, onHooks?: (pid: number | undefined) => Promise<void>): Promise<SetupReport> {
  const r: SetupReport = {};
  let ready = false;
  while (!((ready || r.failure) && (!needPid || r.pid !== undefined))) {
    const m = await sync.next();
    if (m.eof) {
      r.failure ??= m;
      break;
    }
    // The init made its user namespace and waits for the maps, or waits before
    // pivot_root for the create hooks (a throw: the caller kills it).
    const callback = m.kind === MSG_USERNS ? onUserns : m.kind === MSG_HOOKS && onHooks ? () => onHooks(r.pid) : undefined;
    if (callback) {
      try {
        await callback();
      } catch (err) {
        r.thrown = err;
        break;
      }
    } else if (m.kind === MSG_PID) r.pid = m.value;
    else if (m.kind === MSG_CGROUP_CREATED) r.cgroupCreated = m.detail;
    else if (m.kind === MSG_PTY && m.fd !== undefined) {
      if (r.ptyFd !== undefined) native.close(m.fd);
      else r.ptyFd = m.fd;
    } else if (m.kind === MSG_READY) {
      ready = true;
      r.marks = m.detail
        .split(',')
        .filter(Boolean)
        .map((kv) => kv.split('='))
        .map(([k, v]) => [k!, Number(v)] as [string, number]);
    } else r.failure ??= m;
  }
  if ((r.failure || r.thrown !== undefined) && r.ptyFd !== undefined) {
    native.close(r.ptyFd);
    delete r.ptyFd;
  }
  return r;
}

export function messageToError(m: ChildMessage, proc: PidHandle | null): BerthError {
  if (m.eof || m.kind !== MSG_ERROR) {
    const how = proc?.exitInfo?.signal ? ` (killed by ${proc.exitInfo.signal})` : '';
    return new SetupError('sync', `container process died during setup${how}`);
  }
  const step = STEP_NAMES[m.step] ?? `step-${m.step}`;
  const errno = errnoName(m.errno);
  const syscall = SYSCALL_NAMES[m.syscall] || undefined;
  const where = m.detail ? ` ${m.detail}` : '';
  const what = `${syscall ?? 'syscall'}${where}: ${errno}`;
  const detail = { errno, ...(syscall ? { syscall } : {}), ...(m.detail ? { path: m.detail } : {}) };
  if (step === 'cgroup') {
    const hint = m.detail ? cgroupWriteHint(m.detail, errno) : '';
    return new CgroupError({ step, message: `cgroup setup failed: ${what}${hint ? ` (${hint})` : ''}`, ...detail });
  }
  if (step === 'exec' && (errno === 'ENOENT' || errno === 'ENOTDIR')) return new ExecutableNotFoundError(m.detail, errno);
  if (step === 'cwd' && errno === 'ENOENT') {
    return new SetupError(step, `working directory not found in container: ${m.detail}`, { errno, syscall: 'chdir', path: m.detail });
  }
  if (step === 'rootfs-overlay' && (errno === 'ENODEV' || (errno === 'EINVAL' && syscall === 'fsopen'))) {
    return new SetupError(step, `this kernel has no overlay filesystem (${errno} from ${syscall}): load it (modprobe overlay) for an overlay rootfs or image`, detail);
  }
  return new SetupError(step, `${step} failed: ${what}`, detail);
}
