// detached / consoleSocket: a container that outlives the process that made it
// (the CLI's create, an engine's shim). Its init has no parent-death signal,
// waits for start() on the state dir's start socket, and nobody in the
// creating process is there to answer anything afterwards.
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { optBool, str } from './check.js';

export interface ResolvedDetach {
  detached: boolean;
  dieWithParent: boolean;
  /** Where the pty master goes (SCM_RIGHTS, runc's console socket protocol). */
  consoleSocket?: string;
}

export function normalizeDetach(cfg: { detached?: unknown; dieWithParent?: unknown; consoleSocket?: unknown }, opts: { terminal: boolean; notifyHandler: boolean }): ResolvedDetach {
  const detached = optBool(cfg.detached, 'detached') ?? false;
  const dieWithParent = optBool(cfg.dieWithParent, 'dieWithParent');
  if (detached && dieWithParent === true) throw new ConfigError('dieWithParent', 'a detached container outlives its creator: it cannot die with it');
  // A handler is a function in this process; a detached container's next syscall may come after it exited.
  if (detached && opts.notifyHandler) throw new ConfigError('seccompNotify', 'a detached container cannot be supervised by its creating process; give linux.seccomp.listenerPath instead');
  let consoleSocket: string | undefined;
  if (cfg.consoleSocket !== undefined) {
    consoleSocket = str(cfg.consoleSocket, 'consoleSocket');
    if (!path.isAbsolute(consoleSocket)) consoleSocket = path.resolve(consoleSocket);
    if (!opts.terminal) throw new ConfigError('consoleSocket', 'needs process.terminal: true (it receives the terminal)');
  }
  return { detached, dieWithParent: detached ? false : (dieWithParent ?? true), ...(consoleSocket !== undefined ? { consoleSocket } : {}) };
}
