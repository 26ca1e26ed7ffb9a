// A command's own flags, with --help answered from help.ts.
import { type ParseSpec, type Parsed, bool, parseArgs } from './args.js';
import type { Context } from './context.js';

export type Handler = (ctx: Context, argv: string[]) => Promise<number>;

/** The parsed command line, or null once --help was printed. */
export async function parseCommand(ctx: Context, name: string, argv: readonly string[], spec: ParseSpec): Promise<Parsed | null> {
  const p = parseArgs(argv, spec);
  if (!bool(p, 'help')) return p;
  const { commandHelp } = await import('./help.js');
  ctx.out(commandHelp(name));
  return null;
}
