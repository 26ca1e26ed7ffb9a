// seccompNotify: the in-process answer to a profile's SCMP_ACT_NOTIFY rules
// (a handler, its timeout and the errno a timed-out call gets), and the rule
// that a NOTIFY profile needs exactly one supervisor: this handler, or the
// OCI agent at the profile's listenerPath.
import { ConfigError } from '../errors.js';
import { type ResolvedNotify, errnoNumber } from '../seccomp/notify.js';
import { type ResolvedSeccomp, notifies } from '../seccomp/profile.js';
import { int, object, onlyKeys } from './check.js';

const DEFAULT_TIMEOUT_MS = 10_000;
const EPERM = 1;
/** setTimeout's limit (a larger delay fires at once). */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export function normalizeSeccompNotify(v: unknown, field: string): ResolvedNotify | undefined {
  if (v === undefined) return undefined;
  const o = object(v, field);
  onlyKeys(o, field, ['handler', 'timeoutMs', 'timeoutErrno']);
  if (typeof o.handler !== 'function') throw new ConfigError(`${field}.handler`, 'must be a function (request) => response | Promise<response>');
  const timeoutMs = o.timeoutMs === undefined ? DEFAULT_TIMEOUT_MS : int(o.timeoutMs, `${field}.timeoutMs`, 1, MAX_TIMEOUT_MS);
  let timeoutErrno = EPERM;
  if (o.timeoutErrno !== undefined) {
    try {
      timeoutErrno = errnoNumber(o.timeoutErrno as string | number, 'timeoutErrno');
    } catch (err) {
      throw new ConfigError(`${field}.timeoutErrno`, (err as Error).message);
    }
  }
  return Object.freeze({ handler: o.handler as ResolvedNotify['handler'], timeoutMs, timeoutErrno });
}

/** A NOTIFY profile at `field` with neither supervisor, or with both, is refused. */
export function checkNotifySupervisor(profile: ResolvedSeccomp | null, notify: ResolvedNotify | undefined, field: string, notifyField: string): void {
  if (!notifies(profile)) return;
  const rule = profile!.syscalls.findIndex((r) => r.action === 'SCMP_ACT_NOTIFY');
  if (profile!.listenerPath === undefined && !notify) {
    throw new ConfigError(`${field}.syscalls[${rule}].action`, `SCMP_ACT_NOTIFY needs someone to answer: give ${notifyField}.handler, or ${field}.listenerPath for an OCI agent`);
  }
  if (profile!.listenerPath !== undefined && notify) {
    throw new ConfigError(`${field}.listenerPath`, `the notify listener goes to one supervisor: the agent at listenerPath or ${notifyField}, not both`);
  }
}
