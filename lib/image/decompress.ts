// A layer blob is a tar, a gzip of one or a zstd of one; the media type may
// lie or be absent (docker save), so the first bytes decide, as containerd does.
// gzip is Node's zlib; zstd is fzstd, a pure-JS streaming decoder (no native
// build, no download at install time).
import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import { Decompress } from 'fzstd';

export type Compression = 'none' | 'gzip' | 'zstd';

export function sniff(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

class ZstdDecompress extends Transform {
  private readonly z = new Decompress((chunk) => {
    this.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  });
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.z.push(chunk);
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }
  override _flush(cb: TransformCallback): void {
    try {
      this.z.push(new Uint8Array(0), true);
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }
}

/** Passes the blob through the decoder its first bytes name; the sniffed kind is reported once known. */
export class AutoDecompress extends Transform {
  private inner: Transform | null = null;
  private head = Buffer.alloc(0);
  compression: Compression | null = null;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.inner) return this.feed(chunk, cb);
    this.head = Buffer.concat([this.head, chunk]);
    if (this.head.length < 4) return cb();
    this.start();
    const h = this.head;
    this.head = Buffer.alloc(0);
    this.feed(h, cb);
  }

  override _flush(cb: TransformCallback): void {
    if (!this.inner) {
      this.start();
      if (this.head.length) this.inner!.write(this.head);
    }
    this.inner!.once('end', () => cb());
    this.inner!.end();
  }

  private start(): void {
    this.compression = sniff(this.head);
    this.inner = this.compression === 'gzip' ? zlib.createGunzip() : this.compression === 'zstd' ? new ZstdDecompress() : new Transform({ transform: (c, _e, done) => done(null, c) });
    this.inner.on('data', (d: Buffer) => this.push(d));
    this.inner.on('error', (err) => this.destroy(err));
  }

  private feed(chunk: Buffer, cb: TransformCallback): void {
    if (this.inner!.write(chunk)) cb();
    else this.inner!.once('drain', () => cb());
  }
}
