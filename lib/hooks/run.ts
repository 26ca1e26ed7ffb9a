// Runs OCI hooks on the host, in the runtime's namespaces (runtime-spec
// config.md, "POSIX-platform Hooks"). What a failure means is the caller's
// to act on; runtime-spec 1.3 says:
// - prestart, createRuntime, createContainer, startContainer: the runtime
//   MUST fail the operation and stop and destroy the container (runHooks
//   rejects; the lifecycle code does the teardown);
// - poststart: 1.3 made this an error too ("the runtime MUST generate an
//   error"): runHooks rejects and the caller stops and destroys the container;
// - poststop: a failure is logged as a warning and the remaining hooks and the
//   delete go on: runHooksCollectingErrors runs them all and returns the errors.
// createContainer and startContainer are called "in the container namespace"
// by the spec: running them here would run them in the host's. The caller
// must arrange that (this runner knows nothing of namespaces).
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HookName, ResolvedHook } from '../config/hooks.js';
import { AbortError, HookError } from '../errors.js';

export interface HookRunOptions {
  /** The hooks' working directory; default: this process's. */
  cwd?: string;
  /** Kills the running hook's process group and rejects with AbortError; later hooks are not started. */
  signal?: AbortSignal;
}

/** How much of a hook's stderr goes into its error: enough for a message, bounded against a chatty hook. */
const STDERR_MAX = 4096;
/** After the hook exits, how long its stderr may still be drained (a daemon it left may hold the pipe open forever). */
const STDERR_GRACE_MS = 100;
/** After a SIGKILL of the group, how long to wait for its last member to die. */
const GROUP_GONE_MS = 2000;

/** Each hook in order; the first failure rejects (a HookError, or AbortError) and the rest are not run. */
export async function runHooks(kind: HookName, hooks: readonly ResolvedHook[], state: object, opts: HookRunOptions = {}): Promise<void> {
  const input = JSON.stringify(state);
  for (let i = 0; i < hooks.length; i++) await runOne(kind, i, hooks[i], input, opts);
}

/** Every hook, whatever the others did (for poststop: failures are warnings); the errors, in order. */
export async function runHooksCollectingErrors(kind: HookName, hooks: readonly ResolvedHook[], state: object, opts: Pick<HookRunOptions, 'cwd'> = {}): Promise<HookError[]> {
  const input = JSON.stringify(state);
  const errors: HookError[] = [];
  for (let i = 0; i < hooks.length; i++) {
    try {
      await runOne(kind, i, hooks[i], input, opts);
    } catch (err) {
      if (!(err instanceof HookError)) throw err;
      errors.push(err);
    }
  }
  return errors;
}

function envObject(env: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env) {
    const eq = e.indexOf('=');
    out[e.slice(0, eq)] = e.slice(eq + 1);
  }
  return out;
}

/**
 * Whether process group `pgid` still has a live member. A zombie counts as
 * gone: once its parent is killed it is init's to reap, and an init may reap
 * late (kill(-pgid, 0) keeps answering until it does).
 */
async function groupAlive(pgid: number): Promise<boolean> {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false; // ESRCH: not even a zombie left
  }
  let names: string[];
  try {
    names = await readdir('/proc');
  } catch {
    return false; // no procfs to ask: the SIGKILL was sent, that is all we can do
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    // Fields after comm (which may hold spaces and ')'): state, ppid, pgrp, …
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
  }
  return false;
}

/** After the group's SIGKILL: until every member is dead (bounded; one that left the group with setsid is out of reach). */
async function groupGone(pgid: number): Promise<void> {
  const until = Date.now() + GROUP_GONE_MS;
  while (Date.now() < until && (await groupAlive(pgid))) {
    try {
      process.kill(-pgid, 'SIGKILL'); // again: a member forked while the first kill was on its way
    } catch {
      return;
    }
    await sleep(5);
  }
}

async function runOne(kind: HookName, index: number, hook: ResolvedHook, input: string, opts: HookRunOptions): Promise<void> {
  const step = `hook:${kind}[${index}]`;
  if (opts.signal?.aborted) throw new AbortError(step, opts.signal.reason);
  // Tolerant of a hand-made hook (the type says both are set; normalizeHooks always sets them).
  const argv = hook.args?.length ? hook.args : [hook.path];
  const base = { hook: kind, index, path: hook.path };
  const fail = (code: 'HOOK_FAILED' | 'HOOK_TIMEOUT', what: string, extra: { exitCode?: number; signal?: string; errno?: string; stderr?: string; cause?: unknown } = {}) => {
    const tail = extra.stderr ? `: ${extra.stderr}` : '';
    return new HookError(code, `${step} ${hook.path} ${what}${tail}`, { ...base, ...extra });
  };
  let child: ChildProcess;
  try {
    child = spawn(hook.path, argv.slice(1), {
      argv0: argv[0],
      // Exactly the hook's env: the runtime's own (credentials, NODE_OPTIONS, …) is not the hook's to see.
      env: envObject(hook.env ?? []),
      ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
      stdio: ['pipe', 'ignore', 'pipe'],
      // Its own session and process group: a timeout kills everything it started, not just it.
      detached: true,
    });
  } catch (err) {
    // Node throws (rather than emitting 'error') for spawn failures other than ENOENT, EACCES, EAGAIN, EMFILE, ENFILE.
    const errno = (err as NodeJS.ErrnoException).code;
    throw fail('HOOK_FAILED', `could not be run: ${(err as Error).message}`, { ...(errno ? { errno } : {}), cause: err });
  }

  // A hook that exits without reading its state closes the pipe: EPIPE is its choice, not our failure.
  child.stdin!.on('error', () => {});
  child.stdin!.end(input);
  const chunks: Buffer[] = [];
  let kept = 0;
  let stderrEnded = false;
  child.stderr!.on('data', (b: Buffer) => {
    // Read on past the limit (discarding): a full pipe would block the hook.
    if (kept < STDERR_MAX) chunks.push(b.subarray(0, STDERR_MAX - kept));
    kept += Math.min(b.length, STDERR_MAX - kept);
  });
  child.stderr!.on('error', () => {});
  const stderrEnd = new Promise<void>((resolve) => child.stderr!.once('close', () => {
    stderrEnded = true;
    resolve();
  }));

  let killedFor: 'timeout' | 'abort' | undefined;
  const killGroup = (why: 'timeout' | 'abort') => {
    if (killedFor !== undefined || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    killedFor = why;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // The group is gone already: the exit event is on its way.
    }
  };
  const timer = hook.timeout !== undefined ? setTimeout(() => killGroup('timeout'), hook.timeout * 1000) : undefined;
  const onAbort = () => killGroup('abort');
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null } | { error: NodeJS.ErrnoException }>((resolve) => {
    child.on('error', (error) => resolve({ error })); // on, not once: a late 'error' must not go unhandled
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  clearTimeout(timer);
  opts.signal?.removeEventListener('abort', onAbort);

  // Not until every process of the group is dead does a killed hook count as stopped.
  if (killedFor !== undefined && child.pid !== undefined) await groupGone(child.pid);
  const failed = killedFor !== undefined || 'error' in outcome || outcome.code !== 0;
  if (failed && !stderrEnded) await Promise.race([stderrEnd, sleep(STDERR_GRACE_MS)]);
  // Whatever still holds the pipe (a daemon the hook started) must not keep this process's fd or event loop.
  child.stderr!.destroy();
  child.stdin!.destroy();
  if (!failed) return;
  const stderr = Buffer.concat(chunks).toString('utf8').trim();

  if (killedFor === 'abort') throw new AbortError(step, opts.signal?.reason);
  if (killedFor === 'timeout') throw fail('HOOK_TIMEOUT', `did not finish within its timeout of ${hook.timeout} s (its process group was killed)`, { signal: 'SIGKILL', stderr });
  if ('error' in outcome) {
    const errno = outcome.error.code;
    throw fail('HOOK_FAILED', `could not be run (${errno ?? outcome.error.message})`, { ...(errno ? { errno } : {}), stderr, cause: outcome.error });
  }
  if (outcome.signal !== null) throw fail('HOOK_FAILED', `was killed by ${outcome.signal}`, { signal: outcome.signal, stderr });
  throw fail('HOOK_FAILED', `exited with code ${outcome.code}`, { exitCode: outcome.code ?? undefined, stderr });
}
