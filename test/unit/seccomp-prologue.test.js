// The ENOSYS prologue (lib/seccomp/prologue.ts) run by a BPF interpreter in
// front of a stand-in for libseccomp's program: what reaches that program and
// what gets ENOSYS, per architecture, x32 bit and s390 multiplexer included.
import test from 'ava';
import { enosysPrologue } from '../../dist/lib/seccomp/prologue.js';
import { runFilter, seccompData } from './bpf-interpreter.js';

const X86_64 = 0xc000003e;
const I386 = 0x40000003;
const AARCH64 = 0xc00000b7;
const S390X = 0x80000016;
const X32_BIT = 0x40000000;
const ENOSYS_RET = 0x00050000 | 38;
// "libseccomp's program": one instruction that says it was reached.
const REACHED = 0x00050000 | 123;
const FILTER = Buffer.from([0x06, 0, 0, 0, REACHED & 0xff, (REACHED >> 8) & 0xff, (REACHED >> 16) & 0xff, REACHED >>> 24]);

const answer = (prologue, nr, arch) => runFilter(Buffer.concat([prologue, FILTER]), seccompData({ nr, arch }));

test('above the highest number of its architecture: ENOSYS; up to it: the filter decides', (t) => {
  const p = enosysPrologue([{ arch: 'SCMP_ARCH_X86_64', highest: 452 }, { arch: 'SCMP_ARCH_X86', highest: 450 }]);
  t.is(answer(p, 453, X86_64), ENOSYS_RET);
  t.is(answer(p, 0xffff, X86_64), ENOSYS_RET);
  t.is(answer(p, 452, X86_64), REACHED);
  t.is(answer(p, 0, X86_64), REACHED);
  t.is(answer(p, 451, I386), ENOSYS_RET);
  t.is(answer(p, 450, I386), REACHED);
});

test('an architecture without a limit (not in the filter, or naming nothing) goes to the filter, which refuses it', (t) => {
  const p = enosysPrologue([{ arch: 'SCMP_ARCH_X86_64', highest: 452 }, { arch: 'SCMP_ARCH_X86', highest: -1 }]);
  t.is(answer(p, 9999, AARCH64), REACHED);
  t.is(answer(p, 9999, I386), REACHED);
});

test('x86_64: x32 numbers (bit 30) meet the x32 limit when there is one, else the filter', (t) => {
  const without = enosysPrologue([{ arch: 'SCMP_ARCH_X86_64', highest: 452 }]);
  t.is(answer(without, X32_BIT | 39, X86_64), REACHED, 'libseccomp refuses x32 when the filter lacks it');
  t.is(answer(without, X32_BIT | 999, X86_64), REACHED);
  const withX32 = enosysPrologue([{ arch: 'SCMP_ARCH_X86_64', highest: 452 }, { arch: 'SCMP_ARCH_X32', highest: X32_BIT | 440 }]);
  t.is(answer(withX32, X32_BIT | 441, X86_64), ENOSYS_RET);
  t.is(answer(withX32, X32_BIT | 440, X86_64), REACHED);
  t.is(answer(withX32, 453, X86_64), ENOSYS_RET, 'the native limit still applies');
  t.is(answer(withX32, 452, X86_64), REACHED);
  t.is(answer(withX32, -1, X86_64), ENOSYS_RET, 'syscall(-1) has bit 30 set: above the x32 limit');
});

test('s390x: syscall 0 (the kernel\'s multiplexer for numbers it does not know) is ENOSYS', (t) => {
  const p = enosysPrologue([{ arch: 'SCMP_ARCH_S390X', highest: 440 }]);
  t.is(answer(p, 0, S390X), ENOSYS_RET);
  t.is(answer(p, 1, S390X), REACHED);
  t.is(answer(p, 441, S390X), ENOSYS_RET);
});

test('no limits: no prologue at all', (t) => {
  t.is(enosysPrologue([]).length, 0);
  t.is(enosysPrologue([{ arch: 'SCMP_ARCH_X86_64', highest: -1 }]).length, 0);
});

test('every jump lands inside the prologue or on the first instruction after it', (t) => {
  const p = enosysPrologue([
    { arch: 'SCMP_ARCH_X86_64', highest: 452 }, { arch: 'SCMP_ARCH_X86', highest: 450 }, { arch: 'SCMP_ARCH_X32', highest: X32_BIT | 440 },
    { arch: 'SCMP_ARCH_AARCH64', highest: 446 }, { arch: 'SCMP_ARCH_S390X', highest: 440 }, { arch: 'SCMP_ARCH_RISCV64', highest: 446 },
  ]);
  const n = p.length / 8;
  for (let i = 0; i < n; i++) {
    const code = p.readUInt16LE(i * 8);
    if ((code & 0x07) !== 0x05) continue;
    const targets = code === 0x05 ? [p.readUInt32LE(i * 8 + 4)] : [p.readUInt8(i * 8 + 2), p.readUInt8(i * 8 + 3)];
    for (const off of targets) t.true(i + 1 + off <= n, `instruction ${i} jumps to ${i + 1 + off} of ${n}`);
  }
  t.true(n < 40, `${n} instructions`);
});
