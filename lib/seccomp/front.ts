// The range front: a shorter filter with libseccomp's answers.
//
// libseccomp compiles Docker's default profile for x86_64 + x86 + x32 into
// ~1,250 instructions: one comparison per syscall name per architecture. The
// kernel pays for every instruction when the filter is installed (it checks,
// converts and JITs the program and precomputes its action cache: ~0.2 µs an
// instruction here, on top of ~0.15 ms for any filter at all), and that is
// paid by every container. Most of the profile is one action over long runs of
// syscall numbers, so the front says it with ranges:
//
//   1. libseccomp compiles the whole profile (the reference, as before);
//   2. evaluating the reference for every syscall number of every filtered
//      architecture (bpf-eval.ts) gives its action there, or shows that the
//      answer reads the arguments;
//   3. the front is a binary search over runs of equal answers; numbers whose
//      answer reads arguments jump to a second libseccomp program compiled
//      from only the rules that name such syscalls (compile.ts picks them);
//   4. the result is evaluated against the reference again, for every
//      number and for argument values taken from the reference's own
//      comparisons; any difference, and the reference is used as it is.
//
// The ENOSYS rule of prologue.ts is part of the front (above the highest
// number the profile names: ENOSYS, when the default would deny).
import { BPF, SECCOMP_DATA_ARCH, SECCOMP_DATA_NR, SECCOMP_RET, X32_SYSCALL_BIT } from './abi.js';
import { type Insn, type Label, assemble, ja, labelled, ld, ret } from './assemble.js';
import { type Decoded, dataWords, decode, evaluate } from './bpf-eval.js';
import { ARCHITECTURES } from './vocabulary.js';

const ENOSYS_RET = (SECCOMP_RET.ERRNO | 38) >>> 0;
/** A number whose answer depends on its arguments: the reduced program decides. */
export const REDUCED = -1;
const REDUCED_LABEL = 'reduced';

/** One filtered architecture: its numbers base..highest are tabulated. */
export interface FrontArch {
  /** OCI name. */
  arch: string;
  /** The highest number the profile names there (x32: with the x32 bit); < 0: none. */
  highest: number;
}

/** A run of numbers with one answer: SECCOMP_RET_* or REDUCED. */
export interface Run {
  lo: number;
  hi: number;
  out: number;
}

function base(arch: string): number {
  return ARCHITECTURES[arch]!.x32 ? X32_SYSCALL_BIT : 0;
}

/** The reference's answer for each number of `a`, as runs (empty when the profile names nothing there). */
export function answerRuns(reference: Buffer | Decoded, a: FrontArch): Run[] {
  const audit = ARCHITECTURES[a.arch]!.audit;
  const runs: Run[] = [];
  const program = Buffer.isBuffer(reference) ? decode(reference) : reference;
  const data = dataWords({ nr: 0, arch: audit });
  for (let nr = base(a.arch); nr <= a.highest; nr++) {
    data[0] = nr;
    const v = evaluate(program, data);
    const out = v.readsArgs ? REDUCED : v.ret;
    const last = runs[runs.length - 1];
    if (last && last.out === out) last.hi = nr;
    else runs.push({ lo: nr, hi: nr, out });
  }
  return runs;
}

class Emitter {
  private n = 0;
  label(): Label {
    return `L${this.n++}`;
  }

  leaf(out: number): Insn {
    return out === REDUCED ? ja(REDUCED_LABEL) : ret(out);
  }

  /** A binary search over runs[i..j] (A holds the number, within those runs), each answer an instruction of its own. */
  tree(runs: readonly Run[], i: number, j: number): Insn[] {
    if (i === j) return [this.leaf(runs[i]!.out)];
    const m = (i + j + 1) >> 1;
    const left = this.tree(runs, i, m - 1);
    const right = this.tree(runs, m, j);
    const rightLabel = this.label();
    right[0] = labelled(rightLabel, right[0]!);
    const k = runs[m - 1]!.hi;
    if (left.length <= 255) return [{ code: BPF.JMP_JGT_K, k, jt: rightLabel }, ...left, ...right];
    // Past a conditional jump's reach: jgt over a ja.
    const leftLabel = this.label();
    left[0] = labelled(leftLabel, left[0]!);
    return [{ code: BPF.JMP_JGT_K, k, jf: leftLabel }, ja(rightLabel), ...left, ...right];
  }

  /**
   * The same search with the answers shared: one instruction per comparison,
   * the jumps land on `answer(out)`, placed after the tree by the caller
   * (every jump must then reach past the whole tree: a short section only).
   */
  sharedTree(runs: readonly Run[], i: number, j: number, answer: (out: number) => Label): Insn[] {
    const m = (i + j + 1) >> 1;
    const left = m - 1 > i ? this.sharedTree(runs, i, m - 1, answer) : [];
    const right = j > m ? this.sharedTree(runs, m, j, answer) : [];
    let jt: Label | undefined;
    if (right.length) {
      if (left.length) {
        jt = this.label();
        right[0] = labelled(jt, right[0]!);
      }
    } else jt = answer(runs[m]!.out);
    const jf = left.length ? undefined : answer(runs[i]!.out);
    return [{ code: BPF.JMP_JGT_K, k: runs[m - 1]!.hi, ...(jt ? { jt } : {}), ...(jf ? { jf } : {}) }, ...left, ...right];
  }

  /** Numbers above `highest`: ENOSYS or the reduced program; then the search. */
  section(runs: readonly Run[], highest: number, enosys: boolean): Insn[] {
    if (runs.length === 0) return [ja(REDUCED_LABEL)];
    const inRange = this.label();
    const head: Insn[] = [{ code: BPF.JMP_JGT_K, k: highest, jf: inRange }, enosys ? ret(ENOSYS_RET) : ja(REDUCED_LABEL)];
    const outs = [...new Set(runs.map((r) => r.out))];
    if (runs.length === 1 || runs.length + outs.length > 250) {
      const body = this.tree(runs, 0, runs.length - 1);
      body[0] = labelled(inRange, body[0]!);
      return [...head, ...body];
    }
    const labels = new Map(outs.map((o) => [o, this.label()]));
    const body = this.sharedTree(runs, 0, runs.length - 1, (o) => labels.get(o)!);
    body[0] = labelled(inRange, body[0]!);
    const answers = outs.map((o) => labelled(labels.get(o)!, this.leaf(o)));
    return [...head, ...body, ...answers];
  }
}

/**
 * The front for these architectures (the native one first), their runs from
 * answerRuns(); the reduced program goes right after it. `enosys`: numbers
 * above an architecture's highest get ENOSYS (else the reduced program's default).
 */
export function rangeFront(arches: ReadonlyArray<FrontArch & { runs: readonly Run[] }>, enosys: boolean): Buffer {
  const e = new Emitter();
  const byAudit = new Map<number, { native?: FrontArch & { runs: readonly Run[] }; x32?: FrontArch & { runs: readonly Run[] } }>();
  for (const a of arches) {
    const info = ARCHITECTURES[a.arch]!;
    const entry = byAudit.get(info.audit) ?? {};
    if (info.x32) entry.x32 = a;
    else entry.native = a;
    byAudit.set(info.audit, entry);
  }
  const dispatch: Insn[] = [ld(SECCOMP_DATA_ARCH)];
  const bodies: Insn[] = [];
  // Each jeq's "no" skips the ja after it: jeq over a ja, since the sections
  // are far longer than a conditional jump reaches.
  let skipTo: Label | undefined;
  const push = (insn: Insn) => {
    dispatch.push(skipTo ? labelled(skipTo, insn) : insn);
    skipTo = undefined;
  };
  for (const [audit, { native, x32 }] of byAudit) {
    const at = e.label();
    const next = e.label();
    push({ code: BPF.JMP_JEQ_K, k: audit, jf: next });
    push(ja(at));
    skipTo = next;
    const section: Insn[] = [labelled(at, ld(SECCOMP_DATA_NR))];
    if (audit === ARCHITECTURES.SCMP_ARCH_X86_64!.audit) {
      // x32 numbers carry bit 30; without x32 in the filter libseccomp's program refuses them.
      const x32At = e.label();
      const notX32 = e.label();
      section.push({ code: BPF.JMP_JSET_K, k: X32_SYSCALL_BIT, jf: notX32 }, ja(x32 ? x32At : REDUCED_LABEL));
      const n = native ? e.section(native.runs, native.highest, enosys) : [ja(REDUCED_LABEL)];
      n[0] = labelled(notX32, n[0]!);
      section.push(...n);
      if (x32) {
        const x = e.section(x32.runs, x32.highest, enosys);
        x[0] = labelled(x32At, x[0]!);
        section.push(...x);
      }
    } else {
      section.push(...e.section(native!.runs, native!.highest, enosys));
    }
    bodies.push(...section);
  }
  // Any other architecture: libseccomp's program refuses it.
  push(ja(REDUCED_LABEL));
  return assemble([...dispatch, ...bodies], REDUCED_LABEL);
}
