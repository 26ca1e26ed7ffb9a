// NativePlan -> the bytes berth-init decodes (native/plan_codec.cc): integers
// as 8 little-endian bytes, strings as a length (all ones = null) and their
// UTF-8 bytes, arrays as a count and their items, a magic word at both ends.
// Encoded here, in one pass into one Buffer, because handing the plan object
// to C++ field by field (an N-API call per property) cost ~0.4 ms of the event
// loop per container; the addon only decodes what it needs and passes the
// bytes on to berth-init unchanged.
import os from 'node:os';
import type { NativePlan } from './addon.js';

/** "berth" + format version; must match kMagic in native/plan_codec.cc. */
const MAGIC = 0x62657274680003n;
const NULL = 0xffffffffffffffffn;
const CAP_SET_COUNT = 5;

if (os.endianness() !== 'LE') throw new Error('berth: the plan encoding assumes a little-endian host');

class Writer {
  private buf = Buffer.allocUnsafe(8192);
  private at = 0;

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }

  /** A non-negative integer, a negative one (two's complement, as C's (uint64_t)(int64_t)), or a bigint. */
  u(v: number | bigint | boolean): void {
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

  s(v: string | null | undefined): void {
    if (v === null || v === undefined) return this.u(NULL);
    const n = Buffer.byteLength(v);
    this.u(n);
    this.room(n);
    this.at += this.buf.write(v, this.at, 'utf8');
  }

  done(): Buffer {
    return this.buf.subarray(0, this.at);
  }
}

/** glibc's makedev(). */
function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

const orNull = (s: string | undefined): string | null => (s === undefined || s === '' ? null : s);

export function encodePlan(p: NativePlan): Buffer {
  if (p.joins.length > 8) throw new RangeError('plan: at most 8 namespaces to join');
  if (p.fds.length > 64) throw new RangeError('plan: at most 64 fds');
  if (p.args.length === 0) throw new RangeError('plan: args is empty');
  const w = new Writer();
  w.u(MAGIC);
  w.u(p.cloneFlags);
  w.u(p.joins.length);
  for (const j of p.joins) w.u(j.fd), w.u(j.nstype);
  w.u(p.cgroupFd ?? -1);
  w.u(p.joinPidfd ?? -1);
  w.u(p.joinNsFlags ?? 0);
  w.u(p.joinRootFd ?? -1);
  const dirs = p.cgroupDirs ?? [];
  w.u(dirs.length);
  for (const d of dirs) w.s(d.path), w.u(d.leaf), w.u(d.cpuset);
  const writes = p.cgroupWrites ?? [];
  w.u(writes.length);
  for (const x of writes) w.s(x.path), w.s(x.value), w.u(x.optional);
  const procs = p.cgroupProcs ?? [];
  w.u(procs.length);
  for (const x of procs) w.s(x);
  w.u(p.unshareCgroupns ?? false);
  w.u(p.setupRootfs);
  w.s(p.rootfs);
  w.u(p.rootfsPropagation);
  w.u(p.readonlyRoot);
  w.u(p.mounts.length);
  for (const m of p.mounts) {
    w.s(orNull(m.source)), w.s(m.destination), w.s(orNull(m.type)), w.s(orNull(m.data));
    w.u(m.flags), w.u(m.attrSet), w.u(m.propagation), w.u(m.kind), w.u(m.recursive), w.u(m.destIsFile);
  }
  w.u(p.devices.length);
  for (const d of p.devices) w.s(d.path), w.u(d.mode), w.u(makedev(d.major, d.minor)), w.u(d.uid), w.u(d.gid);
  w.u(p.links.length);
  for (const l of p.links) w.s(l.target), w.s(l.path);
  w.u(p.masked.length);
  for (const m of p.masked) w.s(m);
  w.u(p.readonly.length);
  for (const r of p.readonly) w.s(r);
  w.u(p.sysctls.length);
  for (const s of p.sysctls) w.s(s.path), w.s(s.value);
  w.s(p.hostname ?? null);
  w.s(p.domainname ?? null);
  w.u(p.loopbackUp);
  w.u(p.args.length);
  for (const a of p.args) w.s(a);
  w.u(p.env.length);
  for (const e of p.env) w.s(e);
  w.s(p.pathEnv);
  w.s(orNull(p.cwd));
  w.u(p.uid), w.u(p.gid);
  w.u(p.groups.length);
  for (const g of p.groups) w.u(g);
  w.u(p.setGroups);
  w.u(p.umask);
  w.u(p.setCaps);
  for (let i = 0; i < CAP_SET_COUNT; i++) w.u(p.caps[i] ?? 0n);
  w.u(p.capLast);
  w.u(p.noNewPrivs);
  w.u(p.rlimits.length);
  for (const r of p.rlimits) w.u(r.resource), w.u(r.soft), w.u(r.hard);
  w.u(p.ioPriority ?? -1);
  w.u(p.oomScoreAdj !== undefined);
  w.u(p.oomScoreAdj ?? 0);
  w.u(p.terminal), w.u(p.consoleWidth), w.u(p.consoleHeight);
  w.u(p.fds.length);
  for (const fd of p.fds) w.u(fd);
  w.u(p.parentDeathSignal);
  w.u(p.execAfterReady ?? false);
  w.u(MAGIC);
  return w.done();
}
