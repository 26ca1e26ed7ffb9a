// run(): create + start + wait + destroy, with the output buffered natively.
import type { ContainerConfig, RunOptions, RunResult } from '../../types/api.js';
import { describe, isObject } from '../config/check.js';
import { AbortError, ConfigError, SetupError, errnoName } from '../errors.js';
import { native } from '../native/addon.js';
import { createInit } from './create.js';

/** 8 MiB per stream: see RunOptions.maxOutputBytes. */
export const DEFAULT_MAX_OUTPUT_BYTES = 8 * 1024 * 1024;

interface Output {
  data: Buffer;
  truncated: boolean;
}

function outputLimits(options: RunOptions): { maxBytes: number; kill: boolean } {
  const maxBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  if (typeof maxBytes !== 'number' || !(maxBytes === Infinity || (Number.isSafeInteger(maxBytes) && maxBytes >= 0))) {
    throw new ConfigError('options.maxOutputBytes', `must be a non-negative integer or Infinity, got ${describe(maxBytes)}`);
  }
  const onLimit = options.onOutputLimit ?? 'truncate';
  if (onLimit !== 'truncate' && onLimit !== 'kill') {
    throw new ConfigError('options.onOutputLimit', `must be 'truncate' or 'kill', got ${describe(onLimit)}`);
  }
  return { maxBytes, kill: onLimit === 'kill' };
}

/**
 * What one of the init's pipes carried, read natively to EOF (the output is
 * buffered whole anyway; a stream per pipe would cost more than the reads),
 * keeping at most maxBytes.
 */
function collect(fd: number | null, i: number, maxBytes: number, onLimit: (() => void) | null): { done: Promise<Output>; stop: () => void } {
  if (fd === null) return { done: Promise.resolve({ data: Buffer.alloc(0), truncated: false }), stop: () => {} };
  let collector: { stop(): void } | null = null;
  const done = new Promise<Output>((resolve, reject) => {
    collector = new native.PipeCollector(fd, maxBytes, onLimit, (errno, data, truncated) => {
      collector = null;
      if (errno === 0) resolve({ data, truncated });
      else reject(new SetupError('output', `reading the container's stdio[${i}] failed: ${errnoName(errno)}`, { errno: errnoName(errno), syscall: 'read' }));
    });
  });
  done.catch(() => {}); // awaited later; a failure before then is not unhandled
  return { done, stop: () => collector?.stop() };
}

export async function run(config: ContainerConfig, options: RunOptions = {}): Promise<RunResult> {
  const { signal } = options;
  const { maxBytes, kill } = outputLimits(options);
  if (signal?.aborted) throw new AbortError('run', signal.reason);
  // Without input and without the caller's own stdio, stdin is /dev/null: no pipe to make and close.
  // Only a process object gets run()'s stdio default; anything else reaches
  // validation as the caller wrote it, to be named there.
  const given = isObject(config) ? config.process : undefined;
  const withStdio = isObject(given)
    ? { ...config, process: { ...given, stdio: given.stdio ?? [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] } }
    : config;
  const { container, fds } = await createInit(withStdio as ContainerConfig, { execAfterReady: true, takeFds: [1, 2] });
  // The collectors keep draining after the kill, to EOF, so nothing blocks on a full pipe meanwhile.
  const onLimit = kill ? () => void container.kill('SIGKILL').catch(() => {}) : null;
  const outputs = [collect(fds[0] ?? null, 1, maxBytes, onLimit), collect(fds[1] ?? null, 2, maxBytes, onLimit)];
  const onAbort = () => void container.destroy();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const init = await container.start();
    if (options.input !== undefined) init.stdin?.end(options.input);
    else init.closeStdin();
    const status = await init.wait();
    // The last output drains while the container is taken apart (its death
    // closes every write end the container's processes held).
    const [stdout, stderr] = await Promise.all([outputs[0]!.done, outputs[1]!.done, container.destroy()]);
    if (signal?.aborted) throw new AbortError('run', signal.reason);
    return { ...status, stdout: stdout!.data, stderr: stderr!.data, truncated: { stdout: stdout!.truncated, stderr: stderr!.truncated } };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    for (const o of outputs) o.stop();
    await container.destroy();
  }
}
