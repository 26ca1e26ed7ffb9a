// The command line as runc's urfave/cli reads it: `--flag value`, `--flag=value`,
// `-f value`, single-dash long names (`-bundle X`, as Go's flag package takes
// them), bool flags (`--detach`, `--detach=false`), repeated flags collected in
// order (`--env A=1 --env B=2`), bundled short bools (`-dt`), and `--` ending the
// flags. Flags may come before or after positional arguments, except that a
// command can say that after its first N positionals everything is positional
// (exec ID ARGS..., ps ID [ps options]: the container's own argv is never ours).
import { CliError } from './errors.js';

export type FlagKind = 'bool' | 'string' | 'list';

export interface FlagDef {
  /** The long name, without dashes; the key in Parsed.flags. */
  name: string;
  kind: FlagKind;
  /** One-letter form (`-d`). */
  short?: string;
  /** Other long names (`resources` for `r`, `cpu-shares` for `cpu-share`). */
  aliases?: string[];
}

export interface ParseSpec {
  flags: readonly FlagDef[];
  /** Once this many positionals are seen, the rest of argv is positional verbatim. */
  stopAfter?: number;
}

export type FlagValue = boolean | string | string[];

export interface Parsed {
  flags: Record<string, FlagValue>;
  positionals: string[];
}

const TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

function boolValue(flag: string, raw: string): boolean {
  if (TRUE.has(raw)) return true;
  if (FALSE.has(raw)) return false;
  throw new CliError(`invalid boolean value "${raw}" for flag ${flag}`);
}

/** Every command understands --help/-h unless it defines them itself. */
const HELP: FlagDef = { name: 'help', short: 'h', kind: 'bool' };

export function parseArgs(argv: readonly string[], spec: ParseSpec): Parsed {
  const defs = spec.flags.some((f) => f.name === 'help') ? spec.flags : [...spec.flags, HELP];
  const byLong = new Map<string, FlagDef>();
  const byShort = new Map<string, FlagDef>();
  for (const def of defs) {
    byLong.set(def.name, def);
    for (const a of def.aliases ?? []) byLong.set(a, def);
    if (def.short) byShort.set(def.short, def);
  }
  const flags: Record<string, FlagValue> = {};
  const positionals: string[] = [];
  const stopAfter = spec.stopAfter ?? Infinity;

  const set = (def: FlagDef, shown: string, value: string | undefined, next: () => string | undefined): void => {
    if (def.kind === 'bool') {
      flags[def.name] = value === undefined ? true : boolValue(shown, value);
      return;
    }
    const v = value ?? next();
    if (v === undefined) throw new CliError(`flag needs an argument: ${shown}`);
    if (def.kind === 'list') flags[def.name] = [...((flags[def.name] as string[] | undefined) ?? []), v];
    else flags[def.name] = v;
  };

  let i = 0;
  const next = (): string | undefined => (i < argv.length ? argv[i++] : undefined);
  while (i < argv.length) {
    const arg = argv[i++]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i));
      break;
    }
    if (arg === '-' || !arg.startsWith('-')) {
      positionals.push(arg);
      if (positionals.length >= stopAfter) {
        positionals.push(...argv.slice(i));
        break;
      }
      continue;
    }
    const dashes = arg.startsWith('--') ? 2 : 1;
    const body = arg.slice(dashes);
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const value = eq < 0 ? undefined : body.slice(eq + 1);
    // A long name (also with one dash, as Go's flag package allows), or a one-letter flag.
    const def = (name.length > 1 || dashes === 2 ? byLong.get(name) : undefined) ?? (dashes === 1 && name.length === 1 ? byShort.get(name) : undefined);
    if (def) {
      set(def, arg.slice(0, dashes + name.length), value, next);
      continue;
    }
    // -dt: a bundle of one-letter bool flags.
    if (dashes === 1 && value === undefined && name.length > 1 && [...name].every((c) => byShort.get(c)?.kind === 'bool')) {
      for (const c of name) flags[byShort.get(c)!.name] = true;
      continue;
    }
    throw new CliError(`flag provided but not defined: ${arg.slice(0, dashes + name.length)}`);
  }
  return { flags, positionals };
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function bool(p: Parsed, name: string): boolean {
  return p.flags[name] === true;
}

export function list(p: Parsed, name: string): string[] {
  const v = p.flags[name];
  return Array.isArray(v) ? v : [];
}

/** A decimal integer flag (Go's strconv.ParseInt), undefined when absent. */
export function int(p: Parsed, name: string, opts: { min?: number } = {}): number | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  return parseInteger(v, `--${name}`, opts);
}

export function parseInteger(v: string, what: string, opts: { min?: number } = {}): number {
  if (!/^[+-]?\d+$/.test(v.trim())) throw new CliError(`invalid value "${v}" for ${what}: not an integer`);
  const n = Number(v.trim());
  if (!Number.isSafeInteger(n)) throw new CliError(`invalid value "${v}" for ${what}: out of range`);
  if (opts.min !== undefined && n < opts.min) throw new CliError(`invalid value "${v}" for ${what}: must be at least ${opts.min}`);
  return n;
}

/** runc's checkArgs: `"start" requires exactly 1 argument(s)`. */
export function expectArgs(p: Parsed, command: string, min: number, max = min): void {
  const n = p.positionals.length;
  if (n >= min && n <= max) return;
  if (min === max) throw new CliError(`"${command}" requires exactly ${min} argument(s)`);
  if (n < min) throw new CliError(`"${command}" requires a minimum of ${min} argument(s)`);
  throw new CliError(`"${command}" requires a maximum of ${max} argument(s)`);
}
