// update: a running container's resources.
import fs from 'node:fs';
import { expectArgs, str } from './args.js';
import { parseCommand } from './command.js';
import type { Context } from './context.js';
import { loadRef } from './handle.js';
import { UPDATE_FLAGS, buildResources, resourcesFromJson } from './resources.js';

export async function update(ctx: Context, argv: string[]): Promise<number> {
  const p = await parseCommand(ctx, 'update', argv, { flags: UPDATE_FLAGS });
  if (!p) return 0;
  expectArgs(p, 'update', 1);
  const file = str(p, 'resources');
  const base = file === undefined ? {} : resourcesFromJson(fs.readFileSync(file === '-' ? 0 : file, 'utf8'), file === '-' ? 'stdin' : file);
  const resources = buildResources(p, base);
  const ref = await loadRef(ctx, p.positionals[0]!);
  await ref.update(resources);
  return 0;
}
