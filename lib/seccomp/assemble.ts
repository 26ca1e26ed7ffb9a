// Classic BPF with labels, for the instructions berth writes itself (the
// ENOSYS prologue, the range front): jumps name their target, assemble()
// turns names into the forward offsets seccomp's BPF has. `after` is the
// label of the first instruction past the program (where libseccomp's
// program goes).
import { BPF, BPF_INSN_SIZE } from './abi.js';

export type Label = string;

export interface Insn {
  code: number;
  k?: number;
  /** Conditional jumps: labels, or undefined for the next instruction. */
  jt?: Label;
  jf?: Label;
  /** ja: the label it jumps to. */
  to?: Label;
  /** The name jumps use for this instruction. */
  label?: string;
}

export const ld = (offset: number): Insn => ({ code: BPF.LD_W_ABS, k: offset });
export const ja = (to: Label): Insn => ({ code: BPF.JMP_JA, to });
export const ret = (k: number): Insn => ({ code: BPF.RET_K, k });
export const labelled = (label: string, insn: Insn): Insn => ({ ...insn, label });

/** struct sock_filter[] in host (little-endian) order. */
export function assemble(program: readonly Insn[], after: Label): Buffer {
  const at = new Map<string, number>([[after, program.length]]);
  program.forEach((insn, i) => {
    if (insn.label === undefined) return;
    if (at.has(insn.label)) throw new Error(`seccomp assembler: label ${insn.label} twice`);
    at.set(insn.label, i);
  });
  const offset = (from: number, to: Label | undefined): number => {
    if (to === undefined) return 0;
    const target = at.get(to);
    if (target === undefined || target <= from) throw new Error(`seccomp assembler: no forward label ${to}`);
    return target - from - 1;
  };
  const buf = Buffer.alloc(program.length * BPF_INSN_SIZE);
  program.forEach((insn, i) => {
    const jt = offset(i, insn.jt);
    const jf = offset(i, insn.jf);
    // A conditional jump reaches 255 instructions; callers keep theirs short.
    if (jt > 255 || jf > 255) throw new Error(`seccomp assembler: a conditional jump past 255 instructions at ${i}`);
    const k = insn.to !== undefined ? offset(i, insn.to) : (insn.k ?? 0);
    const o = i * BPF_INSN_SIZE;
    buf.writeUInt16LE(insn.code, o);
    buf.writeUInt8(jt, o + 2);
    buf.writeUInt8(jf, o + 3);
    buf.writeUInt32LE(k >>> 0, o + 4);
  });
  return buf;
}
