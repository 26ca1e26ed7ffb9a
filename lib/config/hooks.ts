// OCI `hooks` (runtime-spec config.md, "POSIX-platform Hooks", 1.2/1.3):
// validated here, run by lib/hooks/run.ts. Nothing is looked up on the host:
// a hook's binary may be put in place by an earlier hook, so a missing path
// is the runner's error (HOOK_FAILED, ENOENT), not the config's.
import { ConfigError } from '../errors.js';
import { absPath, int, isObject, onlyKeys, str } from './check.js';

/** In the order the lifecycle runs them. `prestart` is deprecated (1.0.2) but still in the spec. */
export const HOOK_NAMES = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'] as const;
export type HookName = (typeof HOOK_NAMES)[number];

export interface ResolvedHook {
  path: string;
  /** execv's argv, argv[0] included; `[path]` when the config gave none (as runc: Go's exec.Cmd does the same). */
  args: string[];
  /** The hook's whole environment ("K=V"): nothing of the runtime's is added. */
  env: string[];
  /** Seconds; absent: no limit (the spec sets no default). */
  timeout?: number;
}

export type ResolvedHooks = Record<HookName, ResolvedHook[]>;

/**
 * The largest timeout setTimeout can hold (2^31-1 ms): a bigger one would
 * fire at once (Node clamps it to 1 ms), killing every hook immediately.
 */
const MAX_TIMEOUT_SECONDS = Math.floor(0x7fffffff / 1000);

function resolveHook(v: unknown, field: string): ResolvedHook {
  if (!isObject(v)) throw new ConfigError(field, 'must be an object');
  // A misspelt "timout" must not leave a hook without its limit.
  onlyKeys(v, field, ['path', 'args', 'env', 'timeout']);
  if (v.path === undefined) throw new ConfigError(`${field}.path`, 'is required');
  const path = absPath(v.path, `${field}.path`);
  const list = (x: unknown, at: string): string[] => {
    if (x === undefined || x === null) return [];
    if (!Array.isArray(x)) throw new ConfigError(at, 'must be an array of strings');
    return x.map((s, i) => str(s, `${at}[${i}]`));
  };
  const args = list(v.args, `${field}.args`);
  const env = list(v.env, `${field}.env`);
  env.forEach((e, i) => {
    // execve takes anything, but a "K" or "=V" entry is no variable a hook can read.
    if (e.indexOf('=') <= 0) throw new ConfigError(`${field}.env[${i}]`, `must be "KEY=value", got "${e.slice(0, 80)}"`);
  });
  const hook: ResolvedHook = { path, args: args.length > 0 ? args : [path], env };
  if (v.timeout !== undefined && v.timeout !== null) hook.timeout = int(v.timeout, `${field}.timeout`, 1, MAX_TIMEOUT_SECONDS);
  return hook;
}

/** Every hook name present (an empty list when not given); `null` and `{}` ask for none. */
export function normalizeHooks(v: unknown, field = 'hooks'): ResolvedHooks {
  const out = Object.fromEntries(HOOK_NAMES.map((n) => [n, [] as ResolvedHook[]])) as ResolvedHooks;
  if (v === undefined || v === null) return out;
  if (!isObject(v)) throw new ConfigError(field, 'must be an object');
  onlyKeys(v, field, HOOK_NAMES);
  for (const name of HOOK_NAMES) {
    const list = v[name];
    if (list === undefined || list === null) continue; // Go's encoder writes a nil slice as null
    if (!Array.isArray(list)) throw new ConfigError(`${field}.${name}`, 'must be an array');
    out[name] = list.map((h, i) => resolveHook(h, `${field}.${name}[${i}]`));
  }
  return out;
}
