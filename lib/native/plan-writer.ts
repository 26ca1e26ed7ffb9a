// The primitives of the plan's encoding (native/wire/wire.js says it: 8-byte
// little-endian integers, strings as a length (all ones = null) and their
// UTF-8 bytes, byte arrays the same way), written by the generated encodePlan
// (plan-codec.gen.ts).
// Encoded in one pass into one Buffer, because handing the plan object to C++
// field by field (an N-API call per property) cost ~0.4 ms of the event loop
// per container; the addon only decodes it and passes the bytes on to
// berth-init unchanged.
import os from 'node:os';

const NULL_LENGTH = 0xffffffffffffffffn;

if (os.endianness() !== 'LE') throw new Error('berth: the plan encoding assumes a little-endian host');

export class PlanWriter {
  private buf = Buffer.allocUnsafe(8192);
  private at = 0;

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }

  /** A non-negative integer, a negative one (two's complement, as C's (uint64_t)(int64_t)), a boolean or a bigint. */
  int(v: number | bigint | boolean): void {
    this.room(8);
    if (typeof v === 'bigint') this.buf.writeBigUInt64LE(BigInt.asUintN(64, v), this.at);
    else {
      const n = typeof v === 'boolean' ? (v ? 1 : 0) : v;
      if (n >= 0 && n <= 0xffffffff) {
        this.buf.writeUInt32LE(n, this.at);
        this.buf.writeUInt32LE(0, this.at + 4);
      } else this.buf.writeBigUInt64LE(BigInt.asUintN(64, BigInt(Math.trunc(n))), this.at);
    }
    this.at += 8;
  }

  /** null and undefined travel as null. */
  str(v: string | null | undefined): void {
    if (v === null || v === undefined) return this.int(NULL_LENGTH);
    const n = Buffer.byteLength(v);
    this.int(n);
    this.room(n);
    this.at += this.buf.write(v, this.at, 'utf8');
  }

  /** '' travels as null too: for fields where the child treats "empty" as "not given". */
  nonEmptyStr(v: string | undefined): void {
    this.str(v === '' ? null : v);
  }

  /** Bytes as they are (a compiled BPF program); absent travels as null. */
  bytes(v: Uint8Array | null | undefined): void {
    if (v === null || v === undefined) return this.int(NULL_LENGTH);
    this.int(v.length);
    this.room(v.length);
    this.buf.set(v, this.at);
    this.at += v.length;
  }

  done(): Buffer {
    return this.buf.subarray(0, this.at);
  }
}

/** glibc's makedev(). */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}
