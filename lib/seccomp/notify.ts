// The seccomp notify supervisor: one per listener fd (a container's init, and
// each exec'd process that brought its own NOTIFY profile). libuv watches the
// fd; each readable wakeup receives what is pending and hands every request to
// the handler at once, so a slow answer holds up only its own caller: other
// requests, other containers and the event loop carry on, and answers go back
// in whatever order they come. An answer late past the timeout is a denial.
import type { SeccompRequest, SeccompResponse } from '../../types/api.js';
import { type FdWatch, type NativeNotification, native } from '../native/addon.js';
import { ARCHITECTURES } from './vocabulary.js';
import os from 'node:os';

/** SECCOMP_USER_NOTIF_FLAG_CONTINUE: the kernel runs the call as if unfiltered. */
const FLAG_CONTINUE = 1;
const X32_SYSCALL_BIT = 0x40000000;

export interface ResolvedNotify {
  handler(request: SeccompRequest): SeccompResponse | Promise<SeccompResponse>;
  timeoutMs: number;
  /** A positive errno number. */
  timeoutErrno: number;
}

export interface SupervisorOptions extends ResolvedNotify {
  containerId: string;
  /** Sees each request before the handler does (the Container's 'seccomp' event). */
  onRequest?(request: SeccompRequest): void;
  /** Called once the supervisor has closed (its processes are gone, or close()). */
  onClose?(): void;
}

/** AUDIT_ARCH_* (and x32's bit) -> the OCI name and libseccomp's. */
function archOf(audit: number, nr: number): { oci: string; libseccomp: string } | undefined {
  const x32 = audit === ARCHITECTURES.SCMP_ARCH_X86_64!.audit && (nr & X32_SYSCALL_BIT) !== 0;
  for (const [oci, a] of Object.entries(ARCHITECTURES)) {
    if (a.audit === audit >>> 0 && (a.x32 === true) === x32) return { oci, libseccomp: a.libseccomp };
  }
  return undefined;
}

const names = new Map<string, string>();

/** The syscall's name on that architecture (cached: a supervisor sees the same few calls again and again). */
function syscallName(arch: { libseccomp: string } | undefined, nr: number): string {
  if (!arch) return `syscall_${nr}`;
  const key = `${arch.libseccomp}:${nr}`;
  let name = names.get(key);
  if (name === undefined) {
    name = native.resolveSyscall(arch.libseccomp, nr) ?? `syscall_${nr}`;
    names.set(key, name);
  }
  return name;
}

/** A response -> notifSend's (error, value, flags); a bad one throws, and the call is denied. */
function encode(r: SeccompResponse): [number, bigint | number, number] {
  if (typeof r !== 'object' || r === null) throw new TypeError(`a seccomp response must be an object, got ${String(r)}`);
  if ('allow' in r && r.allow === true) return [0, 0, FLAG_CONTINUE];
  if ('errno' in r) return [-errnoNumber(r.errno, 'errno'), 0, 0];
  if ('value' in r && (typeof r.value === 'bigint' || Number.isSafeInteger(r.value))) return [0, r.value, 0];
  throw new TypeError(`a seccomp response is { allow: true }, { errno } or { value }, got ${JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))}`);
}

/** 'EACCES' or 13 -> 13; anything else is an error (a handler's mistake must not allow the call). */
export function errnoNumber(v: string | number, what: string): number {
  const n = typeof v === 'string' ? (os.constants.errno as Record<string, number>)[v] : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 4095) throw new TypeError(`${what} must be an errno name (EPERM) or a number from 1 to 4095, got ${String(v)}`);
  return n;
}

export class NotifySupervisor {
  private fd: number;
  private watch: FdWatch | null;
  /** Requests received and not yet answered, with their timeouts. */
  private readonly pending = new Map<bigint, NodeJS.Timeout>();

  constructor(fd: number, private readonly options: SupervisorOptions) {
    this.fd = fd;
    try {
      this.watch = new native.FdWatch(fd, () => this.drain());
      // The processes it answers keep Node alive (their pidfd watches) unless
      // the caller unref()'d them: the supervisor never does by itself.
      this.watch.unref();
    } catch (err) {
      native.close(fd);
      this.fd = -1;
      throw err;
    }
  }

  /** Requests waiting for an answer. */
  get waiting(): number {
    return this.pending.size;
  }

  get closed(): boolean {
    return this.fd < 0;
  }

  private drain(): void {
    while (this.fd >= 0) {
      const r = native.notifRecv(this.fd);
      if (r === null) return;
      if ('hup' in r) {
        this.close();
        return;
      }
      this.dispatch(r);
    }
  }

  private dispatch(n: NativeNotification): void {
    const arch = archOf(n.arch, n.nr);
    const fd = this.fd;
    const request: SeccompRequest = Object.freeze({
      id: n.id,
      containerId: this.options.containerId,
      pid: n.pid,
      syscall: syscallName(arch, n.nr),
      nr: n.nr,
      arch: arch?.oci ?? `AUDIT_ARCH_0x${(n.arch >>> 0).toString(16)}`,
      args: Object.freeze(n.args) as bigint[],
      instructionPointer: n.instructionPointer,
      isValid: () => this.fd === fd && native.notifIdValid(fd, n.id),
    });
    const timer = setTimeout(() => this.answer(n.id, [-this.options.timeoutErrno, 0, 0]), this.options.timeoutMs);
    timer.unref();
    this.pending.set(n.id, timer);
    try {
      this.options.onRequest?.(request);
    } catch (err) {
      process.emitWarning(err as Error);
    }
    // The handler runs after this wakeup is drained: one slow or throwing
    // handler cannot hold up the requests received with it.
    void Promise.resolve()
      .then(() => this.options.handler(request))
      .then(encode)
      .then(
        (answer) => this.answer(n.id, answer),
        (err: unknown) => {
          // Denied, never allowed, by a handler that failed; the caller is told why.
          // (An Error given to emitWarning would drop the code: a string carries it.)
          const e = err instanceof Error ? err : new Error(String(err));
          process.emitWarning(`the seccomp notify handler failed on ${request.syscall} (denied): ${e.message}`, {
            code: 'BERTH_SECCOMP_HANDLER',
            ...(e.stack ? { detail: e.stack } : {}),
          });
          this.answer(n.id, [-this.options.timeoutErrno, 0, 0]);
        },
      );
  }

  /** The first answer for a request wins (the handler's or the timeout's). */
  private answer(id: bigint, [error, value, flags]: [number, bigint | number, number]): void {
    const timer = this.pending.get(id);
    if (timer === undefined || this.fd < 0) return;
    clearTimeout(timer);
    this.pending.delete(id);
    // ENOENT: the caller died (or its call was interrupted) meanwhile; nobody to answer.
    native.notifSend(this.fd, id, error, value, flags);
  }

  /** Stops watching and closes the listener: callers still waiting get ENOSYS from the kernel. */
  close(): void {
    if (this.fd < 0) return;
    this.watch?.stop();
    this.watch = null;
    native.close(this.fd);
    this.fd = -1;
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
    this.options.onClose?.();
  }
}
