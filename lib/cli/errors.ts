// What the CLI says when something fails: one line (runc prints the error's
// message; engines take the last error line of the --log file as the reason),
// and exit code 1 for every error, as runc.
import { getSystemErrorMap } from 'node:util';
import { BerthError } from '../errors.js';

/** A failure the CLI itself found (usage, state rules): its message is said as is. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** The message for a container id that is not in the state root (runc's wording). */
export function notExist(id: string): CliError {
  return new CliError(`container "${id}" does not exist`);
}

const oneLine = (s: string): string =>
  s
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .join('; ');

/**
 * One line for any error: a BerthError's message followed by what its message
 * does not already say of step, syscall, path and errno, e.g.
 * `mount failed (step: mounts, syscall: mount, path: /proc, errno: EPERM)`.
 * A ConfigError's message already names the JSON path of the bad field.
 */
export function describeError(err: unknown): string {
  if (err instanceof CliError) return oneLine(err.message);
  if (err instanceof BerthError || isBerthLike(err)) {
    const e = err as BerthError;
    const msg = oneLine(e.message || e.code);
    const parts: string[] = [];
    const add = (label: string, value: string | undefined): void => {
      if (value && !msg.includes(value)) parts.push(`${label}: ${value}`);
    };
    add('step', e.step);
    add('syscall', e.syscall);
    add('path', e.path);
    add('errno', e.errno);
    const text = parts.length ? `${msg} (${parts.join(', ')})` : msg;
    // The errno said as strerror says it, last (as runc's Go errors end): podman maps the
    // runtime's message to its exit code by these words ("no such file or directory" → 127,
    // "permission denied"/"operation not permitted" → 126).
    const cause = strerror(e.errno);
    return cause && !text.toLowerCase().includes(cause) ? `${text}: ${cause}` : text;
  }
  if (err instanceof Error) return oneLine(err.message) || err.name;
  return oneLine(String(err));
}

/** libuv's text for an errno name (`ENOENT` → `no such file or directory`), undefined if unknown. */
export function strerror(name: string | undefined): string | undefined {
  if (!name) return undefined;
  for (const [n, text] of getSystemErrorMap().values()) if (n === name) return text;
  return undefined;
}

/** A BerthError from another copy of the module (a BerthError is known by its fields, too). */
function isBerthLike(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && /^[A-Z_]+$/.test(code) && 'step' in err;
}

export function exitCodeOf(err: unknown): number {
  return err instanceof CliError ? err.exitCode : 1;
}

/** A missing container, whichever way the library said it. */
export function isNotFound(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'CONTAINER_NOT_FOUND';
}
