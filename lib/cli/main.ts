// berth's command line: runc's global flags, then one command, each command's
// code imported only when it runs (startup is part of every engine call).
import { type FlagDef, bool, parseArgs, str } from './args.js';
import type { Handler } from './command.js';
import type { Context } from './context.js';
import { CliError, describeError, exitCodeOf } from './errors.js';
import { Logger, parseLogFormat } from './log.js';

export const GLOBAL_FLAGS: FlagDef[] = [
  { name: 'root', kind: 'string' },
  { name: 'log', kind: 'string' },
  { name: 'log-format', kind: 'string' },
  { name: 'debug', kind: 'bool' },
  { name: 'systemd-cgroup', kind: 'bool' },
  { name: 'rootless', kind: 'string' },
  { name: 'criu', kind: 'string' },
  { name: 'version', short: 'v', kind: 'bool' },
  { name: 'help', short: 'h', kind: 'bool' },
];

const unsupported = (what: string): Handler => async () => {
  throw new CliError(`${what} is not supported by berth`);
};

export const COMMANDS: Record<string, () => Promise<Handler>> = {
  create: async () => (await import('./cmd-lifecycle.js')).create,
  start: async () => (await import('./cmd-lifecycle.js')).start,
  run: async () => (await import('./cmd-lifecycle.js')).run,
  delete: async () => (await import('./cmd-lifecycle.js')).del,
  exec: async () => (await import('./cmd-exec.js')).exec,
  kill: async () => (await import('./cmd-signal.js')).kill,
  pause: async () => (await import('./cmd-signal.js')).pause,
  resume: async () => (await import('./cmd-signal.js')).resume,
  state: async () => (await import('./cmd-query.js')).state,
  list: async () => (await import('./cmd-query.js')).list,
  ps: async () => (await import('./cmd-query.js')).ps,
  events: async () => (await import('./cmd-query.js')).events,
  update: async () => (await import('./cmd-update.js')).update,
  spec: async () => (await import('./cmd-spec.js')).spec,
  features: async () => (await import('./cmd-spec.js')).features,
  image: async () => (await import('./cmd-image.js')).image,
  images: async () => (await import('./cmd-image.js')).images,
  volume: async () => (await import('./cmd-volume.js')).volume,
  checkpoint: async () => unsupported('checkpoint/restore'),
  restore: async () => unsupported('checkpoint/restore'),
};

const ALIASES: Record<string, string> = { ls: 'list', rm: 'delete' };

async function version(): Promise<string> {
  const fs = await import('node:fs');
  let v = 'unknown';
  try {
    const { packageRootOf } = await import('../package-root.js');
    v = String(JSON.parse(fs.readFileSync(`${packageRootOf(import.meta.url)}/package.json`, 'utf8')).version);
  } catch {
    // not in a package
  }
  return `berth version ${v}\nspec: 1.2.0\nnode: ${process.version}\n`;
}

export interface MainIo {
  out?: (text: string) => void;
  err?: (text: string) => void;
}

/** Runs one command line; resolves to the exit code (errors are said on stderr and in --log). */
export async function main(argv: readonly string[] = process.argv.slice(2), io: MainIo = {}): Promise<number> {
  const out = io.out ?? ((t: string) => void process.stdout.write(t));
  const err = io.err ?? ((t: string) => void process.stderr.write(t));
  let log = new Logger();
  log.stderr = err;
  try {
    // Global flags end at the command's name.
    const g = parseArgs(argv, { flags: GLOBAL_FLAGS, stopAfter: 1 });
    log = new Logger({ ...(str(g, 'log') !== undefined ? { file: str(g, 'log')! } : {}), format: parseLogFormat(str(g, 'log-format')), debug: bool(g, 'debug') });
    log.stderr = err;
    // The library's process warnings (an ignored field, …) are log records, as runc's are.
    process.removeAllListeners('warning');
    process.on('warning', (w) => log.warn(w.message));
    if (bool(g, 'version')) {
      out(await version());
      return 0;
    }
    const [name, ...rest] = g.positionals;
    if (name === undefined || bool(g, 'help') || name === 'help' || name === 'h') {
      const { commandHelp, mainHelp } = await import('./help.js');
      const topic = name === 'help' || name === 'h' ? rest[0] : undefined;
      out(topic ? commandHelp(ALIASES[topic] ?? topic) : mainHelp());
      return 0;
    }
    // create and run always load the library's container code (~100 modules,
    // most of their start-up): fetch it while the handler's own modules load.
    // Only a hint: a failure surfaces where the handler imports it.
    if (name === 'run' || name === 'create') import('../container/create.js').catch(() => {});
    const rootless = str(g, 'rootless');
    if (rootless !== undefined && rootless !== 'true' && rootless !== 'false' && rootless !== 'auto') throw new CliError(`invalid --rootless value "${rootless}": true, false or auto`);
    if (bool(g, 'systemd-cgroup')) throw new CliError('systemd cgroup driver is not supported');
    const load = COMMANDS[ALIASES[name] ?? name];
    if (!load) throw new CliError(`unknown command "${name}" (berth --help lists them)`);
    const path = await import('node:path');
    const root = str(g, 'root');
    const ctx: Context = {
      stateRoot: root === undefined ? undefined : path.resolve(root),
      log,
      debug: bool(g, 'debug'),
      rootless: rootless as Context['rootless'],
      out,
    };
    log.debug(`berth ${argv.join(' ')}`);
    return await (await load())(ctx, rest);
  } catch (e) {
    const msg = describeError(e);
    err(`berth: ${msg}\n`);
    log.error(msg);
    if (log.debugEnabled && e instanceof Error && e.stack) log.debug(e.stack.replace(/\n\s*/g, ' | '));
    return exitCodeOf(e);
  }
}
