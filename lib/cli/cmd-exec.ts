// exec: another process in a running container.
import fs from 'node:fs';
import path from 'node:path';
import { type FlagDef, bool, int, str } from './args.js';
import { readBundleSpec } from './bundle.js';
import { parseCommand } from './command.js';
import type { Context } from './context.js';
import { CliError } from './errors.js';
import { buildExecProcess, checkTerminal, processFromFile } from './exec-process.js';
import { attachTerminal, forwardSignals } from './foreground.js';
import { type ExecOptions, loadRef } from './handle.js';
import { writePidFile } from './pidfile.js';
import { inheritedStdio } from './cmd-lifecycle.js';
import { exitStatusCode } from './signals.js';

export const EXEC_FLAGS: FlagDef[] = [
  { name: 'process', short: 'p', kind: 'string' },
  { name: 'tty', short: 't', kind: 'bool' },
  { name: 'detach', short: 'd', kind: 'bool' },
  { name: 'env', short: 'e', kind: 'list' },
  { name: 'cwd', kind: 'string' },
  { name: 'user', short: 'u', kind: 'string' },
  { name: 'cap', short: 'c', kind: 'list' },
  { name: 'no-new-privs', kind: 'bool' },
  { name: 'pid-file', kind: 'string' },
  { name: 'console-socket', kind: 'string' },
  { name: 'preserve-fds', kind: 'string' },
  { name: 'process-label', kind: 'string' },
  { name: 'apparmor', kind: 'string' },
  { name: 'additional-gids', short: 'g', kind: 'list' },
  { name: 'ignore-paused', kind: 'bool' },
];

export async function exec(ctx: Context, argv: string[]): Promise<number> {
  // exec ID ARGS...: what follows the id is the process's own argv.
  const p = await parseCommand(ctx, 'exec', argv, { flags: EXEC_FLAGS, stopAfter: 1 });
  if (!p) return 0;
  if (p.positionals.length < 1) throw new CliError('"exec" requires a minimum of 1 argument(s)');
  const [id, ...args] = p.positionals as [string, ...string[]];
  // `exec ID -- cmd ...`: the separator is not the command.
  if (args[0] === '--') args.shift();
  const processFile = str(p, 'process');
  const file = processFile ? processFromFile(fs.readFileSync(processFile, 'utf8'), processFile) : undefined;

  const ref = await loadRef(ctx, id);
  const state = await ref.state();
  if (state.status === 'stopped') throw new CliError('cannot exec in a stopped container');
  if (state.status === 'paused' && !bool(p, 'ignore-paused')) throw new CliError('cannot exec in a paused container (use --ignore-paused to override)');

  const base = file ? undefined : readBundleSpec(state.bundle)?.process;
  const proc = buildExecProcess(p, args, { ...(file ? { file } : {}), ...(base ? { base } : {}) });
  const detached = bool(p, 'detach');
  const consoleSocket = str(p, 'console-socket');
  checkTerminal(proc.terminal === true, detached, consoleSocket);

  const opts: ExecOptions = {};
  const pidFile = str(p, 'pid-file');
  if (consoleSocket) opts.consoleSocket = path.resolve(consoleSocket);
  const preserveFds = int(p, 'preserve-fds', { min: 0 }) ?? 0;
  if (preserveFds) proc.stdio = inheritedStdio(preserveFds);

  // A detached exec outlives this CLI: the container's processes have no parent-death signal (created detached).
  const child = await ref.exec(proc, opts);
  if (pidFile) writePidFile(path.resolve(pidFile), child.pid);
  if (detached) return 0;
  const stopForwarding = forwardSignals((sig) => process.kill(child.pid, sig));
  // With --console-socket the pty master went to the socket's owner; without, the CLI is the terminal.
  const detachTerminal = child.terminal && !consoleSocket ? attachTerminal(child.terminal) : () => {};
  try {
    return exitStatusCode(await child.wait());
  } finally {
    stopForwarding();
    detachTerminal();
  }
}
