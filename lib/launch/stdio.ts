// The fds a container process gets at 0, 1, 2 (and beyond), and the Node
// streams for the 'pipe' ones. Child-side ends are closed right after spawn.
import fs from 'node:fs';
import net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import type { StdioOption } from '../../types/api.js';
import { native } from '../native.js';

export interface PreparedStdio {
  /** The fd the child gets at each position. */
  childFds: number[];
  stdin: Writable | null;
  stdout: Readable | null;
  stderr: Readable | null;
  /** Close what only the child needed (call once spawn returned or failed). */
  closeChildEnds(): void;
  /** Tear down the parent's streams too (failure path). */
  destroyAll(): void;
}

export function prepareStdio(options: StdioOption[]): PreparedStdio {
  const childFds: number[] = [];
  const childOnly: number[] = [];
  const parentEnds: Array<number | null> = [];
  try {
    options.forEach((opt, i) => {
      if (opt === 'pipe' && i <= 2) {
        const [r, w] = native.pipe();
        const childEnd = i === 0 ? r : w;
        childFds.push(childEnd);
        childOnly.push(childEnd);
        parentEnds.push(i === 0 ? w : r);
      } else if (opt === 'pipe') {
        throw new Error(`stdio[${i}]: 'pipe' is only supported for 0-2`);
      } else if (opt === 'ignore') {
        const fd = fs.openSync('/dev/null', 'r+');
        childFds.push(fd);
        childOnly.push(fd);
        parentEnds.push(null);
      } else if (opt === 'inherit') {
        childFds.push(i);
        parentEnds.push(null);
      } else {
        childFds.push(opt);
        parentEnds.push(null);
      }
    });
  } catch (err) {
    for (const fd of [...childOnly, ...parentEnds]) if (fd !== null) native.close(fd);
    throw err;
  }
  const stream = (i: number, readable: boolean) => {
    const fd = parentEnds[i];
    if (fd === null || fd === undefined) return null;
    return new net.Socket({ fd, readable, writable: !readable });
  };
  const stdin = stream(0, false) as Writable | null;
  const stdout = stream(1, true) as Readable | null;
  const stderr = stream(2, true) as Readable | null;
  // A container that exits without reading stdin must not crash the caller.
  stdin?.on('error', () => {});
  let childClosed = false;
  return {
    childFds,
    stdin,
    stdout,
    stderr,
    closeChildEnds() {
      if (childClosed) return;
      childClosed = true;
      for (const fd of childOnly) native.close(fd);
    },
    destroyAll() {
      this.closeChildEnds();
      stdin?.destroy();
      stdout?.destroy();
      stderr?.destroy();
    },
  };
}
