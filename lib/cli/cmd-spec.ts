// spec (a new bundle's config.json) and features (what this build and host support).
import fs from 'node:fs';
import path from 'node:path';
import { bool, expectArgs, str } from './args.js';
import { parseCommand } from './command.js';
import type { Context } from './context.js';
import { CliError } from './errors.js';
import { defaultSpec, toRootless } from './spec-template.js';

export async function spec(ctx: Context, argv: string[]): Promise<number> {
  const p = await parseCommand(ctx, 'spec', argv, {
    flags: [
      { name: 'bundle', short: 'b', kind: 'string' },
      { name: 'rootless', kind: 'bool' },
    ],
  });
  if (!p) return 0;
  expectArgs(p, 'spec', 0);
  const dir = path.resolve(str(p, 'bundle') ?? '.');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'config.json');
  let doc = defaultSpec();
  if (bool(p, 'rootless')) doc = toRootless(doc, { uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0 });
  try {
    // runc writes it tab-indented; 'wx': never over an existing one.
    fs.writeFileSync(file, JSON.stringify(doc, null, '\t'), { flag: 'wx', mode: 0o666 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new CliError('File config.json exists. Remove it first');
    throw err;
  }
  return 0;
}

export async function features(ctx: Context, argv: string[]): Promise<number> {
  const p = await parseCommand(ctx, 'features', argv, { flags: [] });
  if (!p) return 0;
  expectArgs(p, 'features', 0);
  const { features: document } = await import('../features.js');
  ctx.out(`${JSON.stringify(document(), null, 4)}\n`);
  return 0;
}
