// Small validators that name the JSON path of the field they reject.
import { ConfigError } from '../errors.js';

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function optObject(v: unknown, field: string): Record<string, unknown> | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) throw new ConfigError(field, 'must be an object');
  return v;
}

export function optArray(v: unknown, field: string): unknown[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw new ConfigError(field, 'must be an array');
  return v;
}

export function str(v: unknown, field: string): string {
  if (typeof v !== 'string') throw new ConfigError(field, 'must be a string');
  if (v.includes('\0')) throw new ConfigError(field, 'must not contain NUL bytes');
  return v;
}

export function optStr(v: unknown, field: string): string | undefined {
  return v === undefined ? undefined : str(v, field);
}

export function absPath(v: unknown, field: string): string {
  const s = str(v, field);
  if (!s.startsWith('/')) throw new ConfigError(field, `must be an absolute path, got "${s}"`);
  if (s.length >= 4096) throw new ConfigError(field, 'is longer than PATH_MAX');
  return s;
}

export function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ConfigError(field, `must be an integer, got ${describe(v)}`);
  if (v < min || v > max) throw new ConfigError(field, `must be between ${min} and ${max}, got ${v}`);
  return v;
}

export function optInt(v: unknown, field: string, min: number, max: number): number | undefined {
  return v === undefined ? undefined : int(v, field, min, max);
}

export function optBool(v: unknown, field: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new ConfigError(field, 'must be a boolean');
  return v;
}

export function strArray(v: unknown, field: string): string[] {
  const a = optArray(v, field) ?? [];
  return a.map((x, i) => str(x, `${field}[${i}]`));
}

export const UINT32_ID_MAX = 0xfffffffe; // (uid_t)-1 means "unchanged" to the kernel

export function object(v: unknown, field: string): Record<string, unknown> {
  if (!isObject(v)) throw new ConfigError(field, 'must be an object');
  return v;
}

export function array(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) throw new ConfigError(field, 'must be an array');
  return v;
}

/** Refuses keys outside `allowed`: a misspelt field must not be silently ignored. */
export function onlyKeys(o: Record<string, unknown>, field: string, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new ConfigError(`${field}.${k}`, `unknown field (expected one of: ${allowed.join(', ')})`);
  }
}

/**
 * An optional integer field of `o` in [min, max]; null counts as absent (OCI
 * writers emit it), and -1 is accepted where the OCI spec uses it for "unlimited".
 */
export function optLimit(o: Record<string, unknown>, key: string, field: string, opts: { min: number; max?: number; unlimited?: boolean }): void {
  const v = o[key];
  if (v === undefined || v === null) return;
  const at = `${field}.${key}`;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new ConfigError(at, `must be an integer, got ${describe(v)}`);
  if (opts.unlimited && v === -1) return;
  if (v < opts.min) throw new ConfigError(at, `must be >= ${opts.min}${opts.unlimited ? ' (or -1 for unlimited)' : ''}, got ${v}`);
  if (opts.max !== undefined && v > opts.max) throw new ConfigError(at, `must be <= ${opts.max}, got ${v}`);
}

/** A value for an error message: JSON where JSON can say it (a BigInt cannot). */
export function describe(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n (a BigInt)`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
