// run(): create + start + wait + destroy, with the output buffered.
import type { Readable } from 'node:stream';
import type { ContainerConfig, RunOptions, RunResult } from '../types/api.js';
import { Container } from './container.js';
import { AbortError } from './errors.js';

function collect(stream: Readable | null): Promise<Buffer> {
  if (!stream) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', () => {});
    stream.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

export async function run(config: ContainerConfig, options: RunOptions = {}): Promise<RunResult> {
  const { signal } = options;
  if (signal?.aborted) throw new AbortError('run', signal.reason);
  // Without input and without the caller's own stdio, stdin is /dev/null: no pipe to make and close.
  const stdio = config.process?.stdio ?? [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'];
  const container = await Container.create({ ...config, process: { ...config.process, stdio } });
  const onAbort = () => void container.destroy();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const init = await container.start();
    const output = Promise.all([collect(init.stdout), collect(init.stderr)]);
    if (options.input !== undefined) init.stdin?.end(options.input);
    else init.closeStdin();
    const status = await init.wait();
    // The last output drains while the container is taken apart (destroy()
    // leaves streams someone holds alone).
    const [[stdout, stderr]] = await Promise.all([output, container.destroy()]);
    if (signal?.aborted) throw new AbortError('run', signal.reason);
    return { ...status, stdout, stderr };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await container.destroy();
  }
}
