// Small async helpers for cgroupfs I/O. Every failure becomes a CgroupError that
// carries the errno/syscall/path of the call the kernel refused, because "EINVAL"
// alone is useless without knowing which file rejected which value.
import { constants, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { CgroupError } from '../errors.js';
import { cgroupWriteHint } from './convert.js';

function hint(path: string, errno: string | undefined): string {
  const h = cgroupWriteHint(path, errno);
  return h ? ` (${h})` : '';
}

export function toCgroupError(step: string, err: unknown, path: string, what: string): CgroupError {
  if (err instanceof CgroupError) return err;
  const e = err as NodeJS.ErrnoException;
  return new CgroupError({
    step,
    path,
    ...(e?.code ? { errno: e.code } : {}),
    ...(e?.syscall ? { syscall: e.syscall } : {}),
    message: `${what}: ${e?.code ?? ''} ${e?.message ?? String(err)}${hint(path, e?.code)}`.replace(/\s+/g, ' ').trim(),
    cause: err,
  });
}

export function isErrno(err: unknown, ...codes: string[]): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && codes.includes(code);
}

export async function readText(path: string, step: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw toCgroupError(step, err, path, `cannot read ${path}`);
  }
}

/** A failed read of a file that may legitimately be absent (a controller not enabled, an older kernel): null, or the error to throw. */
function absentOrThrow(err: unknown, path: string): null {
  if (isErrno(err, 'ENOENT', 'ENODEV', 'EOPNOTSUPP')) return null;
  throw toCgroupError('read', err, path, `cannot read ${path}`);
}

/** Reads a file that may legitimately be absent; null if it is. */
export async function readOptional(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    return absentOrThrow(err, path);
  }
}

/**
 * readOptional without the thread pool, for one-line counters read on every
 * container exit (memory.events, memory.oom_control): cgroupfs answers from
 * memory in microseconds, less than a round trip to a worker thread.
 */
export function readOptionalSync(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    return absentOrThrow(err, path);
  }
}

// O_WRONLY without O_CREAT/O_TRUNC: cgroupfs files always exist (ENOENT then means
// "controller not available here"), and some (cgroup.kill) are write-only, so
// opening them for reading would fail with EACCES.
const WRITE_FLAGS = constants.O_WRONLY;

/** One write(2) of `value` to a cgroup control file. */
export async function writeText(path: string, value: string, step: string): Promise<void> {
  try {
    await writeFile(path, value, { flag: WRITE_FLAGS });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    // Node does not always attach the path to write(2) failures; the caller needs it.
    if (e && typeof e === 'object' && e.syscall === undefined) e.syscall = 'write';
    throw toCgroupError(step, err, path, `cannot write "${value}" to ${path}`);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns true or the deadline passes; returns whether it became true. */
export async function pollUntil(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(intervalMs, Math.max(1, deadline - Date.now())));
  }
}

/** "key value" lines (cpu.stat, memory.events, cgroup.events, memory.oom_control). */
export function parseFlatKeyed(text: string | null): Map<string, string> {
  const out = new Map<string, string>();
  if (!text) return out;
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp > 0) out.set(line.slice(0, sp), line.slice(sp + 1).trim());
  }
  return out;
}

/** A decimal counter; "max" and absent values read as null. */
export function parseCount(text: string | null | undefined): number | null {
  if (text == null) return null;
  const t = text.trim();
  if (t === '' || t === 'max') return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

export function parsePids(text: string | null): number[] {
  if (!text) return [];
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => Number(l));
}
