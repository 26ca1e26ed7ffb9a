// run(): create + start + wait + destroy, with the output buffered natively.
import type { ContainerConfig, RunOptions, RunResult } from '../../types/api.js';
import { isObject } from '../config/check.js';
import { AbortError, SetupError, errnoName } from '../errors.js';
import { native } from '../native/addon.js';
import { createInit } from './create.js';

/**
 * Everything written to one of the init's pipes, read natively to EOF (the
 * output is buffered whole anyway; a stream per pipe would cost more than the reads).
 */
function collect(fd: number | null, i: number): { done: Promise<Buffer>; stop: () => void } {
  if (fd === null) return { done: Promise.resolve(Buffer.alloc(0)), stop: () => {} };
  let collector: { stop(): void } | null = null;
  const done = new Promise<Buffer>((resolve, reject) => {
    collector = new native.PipeCollector(fd, (errno, data) => {
      collector = null;
      if (errno === 0) resolve(data);
      else reject(new SetupError('output', `reading the container's stdio[${i}] failed: ${errnoName(errno)}`, { errno: errnoName(errno), syscall: 'read' }));
    });
  });
  done.catch(() => {}); // awaited later; a failure before then is not unhandled
  return { done, stop: () => collector?.stop() };
}

export async function run(config: ContainerConfig, options: RunOptions = {}): Promise<RunResult> {
  const { signal } = options;
  if (signal?.aborted) throw new AbortError('run', signal.reason);
  // Without input and without the caller's own stdio, stdin is /dev/null: no pipe to make and close.
  // Only a process object gets run()'s stdio default; anything else reaches
  // validation as the caller wrote it, to be named there.
  const given = isObject(config) ? config.process : undefined;
  const withStdio = isObject(given)
    ? { ...config, process: { ...given, stdio: given.stdio ?? [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] } }
    : config;
  const { container, fds } = await createInit(withStdio as ContainerConfig, { execAfterReady: true, takeFds: [1, 2] });
  const outputs = [collect(fds[0] ?? null, 1), collect(fds[1] ?? null, 2)];
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
    return { ...status, stdout: stdout!, stderr: stderr! };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    for (const o of outputs) o.stop();
    await container.destroy();
  }
}
