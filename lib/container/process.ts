// ContainerProcess: a process running in a container, as the Node side sees it —
// pid, stdio streams, wait(), kill() — in the shape of child_process.ChildProcess.
import { EventEmitter } from 'node:events';
import os from 'node:os';
import type { Readable, Writable } from 'node:stream';
import type { ExitStatus, WaitOptions } from '../../types/api.js';
import { AbortError, BerthError } from '../errors.js';
import type { PidHandle } from '../launch/channel.js';
import type { LazyStreams } from '../launch/stdio.js';
import type { Terminal, WindowSize } from '../launch/terminal.js';

export function signalNumber(sig: NodeJS.Signals | number): number {
  if (typeof sig === 'number') return sig;
  const n = os.constants.signals[sig];
  if (n === undefined) throw new BerthError('INVALID_ARGUMENT', `unknown signal ${sig}`, { step: 'kill' });
  return n;
}

export interface ContainerProcessEvents {
  exit: [status: ExitStatus];
}

export class ContainerProcess extends EventEmitter<ContainerProcessEvents> {
  readonly pid: number;
  private readonly child: PidHandle;
  private readonly streams: LazyStreams;
  /** The pty master when the process was started with `terminal: true`, else null. */
  readonly terminal: Terminal | null;
  private readonly exitStatus: Promise<ExitStatus>;
  private finalStatus: ExitStatus | null = null;

  /** @internal */
  constructor(child: PidHandle, streams: LazyStreams, decorate: (s: ExitStatus) => Promise<ExitStatus> = async (s) => s, terminal: Terminal | null = null) {
    super();
    this.terminal = terminal;
    this.pid = child.pid;
    this.child = child;
    this.streams = streams;
    this.exitStatus = child.exited.then(async (info) => {
      streams.onExit();
      const status = await decorate({ exitCode: info.exitCode, signal: info.signal });
      this.finalStatus = status;
      this.emit('exit', status);
      return status;
    });
  }

  /** Writable to the process's stdin when stdio[0] is 'pipe'. */
  get stdin(): Writable | null {
    return this.streams.stdin;
  }

  get stdout(): Readable | null {
    return this.streams.stdout;
  }

  get stderr(): Readable | null {
    return this.streams.stderr;
  }

  /** Resizes the terminal (terminal: true only). */
  resize(size: WindowSize): void {
    if (!this.terminal) throw new BerthError('NO_TERMINAL', 'the process has no terminal (start it with terminal: true)', { step: 'resize' });
    this.terminal.resize(size);
  }

  /** Closes stdin (the process reads EOF) without making a stream for it. */
  closeStdin(): void {
    this.streams.endStdin();
  }

  /** null while running. */
  get exitCode(): number | null {
    return this.finalStatus?.exitCode ?? null;
  }

  get running(): boolean {
    return this.child.exitInfo === null;
  }

  /** Resolves when the process has exited (and was reaped). Never blocks the event loop. */
  wait(options: WaitOptions = {}): Promise<ExitStatus> {
    const { signal } = options;
    if (!signal) return this.exitStatus;
    if (signal.aborted) return Promise.reject(new AbortError('wait', signal.reason));
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(new AbortError('wait', signal.reason));
      signal.addEventListener('abort', onAbort, { once: true });
      this.exitStatus.then(
        (s) => {
          signal.removeEventListener('abort', onAbort);
          resolve(s);
        },
        reject,
      );
    });
  }

  /** Signals the process through its pidfd. Returns false if it had already exited. */
  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    return this.child.signal(signalNumber(signal));
  }

  /** Let the event loop exit while this process runs (it still dies with Node unless detached). */
  unref(): void {
    this.child.setRef(false);
  }

  ref(): void {
    this.child.setRef(true);
  }
}
