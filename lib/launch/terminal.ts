// Terminal: the master side of a container process's pty as one Duplex.
// Reading goes through tty.ReadStream (libuv does not reopen a pty *master*,
// so the fd stays ours); writing uses fs.write on the same non-blocking fd,
// retrying on EAGAIN (a pty's input queue is small).
import fs from 'node:fs';
import { Duplex } from 'node:stream';
import tty from 'node:tty';
import { BerthError } from '../errors.js';
import { native } from '../native/addon.js';

export interface WindowSize {
  width: number;
  height: number;
}

export class Terminal extends Duplex {
  private readonly fd: number;
  private readonly input: tty.ReadStream;
  private isClosed = false;

  /** @internal */
  constructor(fd: number) {
    super({ allowHalfOpen: true });
    this.fd = fd;
    this.input = new tty.ReadStream(fd);
    this.input.pause();
    this.input.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) this.input.pause();
    });
    this.input.on('end', () => this.push(null));
    // Once the last slave fd closes (the process exited), the master reads EIO: that is EOF.
    this.input.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EIO') this.push(null);
      else this.destroy(err);
    });
  }

  override _read(): void {
    this.input.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    let offset = 0;
    const attempt = () => {
      if (this.isClosed) return cb(new BerthError('TERMINAL_CLOSED', 'the terminal is closed', { step: 'terminal' }));
      fs.write(this.fd, chunk, offset, chunk.length - offset, null, (err, n) => {
        if (err && (err as NodeJS.ErrnoException).code === 'EAGAIN') return void setTimeout(attempt, 5);
        if (err) return cb(err);
        offset += n;
        if (offset < chunk.length) attempt();
        else cb();
      });
    };
    attempt();
  }

  /** Sets the window size the process sees (SIGWINCH is sent by the kernel). */
  /** The pty master (still this object's: destroy() closes it), e.g. to send to a console socket. */
  get masterFd(): number {
    return this.fd;
  }

  resize(size: WindowSize): void {
    if (this.isClosed) throw new BerthError('TERMINAL_CLOSED', 'the terminal is closed', { step: 'resize' });
    const err = native.setWindowSize(this.fd, size.width, size.height);
    if (err !== 0) throw new BerthError('TERMINAL_FAILED', `cannot resize the terminal (errno ${err})`, { step: 'resize', syscall: 'ioctl' });
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.isClosed = true;
    this.input.destroy(); // closes the master fd
    cb(err);
  }
}
