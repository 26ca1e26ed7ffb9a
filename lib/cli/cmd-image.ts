// image import|ls|inspect|rm|export (and `images`): the image store, as
// docker's and podman's image commands show it. Each subcommand imports only
// the library code it runs.
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import type { ImageInfo } from '../image/info.js';
import { type FlagDef, type Parsed, bool, expectArgs, str } from './args.js';
import { type Handler, parseCommand } from './command.js';
import type { Context } from './context.js';
import { CliError, describeError } from './errors.js';
import { tabwrite, toJson } from './format.js';
import { ImportProgressWriter, ago, humanBytes, progressMode } from './progress.js';

const STORE: FlagDef = { name: 'store', kind: 'string' };

// storeOption, tableOrJson, dispatch and forEachArg are cmd-volume's too.

export function storeOption(p: Parsed): { store?: string } {
  const s = str(p, 'store');
  return s === undefined ? {} : { store: s };
}

/** ls's and inspect's --format: table or json. */
export function tableOrJson(raw: string | undefined): 'table' | 'json' {
  if (raw === undefined || raw === 'table') return 'table';
  if (raw === 'json') return 'json';
  throw new CliError(`invalid format option: ${raw}`);
}

/** `image <sub>` / `volume <sub>`: the subcommand's handler, or the group's help. */
export async function dispatch(ctx: Context, group: string, argv: string[], subs: Record<string, Handler>, aliases: Record<string, string> = {}): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h') {
    const { commandHelp } = await import('./help.js');
    ctx.out(commandHelp(sub === 'help' && rest[0] ? `${group} ${aliases[rest[0]] ?? rest[0]}` : group));
    return 0;
  }
  const handler = subs[aliases[sub] ?? sub];
  if (!handler) throw new CliError(`unknown command "${group} ${sub}" (berth ${group} --help lists them)`);
  return handler(ctx, rest);
}

/**
 * Runs `each` on every argument; a failure is said (as main says one) and the
 * rest still run, as `docker rmi a b` does; the last failure is rethrown, so
 * the exit status is 1 and main says it.
 */
export async function forEachArg(ctx: Context, args: readonly string[], each: (arg: string) => Promise<void>): Promise<void> {
  let failure: { err: unknown } | undefined;
  for (const a of args) {
    try {
      await each(a);
    } catch (err) {
      if (failure) {
        const msg = describeError(failure.err);
        ctx.log.stderr(`berth: ${msg}\n`);
        ctx.log.error(msg);
      }
      failure = { err };
    }
  }
  if (failure) throw failure.err;
}

/** `repo:tag` split where docker splits it (a tag is after the last `/`); a digest reference has no tag. */
export function splitName(name: string): [repo: string, tag: string] {
  const at = name.indexOf('@');
  if (at >= 0) return [name.slice(0, at), '<none>'];
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? [name.slice(0, colon), name.slice(colon + 1)] : [name, '<none>'];
}

export const shortId = (id: string): string => id.replace(/^sha256:/, '').slice(0, 12);

/** `docker images`: a row per name (`<none>` for an image without one), newest first. */
export function imageTable(images: readonly ImageInfo[], now: number, opts: { noTrunc?: boolean } = {}): string {
  const rows: string[][] = [['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE']];
  const sorted = [...images].sort((a, b) => b.created.localeCompare(a.created));
  for (const img of sorted) {
    const id = opts.noTrunc ? img.id : shortId(img.id);
    const created = ago(now - Date.parse(img.created));
    for (const name of img.names.length ? img.names : ['<none>:<none>']) {
      const [repo, tag] = name === '<none>:<none>' ? ['<none>', '<none>'] : splitName(name);
      rows.push([repo, tag, id, created, humanBytes(img.size)]);
    }
  }
  return tabwrite(rows);
}

/** ls --format json: what listImages says, without each config (inspect shows it). */
export const imageSummary = (img: ImageInfo) => ({ id: img.id, names: img.names, layers: img.layers, size: img.size, created: img.created });

async function importCmd(ctx: Context, argv: string[]): Promise<number> {
  const p = await parseCommand(ctx, 'image import', argv, {
    flags: [STORE, { name: 'name', kind: 'string' }, { name: 'quiet', short: 'q', kind: 'bool' }, { name: 'progress', kind: 'string' }],
  });
  if (!p) return 0;
  expectArgs(p, 'image import', 1);
  const source = p.positionals[0]!;
  const { importImage } = await import('../image/import.js');
  const mode = progressMode(str(p, 'progress'), bool(p, 'quiet'), process.stderr.isTTY === true);
  let input: string | Readable = source;
  let total: number | undefined;
  if (source === '-') {
    if (process.stdin.isTTY) throw new CliError('refusing to read an image archive from a terminal: give a path, or redirect stdin');
    input = process.stdin;
    total = sizeOfFile(() => fs.fstatSync(0));
  } else {
    total = sizeOfFile(() => fs.statSync(source));
  }
  // The error path's writer is stderr's too (main's io.err in tests): the bar goes there.
  const sink = { write: (t: string) => ctx.log.stderr(t), get columns() { return process.stderr.columns; } };
  const progress = new ImportProgressWriter(sink, mode, total);
  let info: ImageInfo;
  try {
    info = await importImage(input, { ...storeOption(p), ...(str(p, 'name') !== undefined ? { name: str(p, 'name')! } : {}), onProgress: progress.onProgress });
  } catch (err) {
    progress.finish(false);
    throw err;
  }
  progress.finish(true);
  ctx.out(`${info.id}\n`);
  return 0;
}

/** A regular file's size (the bar's total), undefined for a pipe, a directory or a missing path (importImage says why). */
function sizeOfFile(stat: () => fs.Stats): number | undefined {
  try {
    const st = stat();
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

async function ls(ctx: Context, argv: string[]): Promise<number> {
  const p = await parseCommand(ctx, 'image ls', argv, {
    flags: [STORE, { name: 'format', short: 'f', kind: 'string' }, { name: 'quiet', short: 'q', kind: 'bool' }, { name: 'no-trunc', kind: 'bool' }],
  });
  if (!p) return 0;
  expectArgs(p, 'image ls', 0);
  const fmt = tableOrJson(str(p, 'format'));
  const { listImages } = await import('../image/images.js');
  const images = await listImages(storeOption(p));
  if (bool(p, 'quiet')) ctx.out(images.map((i) => `${bool(p, 'no-trunc') ? i.id : shortId(i.id)}\n`).join(''));
  else if (fmt === 'json') ctx.out(`${JSON.stringify(images.map(imageSummary))}\n`);
  else ctx.out(imageTable(images, Date.now(), { noTrunc: bool(p, 'no-trunc') }));
  return 0;
}

async function inspect(ctx: Context, argv: string[]): Promise<number> {
  const p = await parseCommand(ctx, 'image inspect', argv, { flags: [STORE] });
  if (!p) return 0;
  if (p.positionals.length < 1) throw new CliError('"image inspect" requires a minimum of 1 argument(s)');
  const { inspectImage } = await import('../image/images.js');
  // All or nothing: a JSON document is not printed half.
  const found = [];
  for (const ref of p.positionals) found.push(await inspectImage(ref, storeOption(p)));
  ctx.out(`${toJson(found, 2)}\n`);
  return 0;
}

async function rm(ctx: Context, argv: string[]): Promise<number> {
  const p = await parseCommand(ctx, 'image rm', argv, { flags: [STORE] });
  if (!p) return 0;
  if (p.positionals.length < 1) throw new CliError('"image rm" requires a minimum of 1 argument(s)');
  const { removeImage } = await import('../image/images.js');
  await forEachArg(ctx, p.positionals, async (ref) => {
    const r = await removeImage(ref, storeOption(p));
    ctx.out(r.untagged.map((n) => `Untagged: ${n}\n`).join('') + (r.deleted ? `Deleted: ${r.deleted}\n` : ''));
  });
  return 0;
}

async function exportCmd(ctx: Context, argv: string[]): Promise<number> {
  const p = await parseCommand(ctx, 'image export', argv, { flags: [STORE] });
  if (!p) return 0;
  expectArgs(p, 'image export', 2);
  const [ref, dest] = p.positionals as [string, string];
  if (dest === '-' && process.stdout.isTTY) throw new CliError('refusing to write an image archive to a terminal: give a path, or redirect stdout');
  const { exportImage } = await import('../image/export.js');
  const r = await exportImage(ref, dest === '-' ? process.stdout : dest, storeOption(p));
  // A layer stored without its tar-split has a new tar, so the archive holds a new image id: said, as a warning.
  if (r.regenerated.length) ctx.log.warn(`${r.regenerated.length} layer(s) of ${ref} were exported as new tars (imported without a tar-split): the archive's image id is ${r.id}`);
  return 0;
}

const SUBCOMMANDS: Record<string, Handler> = { import: importCmd, ls, inspect, rm, export: exportCmd };
const SUB_ALIASES: Record<string, string> = { list: 'ls', remove: 'rm' };

export const image: Handler = (ctx, argv) => dispatch(ctx, 'image', argv, SUBCOMMANDS, SUB_ALIASES);

/** `berth images` = `berth image ls`. */
export const images: Handler = (ctx, argv) => ls(ctx, argv);
