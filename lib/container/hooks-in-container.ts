// createContainer and startContainer hooks: "in the container namespace"
// (runtime-spec config.md). Each runs as an exec into the set-up container —
// every namespace of the init, its root, its cgroup — as root with the
// container's bounding capabilities and no seccomp filter, the state JSON on
// stdin. createContainer runs while the init waits before its pivot_root
// (MSG_HOOKS): the init's root is still the host's, so its path resolves in
// the runtime namespace, as the spec says; startContainer's, run once the
// init is set up, resolves in the container.
import type { Readable, Writable } from 'node:stream';
import type { HookName, ResolvedHook } from '../config/hooks.js';
import { HookError } from '../errors.js';
import { type ExecTarget, execProcess } from './exec.js';

const STDERR_MAX = 4096;

export async function runHooksInContainer(kind: HookName, hooks: readonly ResolvedHook[], state: object, target: ExecTarget): Promise<void> {
  const input = JSON.stringify(state);
  for (let i = 0; i < hooks.length; i++) await runOne(kind, i, hooks[i]!, input, target);
}

async function runOne(kind: HookName, index: number, hook: ResolvedHook, input: string, target: ExecTarget): Promise<void> {
  const detail = { hook: kind, index, path: hook.path };
  const caps = target.config.process.capabilities.bounding;
  let proc;
  try {
    proc = await execProcess(
      target,
      {
        args: hook.args,
        env: hook.env,
        cwd: '/',
        user: { uid: 0, gid: 0 },
        terminal: false,
        noNewPrivileges: false,
        capabilities: { bounding: caps, effective: caps, permitted: caps },
        seccomp: null,
        stdio: ['pipe', 'ignore', 'pipe'],
      },
      {},
      { execPath: hook.path, admitted: kind === 'createContainer' },
    );
  } catch (err) {
    const e = err as { message?: string; errno?: string };
    throw new HookError('HOOK_FAILED', `${kind} hook ${hook.path} could not run in the container: ${e.message ?? String(err)}`, { ...detail, ...(e.errno ? { errno: e.errno } : {}), cause: err });
  }
  const { handle } = proc;
  const stderr = collect(handle.stderr);
  const stdin = handle.stdin as Writable | null;
  stdin?.on('error', () => {}); // a hook that does not read its stdin: EPIPE is fine
  stdin?.end(input);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    if (hook.timeout !== undefined) timer = setTimeout(() => resolve('timeout'), hook.timeout * 1000);
  });
  const result = await Promise.race([handle.wait(), timedOut]);
  clearTimeout(timer);
  if (result === 'timeout') {
    handle.kill('SIGKILL');
    await handle.wait();
    throw new HookError('HOOK_TIMEOUT', `${kind} hook ${hook.path} did not finish within ${hook.timeout} s (killed)`, { ...detail, stderr: await stderr });
  }
  if (result.exitCode === 0) return;
  const err = await stderr;
  const how = result.signal ? `was killed by ${result.signal}` : `exited with ${result.exitCode}`;
  throw new HookError('HOOK_FAILED', `${kind} hook ${hook.path} ${how}${err ? `: ${err.trim()}` : ''}`, {
    ...detail,
    ...(result.exitCode !== null ? { exitCode: result.exitCode } : {}),
    ...(result.signal ? { signal: result.signal } : {}),
    stderr: err,
  });
}

function collect(stream: Readable | null): Promise<string> {
  if (!stream) return Promise.resolve('');
  return new Promise((resolve) => {
    let text = '';
    stream.on('data', (b: Buffer) => {
      if (text.length < STDERR_MAX) text += b.toString('utf8').slice(0, STDERR_MAX - text.length);
    });
    stream.on('end', () => resolve(text));
    stream.on('error', () => resolve(text));
    stream.on('close', () => resolve(text));
  });
}
