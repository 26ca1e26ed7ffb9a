// state, list, ps, events: what a container is and does.
import path from 'node:path';
import { bool, expectArgs, str } from './args.js';
import { parseCommand } from './command.js';
import type { Context } from './context.js';
import { rootOptions } from './context.js';
import { CliError } from './errors.js';
import { filterPsOutput, listItem, listTable, stateView, toJson } from './format.js';
import { loadRef } from './handle.js';
import { parseDuration } from './units.js';

function format(raw: string | undefined): 'table' | 'json' {
  if (raw === undefined || raw === 'table') return 'table';
  if (raw === 'json') return 'json';
  throw new CliError(`invalid format option: ${raw}`);
}

export async function state(ctx: Context, argv: string[]): Promise<number> {
  const p = await parseCommand(ctx, 'state', argv, { flags: [] });
  if (!p) return 0;
  expectArgs(p, 'state', 1);
  const ref = await loadRef(ctx, p.positionals[0]!);
  ctx.out(`${JSON.stringify(stateView(await ref.state()), null, 2)}\n`);
  return 0;
}

export async function list(ctx: Context, argv: string[]): Promise<number> {
  const p = await parseCommand(ctx, 'list', argv, {
    flags: [
      { name: 'format', short: 'f', kind: 'string' },
      { name: 'quiet', short: 'q', kind: 'bool' },
    ],
  });
  if (!p) return 0;
  expectArgs(p, 'list', 0);
  const fmt = format(str(p, 'format'));
  const [{ listContainers }, { defaultStateRoot }, { ownerOf }] = await Promise.all([import('../container/registry.js'), import('../state/state-dir.js'), import('./owner.js')]);
  const root = ctx.stateRoot ?? defaultStateRoot();
  const states = await listContainers(rootOptions(ctx));
  if (bool(p, 'quiet')) {
    ctx.out(states.map((s) => `${s.id}\n`).join(''));
    return 0;
  }
  const items = states.map((s) => listItem(s, ownerOf(path.join(root, s.id))));
  ctx.out(fmt === 'json' ? `${JSON.stringify(items)}\n` : listTable(items));
  return 0;
}

export async function ps(ctx: Context, argv: string[]): Promise<number> {
  // ps ID [ps options]: what follows the id is ps's own.
  const p = await parseCommand(ctx, 'ps', argv, { flags: [{ name: 'format', short: 'f', kind: 'string' }], stopAfter: 1 });
  if (!p) return 0;
  if (p.positionals.length < 1) throw new CliError('"ps" requires a minimum of 1 argument(s)');
  const [id, ...psArgs] = p.positionals as [string, ...string[]];
  const fmt = format(str(p, 'format'));
  const ref = await loadRef(ctx, id);
  const pids = await ref.processes();
  if (fmt === 'json') {
    ctx.out(`${JSON.stringify(pids)}\n`);
    return 0;
  }
  const [{ execFile }, { promisify }] = await Promise.all([import('node:child_process'), import('node:util')]);
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)('ps', psArgs.length ? psArgs : ['-ef'], { maxBuffer: 64 * 1024 * 1024 }));
  } catch (err) {
    throw new CliError(`ps: ${(err as Error).message}`);
  }
  ctx.out(filterPsOutput(stdout, pids));
  return 0;
}

export async function events(ctx: Context, argv: string[]): Promise<number> {
  const p = await parseCommand(ctx, 'events', argv, {
    flags: [
      { name: 'stats', kind: 'bool' },
      { name: 'interval', kind: 'string' },
    ],
  });
  if (!p) return 0;
  expectArgs(p, 'events', 1);
  const id = p.positionals[0]!;
  const interval = parseDuration(str(p, 'interval') ?? '5s', '--interval');
  if (interval <= 0) throw new CliError('--interval must be greater than 0');
  const ref = await loadRef(ctx, id);
  if ((await ref.state()).status === 'stopped') throw new CliError(`container with id ${id} is not running`);
  const emit = async (): Promise<void> => {
    ctx.out(`${toJson({ type: 'stats', id, data: await ref.stats() })}\n`);
  };
  if (bool(p, 'stats')) {
    await emit();
    return 0;
  }
  for (;;) {
    if ((await ref.state()).status === 'stopped') return 0;
    try {
      await emit();
    } catch (err) {
      // It stopped between the two looks: done; anything else is an error.
      if ((await ref.state()).status === 'stopped') return 0;
      throw err;
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}
