// A detached container's start and terminal, across processes. The init,
// once set up, accepts one connection on <state dir>/start.sock (made here
// before the clone, its listening fd handed to berth-init) and takes that
// connection as its sync socket: GO there lets it exec, and a failure before
// the exec, or the exec's EOF, is reported to whoever started it — the
// creator or any later process.
import { SetupError, errnoName } from '../errors.js';
import { SyncChannel, messageToError } from '../launch/channel.js';
import { native } from '../native/addon.js';

/** The listening start socket (CLOEXEC; the child gets its copy through the plan). */
export function listenForStart(startSocket: string): number {
  try {
    return native.listenUnix(startSocket);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new SetupError('state', `cannot make the start socket ${startSocket}: ${e.code}`, { ...(e.code ? { errno: e.code } : {}), syscall: e.syscall ?? 'bind', path: startSocket, cause: err });
  }
}

/**
 * Connects to the waiting init, then (after `beforeGo`: the 'running' record)
 * says GO and resolves once it exec'd (EOF). Connected first: a caller killed
 * after that point leaves an init that sees EOF and exits (the record then
 * reads 'stopped'), never one still waiting behind a 'running' record.
 * ECONNREFUSED: no init listens any more (it died, or was started already).
 */
export async function startThroughSocket(startSocket: string, killInit: () => void, beforeGo: () => Promise<void> = async () => {}): Promise<void> {
  let fd: number;
  try {
    fd = native.connectUnix(startSocket);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new SetupError('start', `the container's init does not wait for start any more (${e.code})`, { ...(e.code ? { errno: e.code } : {}), syscall: 'connect', path: startSocket, cause: err });
  }
  // No listener sink: a detached container has no notify handler (lib/config/detach.ts).
  const sync = new SyncChannel(fd, undefined, killInit);
  try {
    await beforeGo();
    const err = sync.sendGo();
    if (err !== 0) throw new SetupError('start', 'the container process is gone', { errno: errnoName(err), syscall: 'send' });
    const m = await sync.next();
    if (!m.eof) throw messageToError(m, null);
  } finally {
    sync.close();
  }
}

/** Sends the pty master to an engine's console socket (runc's protocol: one SCM_RIGHTS message). */
export function sendToConsoleSocket(consoleSocket: string, masterFd: number): void {
  let sock: number;
  try {
    sock = native.connectUnix(consoleSocket, 'stream');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new SetupError('terminal', `cannot connect to the console socket ${consoleSocket}: ${e.code}`, { ...(e.code ? { errno: e.code } : {}), syscall: 'connect', path: consoleSocket, cause: err });
  }
  try {
    const err = native.sendFdNamed(sock, masterFd, '/dev/ptmx');
    if (err !== 0) throw new SetupError('terminal', `cannot send the terminal to ${consoleSocket}: ${errnoName(err)}`, { errno: errnoName(err), syscall: 'sendmsg', path: consoleSocket });
  } finally {
    native.close(sock);
  }
}
