// The fds a container process gets at 0, 1, 2 (and beyond), and the Node
// streams for the 'pipe' ones. Child-side ends are closed right after spawn.
import fs from 'node:fs';
import net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import type { StdioOption } from '../../types/api.js';
import { native } from '../native/addon.js';

export interface PreparedStdio {
  /** The fd the child gets at each position. */
  childFds: number[];
  streams: LazyStreams;
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
      if (opt === 'pipe') {
        const [r, w] = native.pipe();
        const childEnd = i === 0 ? r : w;
        childFds.push(childEnd);
        childOnly.push(childEnd);
        parentEnds.push(i === 0 ? w : r);
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
  const streams = new LazyStreams(parentEnds);
  let childClosed = false;
  return {
    childFds,
    streams,
    closeChildEnds() {
      if (childClosed) return;
      childClosed = true;
      for (const fd of childOnly) native.close(fd);
    },
    destroyAll() {
      this.closeChildEnds();
      streams.destroy();
    },
  };
}

/**
 * The parent's ends as Node streams. A net.Socket starts reading when it is
 * made; made at create() time, it could see EOF and emit 'end' before the
 * caller (who gets it only after start()'s awaits) has attached a listener, so
 * they are made at hand-off (materialize) or on first access.
 */
export class LazyStreams {
  private made: Array<net.Socket | null | undefined> = [];

  constructor(private readonly fds: Array<number | null>) {}

  private get(i: number): net.Socket | null {
    if (this.made[i] !== undefined) return this.made[i]!;
    const fd = this.fds[i];
    if (fd === null || fd === undefined) {
      this.made[i] = null;
      return null;
    }
    const socket = new net.Socket({ fd, readable: i !== 0, writable: i === 0 });
    // A container that exits without reading stdin must not crash the caller.
    if (i === 0) socket.on('error', () => {});
    this.fds[i] = null;
    this.made[i] = socket;
    return socket;
  }

  get stdin(): Writable | null {
    return this.get(0);
  }

  get stdout(): Readable | null {
    return this.get(1);
  }

  get stderr(): Readable | null {
    return this.get(2);
  }

  /**
   * Hands the raw parent end at i to the caller (who must close it) instead of
   * making a stream for it; null if there is none or a stream was made.
   */
  takeFd(i: number): number | null {
    const fd = this.fds[i];
    if (fd === null || fd === undefined || this.made[i] !== undefined) return null;
    this.fds[i] = null;
    this.made[i] = null;
    return fd;
  }

  /** Closes stdin (the container sees EOF) without making a stream for nothing. */
  endStdin(): void {
    const fd = this.fds[0];
    if (fd !== null && fd !== undefined && this.made[0] === undefined) {
      native.close(fd);
      this.fds[0] = null;
      this.made[0] = null;
    } else this.made[0]?.end();
  }

  /**
   * Makes every stream now. Called right before the process is handed to the
   * caller, with no await in between: the caller's listeners attach before any
   * I/O callback can deliver EOF. An output stream nobody reads still closes
   * itself at EOF (it was asked for 0 bytes); one that fills up blocks the
   * process, as with child_process.
   */
  materialize(): void {
    for (const i of this.fds.keys()) this.get(i);
  }

  /** At exit: stdin has no reader any more. */
  onExit(): void {
    if (this.made[0] === undefined) this.endStdin();
    else this.made[0]?.destroy();
  }

  /** Closes every end no stream was made for, and destroys those that were. */
  destroy(): void {
    this.fds.forEach((fd, i) => {
      if (fd !== null && fd !== undefined) native.close(fd);
      this.fds[i] = null;
    });
    for (const s of this.made) s?.destroy();
  }

  /** Closes the ends nobody asked for (their data is unwanted); leaves made streams to their owners. */
  closeUnused(): void {
    this.fds.forEach((fd, i) => {
      if (fd !== null && fd !== undefined) {
        native.close(fd);
        this.fds[i] = null;
        this.made[i] = null;
      }
    });
  }
}
