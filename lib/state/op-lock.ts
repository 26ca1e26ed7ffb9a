// One state-changing operation on a container at a time, across processes:
// two `berth start`s must not both read 'created' and both send GO (the second
// would see its connection reset and take that for a dead init), nor a pause
// race a start's 'running' write. An flock on the state directory itself: it
// dies with its holder, so a killed CLI never leaves it held.
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { SetupError } from '../errors.js';
import { native } from '../native/addon.js';

export async function withContainerLock<T>(dir: string, op: string, fn: () => Promise<T>): Promise<T> {
  let fd: number;
  try {
    fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new SetupError(op, `cannot open the state directory ${dir}: ${e.code}`, { ...(e.code ? { errno: e.code } : {}), syscall: 'open', path: dir, cause: err });
  }
  try {
    const deadline = Date.now() + 10_000;
    for (let wait = 1; native.tryLock(fd) !== 0; wait = Math.min(wait * 2, 20)) {
      if (Date.now() > deadline) throw new SetupError(op, `another operation held ${dir} for 10 s`, { errno: 'EWOULDBLOCK', syscall: 'flock', path: dir });
      await sleep(wait);
    }
    return await fn();
  } finally {
    fs.closeSync(fd);
  }
}
