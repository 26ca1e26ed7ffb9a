// kill, pause, resume.
import { bool, expectArgs } from './args.js';
import { parseCommand } from './command.js';
import type { Context } from './context.js';
import { loadRef } from './handle.js';
import { parseSignal } from './signals.js';

export async function kill(ctx: Context, argv: string[]): Promise<number> {
  const p = await parseCommand(ctx, 'kill', argv, { flags: [{ name: 'all', short: 'a', kind: 'bool' }] });
  if (!p) return 0;
  expectArgs(p, 'kill', 1, 2);
  const [id, raw = 'SIGTERM'] = p.positionals as [string, string | undefined];
  const signal = parseSignal(raw);
  const ref = await loadRef(ctx, id);
  await ref.kill(signal, { all: bool(p, 'all') });
  return 0;
}

export async function pause(ctx: Context, argv: string[]): Promise<number> {
  const p = await parseCommand(ctx, 'pause', argv, { flags: [] });
  if (!p) return 0;
  expectArgs(p, 'pause', 1);
  await (await loadRef(ctx, p.positionals[0]!)).pause();
  return 0;
}

export async function resume(ctx: Context, argv: string[]): Promise<number> {
  const p = await parseCommand(ctx, 'resume', argv, { flags: [] });
  if (!p) return 0;
  expectArgs(p, 'resume', 1);
  await (await loadRef(ctx, p.positionals[0]!)).resume();
  return 0;
}
