// A layer's tar, minus the file contents the layer directory already holds
// (what Docker's and containers/storage's "tar-split" keep): every byte of the
// uncompressed tar that is not the content of a regular file unpacked into the
// layer, in order, plus for each such file its size and its path in the layer.
// From it and the layer directory the original tar comes back byte for byte,
// so an export hashes to the diffID in the image config and keeps its id.
// About 1 KiB per entry before gzip (headers are mostly zeros), a few per cent
// of the layer after.
//
// Writing: SplitRecorder sits in the unpack pipeline after the decompressor,
// before tar-stream's extractor, and holds back the bytes it cannot classify
// yet. The extractor tells (through unpack) where each entry's data starts
// (tar-stream's `entry.offset`, the offset of its header block, + 512) and
// whether its content goes to a file; what it has not been told about stays
// buffered, which tar-stream's backpressure keeps to a few chunks.
//
// Format (gzip of): "BERTHSPLIT1\n", then records
//   'M' u32 n, n bytes       tar bytes as they were (headers, padding, inline data, the trailer)
//   'F' u64 size, u32 n, n   `size` bytes of content from the layer file at that path (utf8, '/'-separated)
//   'E' u64 total, 32 bytes  the tar's length and sha256 (its diffID)
import fs from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';

const MAGIC = Buffer.from('BERTHSPLIT1\n');
const MAX_META_RECORD = 1 << 20;

export class SplitRecorder extends Transform {
  private readonly gz = zlib.createGzip({ level: 6 });
  private readonly file: fs.WriteStream;
  private readonly written: Promise<void>;
  /** Bytes received and not yet classified; pending[0] starts at `cursor`. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Every byte before cursor has been written out or skipped. */
  private cursor = 0;
  /** Bytes in [cursor, limit) are `mode`; beyond limit they wait. */
  private limit = 0;
  private mode: 'meta' | 'skip' = 'meta';
  private received = 0;
  private files = new Set<string>();
  /** Records not yet handed to gzip: one write per 64 KiB, not two per entry. */
  private out: Buffer[] = [];
  private outBytes = 0;
  /** False once the layer directory lost a file a record points to: the split is then not kept. */
  valid = true;

  constructor(readonly path: string) {
    super();
    this.file = fs.createWriteStream(path, { mode: 0o600 });
    this.written = new Promise((resolve, reject) => {
      this.file.on('close', resolve);
      this.file.on('error', reject);
      this.gz.on('error', reject);
    });
    this.written.catch(() => {}); // reported by finish()
    this.gz.pipe(this.file);
    this.emit_(MAGIC);
  }

  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.received += chunk.length;
    this.drain();
    this.flushOut(false);
    this.push(chunk);
    if (this.gz.writableNeedDrain) this.gz.once('drain', () => cb());
    else cb();
  }

  /** The bytes up to `offset` are tar structure (or data kept inline). */
  meta(offset: number): void {
    this.advance('meta', offset);
  }

  /** `size` bytes from `offset` are the content of the layer file `rel` (relative to the layer root). */
  record(offset: number, size: number, rel: string): void {
    this.advance('meta', offset);
    this.drain();
    if (this.cursor !== offset) throw new Error(`tar-split: content at ${offset} while ${this.cursor} bytes are classified`);
    const p = Buffer.from(rel, 'utf8');
    const head = Buffer.alloc(1 + 8 + 4);
    head.write('F', 0);
    head.writeBigUInt64BE(BigInt(size), 1);
    head.writeUInt32BE(p.length, 9);
    this.emit_(head);
    this.emit_(p);
    this.files.add(rel);
    this.advance('skip', offset + size);
  }

  /** A path of the layer was removed or replaced: if a record points at it (or below it), the split is void. */
  removed(rel: string, wasDir: boolean): void {
    if (!this.valid) return;
    if (this.files.has(rel)) this.valid = false;
    else if (wasDir) {
      const prefix = `${rel}/`;
      for (const f of this.files) {
        if (f.startsWith(prefix)) {
          this.valid = false;
          break;
        }
      }
    }
  }

  private advance(mode: 'meta' | 'skip', to: number): void {
    if (to < this.limit) throw new Error(`tar-split: offset ${to} is behind ${this.limit}`);
    this.drain();
    if (this.cursor < this.limit) throw new Error('tar-split: a region was left unclassified');
    this.mode = mode;
    this.limit = to;
    this.drain();
  }

  /** Writes or drops what lies in [cursor, limit) of the pending bytes. */
  private drain(): void {
    while (this.cursor < this.limit && this.pending.length > 0) {
      const head = this.pending[0];
      const n = Math.min(head.length, this.limit - this.cursor);
      const part = n === head.length ? head : head.subarray(0, n);
      if (n === head.length) this.pending.shift();
      else this.pending[0] = head.subarray(n);
      this.pendingBytes -= n;
      this.cursor += n;
      if (this.mode === 'meta') this.writeMeta(part);
    }
  }

  private writeMeta(b: Buffer): void {
    for (let i = 0; i < b.length; i += MAX_META_RECORD) {
      const part = b.subarray(i, Math.min(b.length, i + MAX_META_RECORD));
      const head = Buffer.alloc(5);
      head.write('M', 0);
      head.writeUInt32BE(part.length, 1);
      this.emit_(head);
      this.emit_(part);
    }
  }

  private emit_(b: Buffer): void {
    this.out.push(b);
    this.outBytes += b.length;
  }

  private flushOut(all: boolean): void {
    if (this.outBytes === 0 || (!all && this.outBytes < 1 << 16)) return;
    this.gz.write(Buffer.concat(this.out, this.outBytes));
    this.out = [];
    this.outBytes = 0;
  }

  /** After the pipeline ended: the rest (padding, the trailer) is structure. `diffId` is the tar's digest (the unpack hashed it). */
  async finish(diffId: string): Promise<{ size: number }> {
    this.advance('meta', Math.max(this.limit, this.received));
    if (this.pendingBytes !== 0) throw new Error('tar-split: bytes left over');
    const digest = Buffer.from(diffId.slice('sha256:'.length), 'hex');
    if (digest.length !== 32) throw new Error(`tar-split: ${diffId} is not a sha256 digest`);
    const end = Buffer.alloc(1 + 8);
    end.write('E', 0);
    end.writeBigUInt64BE(BigInt(this.received), 1);
    this.emit_(end);
    this.emit_(digest);
    this.flushOut(true);
    this.gz.end();
    await this.written;
    return { size: this.received };
  }

  /** Drops the file (a failed unpack). */
  async abort(): Promise<void> {
    this.gz.destroy();
    this.file.destroy();
    await fs.promises.rm(this.path, { force: true });
  }
}

export type SplitRecord = { kind: 'meta'; bytes: Buffer } | { kind: 'file'; size: number; path: string } | { kind: 'end'; size: number; diffId: string };

/** The records of a split file, in order; throws on a malformed or truncated one. */
export async function* readSplit(file: string): AsyncGenerator<SplitRecord> {
  let buf: Buffer = Buffer.alloc(0);
  let magic = false;
  let ended = false;
  // Both ends kept: destroying the gunzip alone leaves the file's stream (and its fd) open when the reader stops early.
  const source = fs.createReadStream(file);
  const input = source.pipe(zlib.createGunzip());
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      if (!magic) {
        if (buf.length < MAGIC.length) continue;
        if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error(`${file} is not a tar-split`);
        buf = buf.subarray(MAGIC.length);
        magic = true;
      }
      for (;;) {
        if (buf.length < 1 || ended) break;
        const tag = String.fromCharCode(buf[0]);
        if (tag === 'M') {
          if (buf.length < 5) break;
          const n = buf.readUInt32BE(1);
          if (buf.length < 5 + n) break;
          yield { kind: 'meta', bytes: Buffer.from(buf.subarray(5, 5 + n)) };
          buf = buf.subarray(5 + n);
        } else if (tag === 'F') {
          if (buf.length < 13) break;
          const n = buf.readUInt32BE(9);
          if (buf.length < 13 + n) break;
          yield { kind: 'file', size: Number(buf.readBigUInt64BE(1)), path: buf.subarray(13, 13 + n).toString('utf8') };
          buf = buf.subarray(13 + n);
        } else if (tag === 'E') {
          if (buf.length < 41) break;
          yield { kind: 'end', size: Number(buf.readBigUInt64BE(1)), diffId: `sha256:${buf.subarray(9, 41).toString('hex')}` };
          buf = buf.subarray(41);
          ended = true;
        } else throw new Error(`${file}: unknown record "${tag}"`);
      }
    }
  } finally {
    input.destroy();
    source.destroy();
  }
  if (!ended || buf.length > 0) throw new Error(`${file} is truncated`);
}
