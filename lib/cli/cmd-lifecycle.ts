// create, start, run, delete: a container's life as runc's commands drive it.
import path from 'node:path';
import type { ContainerConfig, StdioOption } from '../../types/api.js';
import { type FlagDef, type Parsed, bool, expectArgs, int, str } from './args.js';
import { readBundleSpec } from './bundle.js';
import { parseCommand } from './command.js';
import type { Context } from './context.js';
import { CliError, isNotFound } from './errors.js';
import { checkTerminal } from './exec-process.js';
import { attachTerminal, forwardSignals } from './foreground.js';
import { loadRef } from './handle.js';
import { writePidFile } from './pidfile.js';
import { exitStatusCode } from './signals.js';

export const CREATE_FLAGS: FlagDef[] = [
  { name: 'bundle', short: 'b', kind: 'string' },
  { name: 'pid-file', kind: 'string' },
  { name: 'console-socket', kind: 'string' },
  { name: 'preserve-fds', kind: 'string' },
  { name: 'no-pivot', kind: 'bool' },
  { name: 'no-new-keyring', kind: 'bool' },
];

export const RUN_FLAGS: FlagDef[] = [...CREATE_FLAGS, { name: 'detach', short: 'd', kind: 'bool' }, { name: 'keep', kind: 'bool' }, { name: 'no-subreaper', kind: 'bool' }];

/**
 * createContainer's options for `create`/`run`. The container's stdio is the
 * CLI's own, plus --preserve-fds N of its fds from 3 on (runc's meaning).
 */
export function createConfig(p: Parsed, id: string, ctx: Pick<Context, 'stateRoot'>, detached: boolean, cwd = process.cwd()): ContainerConfig & { bundle: string } {
  if (bool(p, 'no-pivot')) throw new CliError('--no-pivot is not supported: berth always uses pivot_root (a rootfs on ramfs/initramfs cannot be a container root here)');
  // --no-new-keyring is accepted (podman passes it when containers.conf says keyring = false) but
  // not obeyed: berth always gives the container an anonymous session keyring of its own, since
  // keyrings are not namespaced and sharing the caller's would expose its keys. More isolation
  // than asked for, never less; createFromFlags says so in the debug log.
  const bundle = path.resolve(cwd, str(p, 'bundle') ?? '.');
  const preserveFds = int(p, 'preserve-fds', { min: 0 }) ?? 0;
  const config: ContainerConfig & { bundle: string } = { id, bundle, detached, process: { stdio: inheritedStdio(preserveFds) } };
  if (ctx.stateRoot !== undefined) config.stateRoot = ctx.stateRoot;
  const consoleSocket = str(p, 'console-socket');
  if (consoleSocket) config.consoleSocket = path.resolve(cwd, consoleSocket);
  return config;
}

/** 0, 1, 2 and the next `preserve` fds of this process, at the same numbers in the container. */
export function inheritedStdio(preserve: number): StdioOption[] {
  return ['inherit', 'inherit', 'inherit', ...Array.from({ length: preserve }, (_, i) => 3 + i)];
}

async function createFromFlags(ctx: Context, p: Parsed, id: string, detached: boolean) {
  const config = createConfig(p, id, ctx, detached);
  if (bool(p, 'no-new-keyring')) ctx.log.debug('--no-new-keyring: ignored, berth always makes a new anonymous session keyring for the container');
  const terminal = readBundleSpec(config.bundle)?.process?.terminal === true;
  checkTerminal(terminal, detached, config.consoleSocket);
  const { createContainer } = await import('../container/create.js');
  ctx.log.debug(`create ${id} from ${config.bundle}`);
  const c = await createContainer(config);
  const pidFile = str(p, 'pid-file');
  if (pidFile) {
    try {
      writePidFile(pidFile, c.pid);
    } catch (err) {
      // A failed create leaves nothing, as runc: the container goes with the error.
      await c.destroy().catch(() => {});
      throw err;
    }
  }
  return c;
}

export async function create(ctx: Context, argv: string[]): Promise<number> {
  const p = await parseCommand(ctx, 'create', argv, { flags: CREATE_FLAGS });
  if (!p) return 0;
  expectArgs(p, 'create', 1);
  const id = p.positionals[0]!;
  const c = await createFromFlags(ctx, p, id, true);
  return 0;
}

function startRefusal(status: string): string {
  if (status === 'stopped') return 'cannot start a container that has stopped';
  if (status === 'running') return 'cannot start an already running container';
  return `cannot start a container in the ${status} state`;
}

export async function start(ctx: Context, argv: string[]): Promise<number> {
  const p = await parseCommand(ctx, 'start', argv, { flags: [] });
  if (!p) return 0;
  expectArgs(p, 'start', 1);
  const ref = await loadRef(ctx, p.positionals[0]!);
  const { status } = await ref.state();
  if (status !== 'created') throw new CliError(startRefusal(status));
  await ref.start();
  return 0;
}

export async function run(ctx: Context, argv: string[]): Promise<number> {
  const p = await parseCommand(ctx, 'run', argv, { flags: RUN_FLAGS });
  if (!p) return 0;
  expectArgs(p, 'run', 1);
  const id = p.positionals[0]!;
  const detach = bool(p, 'detach');
  if (detach && bool(p, 'keep')) throw new CliError('--detach and --keep cannot both be given');
  const c = await createFromFlags(ctx, p, id, detach);
  const init = await c.start();
  if (detach) return 0;
  const stopForwarding = forwardSignals((sig) => void c.kill(sig).catch(() => {}));
  // With --console-socket the pty master went to the socket's owner; without, the CLI is the terminal.
  const detachTerminal = init.terminal && !str(p, 'console-socket') ? attachTerminal(init.terminal) : () => {};
  try {
    return exitStatusCode(await c.wait());
  } finally {
    stopForwarding();
    detachTerminal();
    if (!bool(p, 'keep')) await c.destroy();
  }
}

export async function del(ctx: Context, argv: string[]): Promise<number> {
  const p = await parseCommand(ctx, 'delete', argv, { flags: [{ name: 'force', short: 'f', kind: 'bool' }] });
  if (!p) return 0;
  expectArgs(p, 'delete', 1);
  const id = p.positionals[0]!;
  const force = bool(p, 'force');
  let ref;
  try {
    ref = await loadRef(ctx, id);
  } catch (err) {
    // runc: deleting what is not there with --force is done.
    if (force && (isNotFound(err) || (err instanceof CliError && err.message === `container "${id}" does not exist`))) return 0;
    throw err;
  }
  const { status } = await ref.state();
  // The runtime-spec: deleting a container that is not stopped (created too) is an error without --force.
  if (!force && status !== 'stopped') throw new CliError(`cannot delete container ${id} that is not stopped: ${status}`);
  await ref.destroy({ force });
  return 0;
}
