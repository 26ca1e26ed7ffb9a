// A classic BPF interpreter for seccomp programs (struct sock_filter[], little
// endian), for root-free tests of what a filter answers to a given syscall. It
// runs the very bytes berth-init would install; the kernel's own answers are
// tested in test/integration/seccomp-*.test.js.

const CLASS = { LD: 0x00, LDX: 0x01, ST: 0x02, STX: 0x03, ALU: 0x04, JMP: 0x05, RET: 0x06, MISC: 0x07 };

/** seccomp_data as the kernel lays it out: nr, arch, ip, six 64-bit args. */
export function seccompData({ nr, arch, args = [], ip = 0n }) {
  const b = Buffer.alloc(64);
  b.writeInt32LE(nr | 0, 0);
  b.writeUInt32LE(arch >>> 0, 4);
  b.writeBigUInt64LE(BigInt(ip), 8);
  for (let i = 0; i < 6; i++) b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(args[i] ?? 0)), 16 + 8 * i);
  return b;
}

/** The filter's return value (SECCOMP_RET_*) for one syscall. */
export function runFilter(program, data) {
  const n = program.length / 8;
  let A = 0;
  let X = 0;
  const M = new Uint32Array(16);
  for (let pc = 0, steps = 0; pc < n; pc++, steps++) {
    if (steps > 100000) throw new Error('runFilter: no end');
    const o = pc * 8;
    const code = program.readUInt16LE(o);
    const jt = program.readUInt8(o + 2);
    const jf = program.readUInt8(o + 3);
    const k = program.readUInt32LE(o + 4);
    const cls = code & 0x07;
    const src = code & 0x08 ? X : k; // BPF_X : BPF_K
    switch (cls) {
      case CLASS.LD: {
        const mode = code & 0xe0;
        if (mode === 0x20) {
          if ((code & 0x18) !== 0x00 || k % 4 || k + 4 > data.length) throw new Error(`runFilter: bad load at ${pc}`);
          A = data.readUInt32LE(k);
        } else if (mode === 0x00) A = k; // BPF_IMM
        else if (mode === 0x60) A = M[k]; // BPF_MEM
        else throw new Error(`runFilter: load mode ${mode} at ${pc}`);
        break;
      }
      case CLASS.LDX:
        X = (code & 0xe0) === 0x60 ? M[k] : k;
        break;
      case CLASS.ST:
        M[k] = A;
        break;
      case CLASS.STX:
        M[k] = X;
        break;
      case CLASS.ALU: {
        const op = code & 0xf0;
        const ops = {
          0x00: () => A + src, 0x10: () => A - src, 0x20: () => Math.imul(A, src), 0x30: () => Math.floor(A / src),
          0x40: () => A | src, 0x50: () => A & src, 0x60: () => A << src, 0x70: () => A >>> src, 0x80: () => -A,
          0x90: () => A % src, 0xa0: () => A ^ src,
        };
        if (!ops[op]) throw new Error(`runFilter: alu op ${op} at ${pc}`);
        A = ops[op]() >>> 0;
        break;
      }
      case CLASS.JMP: {
        const op = code & 0xf0;
        if (op === 0x00) {
          pc += k;
          break;
        }
        const s = src >>> 0;
        const yes = op === 0x10 ? A === s : op === 0x20 ? A > s : op === 0x30 ? A >= s : op === 0x40 ? (A & s) !== 0 : null;
        if (yes === null) throw new Error(`runFilter: jump op ${op} at ${pc}`);
        pc += yes ? jt : jf;
        break;
      }
      case CLASS.RET:
        return (code & 0x18) === 0x10 ? A >>> 0 : k >>> 0; // BPF_A : BPF_K
      case CLASS.MISC:
        if (code & 0x80) A = X; // TXA
        else X = A; // TAX
        break;
    }
  }
  throw new Error('runFilter: fell off the end of the program');
}
