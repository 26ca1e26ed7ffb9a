// The container id and the bundle's config.json.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Spec } from '../../types/oci.js';
import { ConfigError } from '../errors.js';
import { str } from './check.js';

export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function validateId(id: unknown, field = 'id'): string {
  const s = str(id, field);
  if (!ID_PATTERN.test(s)) throw new ConfigError(field, `"${s}" is not a valid container id (${ID_PATTERN.source})`);
  return s;
}

export async function readBundle(bundle: string): Promise<Spec> {
  const file = path.join(bundle, 'config.json');
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError('bundle', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  try {
    return JSON.parse(text) as Spec;
  } catch (err) {
    throw new ConfigError('bundle', `${file} is not valid JSON: ${(err as Error).message}`);
  }
}
