// A classic-BPF evaluator for seccomp programs, used at compile time (once per
// profile) to read libseccomp's own program back: which action it gives each
// syscall number, and whether that answer depends on the arguments at all
// (lib/seccomp/front.ts builds the range front from it, then checks the
// result against libseccomp's program with it). It knows the instructions a
// seccomp filter may hold; anything else throws, and the caller keeps
// libseccomp's program as it is.
import { SECCOMP_DATA_ARCH, SECCOMP_DATA_NR } from './abi.js';

/** One syscall as the filter sees it (struct seccomp_data). */
export interface SyscallData {
  nr: number;
  arch: number;
  /** Six 64-bit arguments; missing ones are 0. */
  args?: readonly bigint[];
  ip?: bigint;
}

export interface Verdict {
  /** SECCOMP_RET_* the program returns. */
  ret: number;
  /** The path read an argument or the instruction pointer: the answer may differ for other values. */
  readsArgs: boolean;
}

const MAX_STEPS = 1 << 16;

/** struct seccomp_data as sixteen 32-bit words (what a load at offset 4i reads). */
export function dataWords(d: SyscallData): Uint32Array {
  const w = new Uint32Array(16);
  w[SECCOMP_DATA_NR >> 2] = d.nr >>> 0;
  w[SECCOMP_DATA_ARCH >> 2] = d.arch >>> 0;
  // ip at 8, args[i] at 16 + 8i; each 64-bit value as two little-endian words.
  [d.ip ?? 0n, ...(d.args ?? [])].slice(0, 7).forEach((v, i) => {
    const u = BigInt.asUintN(64, v);
    w[2 + 2 * i] = Number(u & 0xffffffffn);
    w[3 + 2 * i] = Number(u >> 32n);
  });
  return w;
}

/** A program taken apart once, for many evaluations. */
export interface Decoded {
  code: Uint16Array;
  jt: Uint8Array;
  jf: Uint8Array;
  k: Uint32Array;
}

export function decode(program: Buffer): Decoded {
  const n = program.length >> 3;
  const d: Decoded = { code: new Uint16Array(n), jt: new Uint8Array(n), jf: new Uint8Array(n), k: new Uint32Array(n) };
  for (let i = 0; i < n; i++) {
    d.code[i] = program.readUInt16LE(i << 3);
    d.jt[i] = program[(i << 3) + 2]!;
    d.jf[i] = program[(i << 3) + 3]!;
    d.k[i] = program.readUInt32LE((i << 3) + 4);
  }
  return d;
}

/** What `program` (struct sock_filter[], little endian, or decoded) answers for `d`. */
export function evaluate(program: Buffer | Decoded, d: SyscallData | Uint32Array): Verdict {
  const p = Buffer.isBuffer(program) ? decode(program) : program;
  const words = d instanceof Uint32Array ? d : dataWords(d);
  const n = p.code.length;
  const mem = new Uint32Array(16);
  let a = 0;
  let x = 0;
  let readsArgs = false;
  for (let pc = 0, steps = 0; pc < n && steps < MAX_STEPS; pc++, steps++) {
    const code = p.code[pc]!;
    const jt = p.jt[pc]!;
    const jf = p.jf[pc]!;
    const k = p.k[pc]!;
    switch (code) {
      case 0x20: // ld [k]
        if (k % 4 !== 0 || k >= 64) throw new Error(`bpf-eval: load of offset ${k} at ${pc}`);
        if (k >= 8) readsArgs = true;
        a = words[k >> 2]!;
        break;
      case 0x00: // ld #k
        a = k;
        break;
      case 0x60: // ld M[k]
        a = mem[k & 15]!;
        break;
      case 0x01: // ldx #k
        x = k;
        break;
      case 0x61: // ldx M[k]
        x = mem[k & 15]!;
        break;
      case 0x02: // st M[k]
        mem[k & 15] = a;
        break;
      case 0x03: // stx M[k]
        mem[k & 15] = x;
        break;
      case 0x54: // and #k
        a = (a & k) >>> 0;
        break;
      case 0x44: // or #k
        a = (a | k) >>> 0;
        break;
      case 0x07: // tax
        x = a;
        break;
      case 0x87: // txa
        a = x;
        break;
      case 0x05: // ja k
        pc += k;
        break;
      case 0x15: // jeq #k
        pc += a === k ? jt : jf;
        break;
      case 0x25: // jgt #k
        pc += a > k ? jt : jf;
        break;
      case 0x35: // jge #k
        pc += a >= k ? jt : jf;
        break;
      case 0x45: // jset #k
        pc += (a & k) !== 0 ? jt : jf;
        break;
      case 0x1d: // jeq x
        pc += a === x ? jt : jf;
        break;
      case 0x06: // ret #k
        return { ret: k >>> 0, readsArgs };
      case 0x16: // ret a
        return { ret: a >>> 0, readsArgs };
      default:
        throw new Error(`bpf-eval: instruction 0x${code.toString(16)} at ${pc}`);
    }
  }
  throw new Error('bpf-eval: the program ran off its end or did not end');
}
