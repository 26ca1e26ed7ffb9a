// One process we cloned: its pidfd (exit, signals) and sync socket (setup
// messages), both watched on the event loop. Reaps exactly once, closes its fds.
import os from 'node:os';
import { BerthError, ExecutableNotFoundError, SetupError, errnoName } from '../errors.js';
import { type ChildMessage, type FdWatch, MSG_ERROR, MSG_READY, STEP_NAMES, SYSCALL_NAMES, native } from '../native.js';

export interface ExitInfo {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

type Waiter = (m: ChildMessage) => void;

function signalName(n: number): NodeJS.Signals | null {
  for (const [name, value] of Object.entries(os.constants.signals)) if (value === n) return name as NodeJS.Signals;
  return null;
}

export class SpawnedChild {
  readonly pid: number;
  readonly exited: Promise<ExitInfo>;
  exitInfo: ExitInfo | null = null;
  private pidfd: number;
  private syncFd: number;
  private pidWatch: FdWatch | null;
  private syncWatch: FdWatch | null = null;
  private queue: ChildMessage[] = [];
  private waiters: Waiter[] = [];

  constructor(spawned: { pid: number; pidfd: number; syncFd: number }) {
    this.pid = spawned.pid;
    this.pidfd = spawned.pidfd;
    this.syncFd = spawned.syncFd;
    let resolveExit!: (e: ExitInfo) => void;
    this.exited = new Promise((r) => (resolveExit = r));
    this.pidWatch = new native.FdWatch(this.pidfd, () => {
      const r = native.reap(this.pidfd);
      if (!r) return;
      this.pidWatch?.stop();
      this.pidWatch = null;
      native.close(this.pidfd);
      this.pidfd = -1;
      this.exitInfo = { exitCode: r.exitCode, signal: r.signal === null ? null : signalName(r.signal) };
      resolveExit(this.exitInfo);
    });
    this.syncWatch = new native.FdWatch(this.syncFd, () => this.drainSync());
  }

  private drainSync(): void {
    for (;;) {
      if (this.syncFd < 0) return;
      const m = native.recvMessage(this.syncFd);
      if (m === null) return;
      if (m.eof) this.closeSync();
      const w = this.waiters.shift();
      if (w) w(m);
      else this.queue.push(m);
      if (m.eof) return;
    }
  }

  /** The next message from the child: READY, ERROR, or EOF (exec'd or died). */
  nextMessage(): Promise<ChildMessage> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.syncFd < 0) return Promise.resolve({ eof: true });
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  sendGo(): number {
    if (this.syncFd < 0) return os.constants.errno.EPIPE;
    return native.sendGo(this.syncFd);
  }

  closeSync(): void {
    if (this.syncFd < 0) return;
    this.syncWatch?.stop();
    this.syncWatch = null;
    native.close(this.syncFd);
    this.syncFd = -1;
    for (const w of this.waiters.splice(0)) w({ eof: true });
  }

  /** Sends a signal through the pidfd: never hits a recycled pid. False if already gone. */
  signal(sig: number): boolean {
    if (this.pidfd < 0) return false;
    const err = native.pidfdSignal(this.pidfd, sig);
    return err === 0;
  }

  /** Whether the event loop waits for this process (like ChildProcess.ref/unref). */
  setRef(ref: boolean): void {
    if (ref) this.pidWatch?.ref();
    else this.pidWatch?.unref();
  }
}

/** Waits for the child's READY (resolves) or its ERROR/EOF (rejects with a typed error). */
export async function expectReady(child: SpawnedChild): Promise<void> {
  const m = await child.nextMessage();
  if (!m.eof && m.kind === MSG_READY) return;
  throw messageToError(m, child);
}

export function messageToError(m: ChildMessage, child: SpawnedChild): BerthError {
  if (m.eof || m.kind !== MSG_ERROR) {
    const how = child.exitInfo?.signal ? ` (killed by ${child.exitInfo.signal})` : '';
    return new SetupError('sync', `container process died during setup${how}`);
  }
  const step = STEP_NAMES[m.step] ?? `step-${m.step}`;
  const errno = errnoName(m.errno);
  const syscall = SYSCALL_NAMES[m.syscall] || undefined;
  const where = m.detail ? ` ${m.detail}` : '';
  if (step === 'exec' && (errno === 'ENOENT' || errno === 'ENOTDIR')) return new ExecutableNotFoundError(m.detail, errno);
  if (step === 'cwd' && errno === 'ENOENT') {
    return new SetupError(step, `working directory not found in container: ${m.detail}`, { errno, syscall: 'chdir', path: m.detail });
  }
  const desc = os.constants.errno && (Object.keys(os.constants.errno).includes(errno) ? errno : `errno ${m.errno}`);
  return new SetupError(step, `${step} failed: ${syscall ?? 'syscall'}${where}: ${desc}`, {
    errno,
    ...(syscall ? { syscall } : {}),
    ...(m.detail ? { path: m.detail } : {}),
  });
}
