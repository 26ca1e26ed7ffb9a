// Small validators that name the JSON path of the field they reject.
import path from 'node:path';
import { types } from 'node:util';
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

/** `s` as given, refused when longer than `max` bytes (what the kernel copies of it). */
export function maxBytes(s: string, field: string, max: number, why: string): string {
  const n = Buffer.byteLength(s);
  if (n > max) throw new ConfigError(field, `is ${n} bytes; ${why} takes at most ${max}`);
  return s;
}

export function optStr(v: unknown, field: string): string | undefined {
  return v === undefined ? undefined : str(v, field);
}

// The kernel measures paths in bytes: PATH_MAX (4096) includes the NUL, and
// every component is at most NAME_MAX bytes (ENAMETOOLONG otherwise; the
// child's fixed buffers are sized by the same limits).
const PATH_MAX = 4096;
const NAME_MAX = 255;

function pathLimits(s: string, field: string): void {
  if (Buffer.byteLength(s) >= PATH_MAX) throw new ConfigError(field, `is ${Buffer.byteLength(s)} bytes, longer than PATH_MAX (${PATH_MAX - 1})`);
  for (const part of s.split('/')) {
    if (Buffer.byteLength(part) > NAME_MAX) throw new ConfigError(field, `has a component of ${Buffer.byteLength(part)} bytes, longer than NAME_MAX (${NAME_MAX})`);
  }
}

/** A host path, relative ones included; "" is refused (path.resolve would make it the cwd). */
export function hostPath(v: unknown, field: string): string {
  const s = str(v, field);
  if (s === '') throw new ConfigError(field, 'must not be empty');
  pathLimits(s, field);
  return s;
}

export function absPath(v: unknown, field: string): string {
  const s = str(v, field);
  if (!s.startsWith('/')) throw new ConfigError(field, `must be an absolute path, got "${s.slice(0, 80)}"`);
  pathLimits(s, field);
  return s;
}

/**
 * A path inside the container, normalized ("/dev/x/../y" is "/dev/y") so that
 * checks on it ("under /dev") hold for what the child resolves; a ".." that
 * climbs above "/" is refused rather than silently clamped.
 */
export function containerPath(v: unknown, field: string): string {
  const s = absPath(v, field);
  let depth = 0;
  for (const part of s.split('/')) {
    if (part === '..') depth--;
    else if (part !== '' && part !== '.') depth++;
    if (depth < 0) throw new ConfigError(field, `"${s.slice(0, 80)}" climbs out of the container's root with ".."`);
  }
  const normal = path.posix.normalize(s);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
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

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** The JSON path of `key` under `parent` ('' for the root): `a.b`, `a[3]`, `a["x/y"]`. */
export function childField(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  if (IDENTIFIER.test(key)) return parent === '' ? key : `${parent}.${key}`;
  return `${parent}[${JSON.stringify(key)}]`;
}

// Far beyond any real config (OCI nests 6 levels, no list needs a million
// entries) and small enough that a hostile one cannot overflow the stack or
// spin on a sparse array's length.
const MAX_DEPTH = 64;
const MAX_ENTRIES = 1 << 20;

// Objects JSON would silently turn into something else ({} or a string).
const LOSSY: Array<[(v: object) => boolean, string]> = [
  [types.isDate, 'Date'], [types.isMap, 'Map'], [types.isSet, 'Set'], [types.isWeakMap, 'WeakMap'],
  [types.isWeakSet, 'WeakSet'], [types.isRegExp, 'RegExp'], [types.isPromise, 'Promise'],
  [types.isAnyArrayBuffer, 'ArrayBuffer'], [types.isArrayBufferView, 'Buffer or typed array'],
  [types.isBoxedPrimitive, 'boxed primitive'],
];

/**
 * A plain copy of `v` (objects and arrays only), refusing anything JSON
 * cannot carry faithfully (BigInt, function, symbol, NaN/Infinity, cycles,
 * Maps and Dates, ...) and naming its path. The config is validated as data
 * and recorded as JSON: a value JSON.stringify would throw on or silently
 * change must not get past validation. Validating the copy also means a
 * getter, proxy or later mutation cannot show the checks one value and the
 * child another.
 */
const SECCOMP_ARG_VALUE = /^linux\.seccomp\.syscalls\[\d+\]\.args\[\d+\]\.(value|valueTwo)$|^process\.seccomp\.syscalls\[\d+\]\.args\[\d+\]\.(value|valueTwo)$|^seccomp\.syscalls\[\d+\]\.args\[\d+\]\.(value|valueTwo)$/;

export function plainJson(v: unknown, field: string): unknown {
  return copyJson(v, field, [], []);
}

function copyJson(v: unknown, field: string, ancestors: object[], ancestorFields: string[]): unknown {
  const at = field === '' ? '$' : field;
  switch (typeof v) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return v;
    case 'number':
      if (!Number.isFinite(v)) throw new ConfigError(at, `is ${v}, which JSON cannot hold`);
      return v;
    case 'bigint':
      // A seccomp argument is a full 64-bit value, which a JSON number cannot
      // always hold exactly: the one place a BigInt is data (as OCI's uint64).
      if (SECCOMP_ARG_VALUE.test(field)) return v;
      throw new ConfigError(at, `is a BigInt (${v}n), which JSON cannot hold: use a number`);
    case 'function':
      throw new ConfigError(at, 'is a function, not JSON data');
    case 'symbol':
      throw new ConfigError(at, 'is a symbol, not JSON data');
  }
  if (v === null) return v;
  const o = v as Record<string | number, unknown>;
  const seen = ancestors.indexOf(o);
  if (seen >= 0) throw new ConfigError(at, `refers back to ${ancestorFields[seen] || '$'} (a cycle), which JSON cannot hold`);
  if (ancestors.length >= MAX_DEPTH) throw new ConfigError(at, `nests deeper than ${MAX_DEPTH} levels`);
  ancestors.push(o);
  ancestorFields.push(field);
  try {
    for (const [is, kind] of LOSSY) if (is(o)) throw new ConfigError(at, `is a ${kind}, not plain JSON data`);
    if (typeof o.toJSON === 'function') throw new ConfigError(at, 'has a toJSON method: pass the plain data it stands for');
    if (Array.isArray(o)) {
      if (o.length > MAX_ENTRIES) throw new ConfigError(at, `has ${o.length} entries (at most ${MAX_ENTRIES})`);
      const out: unknown[] = [];
      for (let i = 0; i < o.length; i++) out.push(copyJson(readField(o, i, childField(field, i)), childField(field, i), ancestors, ancestorFields));
      return out;
    }
    const keys = Object.keys(o);
    if (keys.length > MAX_ENTRIES) throw new ConfigError(at, `has ${keys.length} keys (at most ${MAX_ENTRIES})`);
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      const value = copyJson(readField(o, k, childField(field, k)), childField(field, k), ancestors, ancestorFields);
      // As JSON does: an undefined member is absent. defineProperty, so that a
      // "__proto__" key stays data instead of replacing the copy's prototype.
      if (value !== undefined) Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
    }
    return out;
  } catch (err) {
    throw unreadable(err, at);
  } finally {
    ancestors.pop();
    ancestorFields.pop();
  }
}

// A getter or proxy trap that throws: the value cannot be read, so it cannot be validated.
function unreadable(err: unknown, at: string): ConfigError {
  return err instanceof ConfigError ? err : new ConfigError(at, `cannot be read: ${(err as Error)?.message ?? err}`);
}

function readField(o: Record<string | number, unknown>, key: string | number, field: string): unknown {
  try {
    return o[key];
  } catch (err) {
    throw unreadable(err, field);
  }
}

/**
 * `table[key]` for the table's own keys only: a config saying "toString" or
 * "__proto__" must not reach Object.prototype's members.
 */
export function lookup<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}
