// volume create|ls|inspect|rm: named volumes in the store, as docker's and
// podman's volume commands show them.
import type { VolumeInfo } from '../volume/volumes.js';
import { bool, expectArgs, list, str } from './args.js';
import { type Handler, parseCommand } from './command.js';
import type { Context } from './context.js';
import { dispatch, forEachArg, storeOption, tableOrJson } from './cmd-image.js';
import { CliError } from './errors.js';
import { tabwrite, toJson } from './format.js';
import { ago } from './progress.js';

const STORE = { name: 'store', kind: 'string' } as const;

/** `--label k=v` (repeatable; `--label k` is an empty value, as docker takes it). */
export function parseLabels(raw: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const l of raw) {
    const eq = l.indexOf('=');
    const key = eq < 0 ? l : l.slice(0, eq);
    if (key === '') throw new CliError(`invalid label "${l}": the key is empty`);
    labels[key] = eq < 0 ? '' : l.slice(eq + 1);
  }
  return labels;
}

export function volumeTable(volumes: readonly VolumeInfo[], now: number): string {
  return tabwrite([['VOLUME NAME', 'CREATED', 'MOUNTPOINT'], ...volumes.map((v) => [v.name, ago(now - Date.parse(v.created)), v.mountpoint])]);
}

async function create(ctx: Context, argv: string[]): Promise<number> {
  const p = await parseCommand(ctx, 'volume create', argv, { flags: [STORE, { name: 'label', short: 'l', kind: 'list' }] });
  if (!p) return 0;
  expectArgs(p, 'volume create', 0, 1);
  const { createVolume } = await import('../volume/volumes.js');
  const name = p.positionals[0];
  const labels = list(p, 'label');
  // Labels only when given: createVolume compares given labels with an existing volume's (VOLUME_EXISTS when they differ).
  const v = await createVolume({ ...storeOption(p), ...(name !== undefined ? { name } : {}), ...(labels.length ? { labels: parseLabels(labels) } : {}) });
  ctx.out(`${v.name}\n`);
  return 0;
}

async function ls(ctx: Context, argv: string[]): Promise<number> {
  const p = await parseCommand(ctx, 'volume ls', argv, { flags: [STORE, { name: 'format', short: 'f', kind: 'string' }, { name: 'quiet', short: 'q', kind: 'bool' }] });
  if (!p) return 0;
  expectArgs(p, 'volume ls', 0);
  const fmt = tableOrJson(str(p, 'format'));
  const { listVolumes } = await import('../volume/volumes.js');
  const volumes = await listVolumes(storeOption(p));
  if (bool(p, 'quiet')) ctx.out(volumes.map((v) => `${v.name}\n`).join(''));
  else if (fmt === 'json') ctx.out(`${JSON.stringify(volumes)}\n`);
  else ctx.out(volumeTable(volumes, Date.now()));
  return 0;
}

async function inspect(ctx: Context, argv: string[]): Promise<number> {
  const p = await parseCommand(ctx, 'volume inspect', argv, { flags: [STORE] });
  if (!p) return 0;
  if (p.positionals.length < 1) throw new CliError('"volume inspect" requires a minimum of 1 argument(s)');
  const { inspectVolume } = await import('../volume/volumes.js');
  const found = [];
  for (const name of p.positionals) found.push(await inspectVolume(name, storeOption(p)));
  ctx.out(`${toJson(found, 2)}\n`);
  return 0;
}

async function rm(ctx: Context, argv: string[]): Promise<number> {
  const p = await parseCommand(ctx, 'volume rm', argv, { flags: [STORE, { name: 'force', short: 'f', kind: 'bool' }] });
  if (!p) return 0;
  if (p.positionals.length < 1) throw new CliError('"volume rm" requires a minimum of 1 argument(s)');
  const { removeVolume } = await import('../volume/volumes.js');
  await forEachArg(ctx, p.positionals, async (name) => {
    await removeVolume(name, { ...storeOption(p), force: bool(p, 'force') });
    ctx.out(`${name}\n`);
  });
  return 0;
}

const SUBCOMMANDS: Record<string, Handler> = { create, ls, inspect, rm };
const SUB_ALIASES: Record<string, string> = { list: 'ls', remove: 'rm' };

export const volume: Handler = (ctx, argv) => dispatch(ctx, 'volume', argv, SUBCOMMANDS, SUB_ALIASES);
