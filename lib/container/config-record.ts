// config.json in a detached container's state dir: the resolved config, so a
// process that did not create the container can exec into it with the same
// defaults, run its hooks and validate updates against it. JSON with BigInts
// tagged (rlimits, seccomp arguments); the notify handler (a function) is
// never there: a detached container refuses one (lib/config/detach.ts).
import fs from 'node:fs/promises';
import type { ResolvedConfig } from '../config/normalize.js';
import { writeBytes } from '../state/state-dir.js';

const BIGINT = '$bigint';

export function encodeConfig(config: ResolvedConfig): string {
  const { seccompNotify: _handler, ...data } = config;
  return JSON.stringify(data, (_k, v: unknown) => (typeof v === 'bigint' ? { [BIGINT]: v.toString() } : v));
}

export function decodeConfig(text: string): ResolvedConfig {
  return JSON.parse(text, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const keys = Object.keys(v);
      if (keys.length === 1 && keys[0] === BIGINT) return BigInt((v as Record<string, string>)[BIGINT]!);
    }
    return v;
  }) as ResolvedConfig;
}

export function saveConfig(file: string, config: ResolvedConfig): Promise<void> {
  return writeBytes(file, encodeConfig(config));
}

export async function loadConfig(file: string): Promise<ResolvedConfig | null> {
  try {
    return decodeConfig(await fs.readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
