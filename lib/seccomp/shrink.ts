// Picks the filter berth-init installs: libseccomp's program behind the ENOSYS
// prologue (the reference), or the range front (front.ts) over a second
// libseccomp program of only the rules whose answers read arguments — when
// that is shorter and answers exactly as the reference does.
import { type NativeSeccompProgram, type NativeSeccompSpec, native } from '../native/addon.js';
import { X32_SYSCALL_BIT } from './abi.js';
import { type SyscallData, decode, evaluate } from './bpf-eval.js';
import { type FrontArch, REDUCED, type Run, answerRuns, rangeFront } from './front.js';
import { ARCHITECTURES } from './vocabulary.js';

// Architectures whose libseccomp programs the front has been checked against
// (unit tests, and the kernel in the integration tests); s390's syscall-0
// multiplexer and the MIPS/PPC tables keep the reference.
const FRONT_ARCHES = new Set(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32', 'SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM', 'SCMP_ARCH_RISCV64']);

// On x86, libseccomp also files these under socketcall(2) and ipc(2), with
// the call's number in the first argument. Where the reference's answer for
// socketcall or ipc reads that argument, every rule naming a member of the
// family shapes it: all of them go to the reduced program.
const SOCKETCALL_FAMILY = ['socket', 'bind', 'connect', 'listen', 'accept', 'getsockname', 'getpeername', 'socketpair', 'send', 'recv', 'sendto', 'recvfrom',
  'shutdown', 'setsockopt', 'getsockopt', 'sendmsg', 'recvmsg', 'accept4', 'recvmmsg', 'sendmmsg', 'socketcall'];
const IPC_FAMILY = ['semop', 'semget', 'semctl', 'semtimedop', 'msgsnd', 'msgrcv', 'msgget', 'msgctl', 'shmat', 'shmdt', 'shmget', 'shmctl', 'ipc'];
const X86_SOCKETCALL = 102;
const X86_IPC = 117;

/** Which multiplexed families the reduced program needs in full. */
export interface Multiplexed {
  socketcall: boolean;
  ipc: boolean;
}

/** The rules the reduced program needs: every rule naming a syscall whose answer can read arguments, cut to such names. */
export function reducedSpec(spec: NativeSeccompSpec, multiplexed: Multiplexed): NativeSeccompSpec {
  const complex = new Set(spec.rules.filter((r) => r.args.length > 0).flatMap((r) => r.names));
  if (multiplexed.socketcall) for (const n of SOCKETCALL_FAMILY) complex.add(n);
  if (multiplexed.ipc) for (const n of IPC_FAMILY) complex.add(n);
  const rules = spec.rules.map((r) => ({ ...r, names: r.names.filter((n) => complex.has(n)) })).filter((r) => r.names.length > 0);
  const names = rules.reduce((n, r) => n + (r.action === spec.defaultAction ? 0 : r.names.length), 0);
  return { ...spec, rules, binaryTree: spec.binaryTree && names > 32 };
}

/** x86's socketcall and ipc: does the reference answer them by argument? */
function multiplexedOf(runs: ReadonlyArray<FrontArch & { runs: readonly Run[] }>): Multiplexed {
  const x86 = runs.find((a) => a.arch === 'SCMP_ARCH_X86');
  const reads = (nr: number) => !!x86 && x86.runs.some((r) => r.out === REDUCED && r.lo <= nr && nr <= r.hi);
  return { socketcall: reads(X86_SOCKETCALL), ipc: reads(X86_IPC) };
}

/** Values the reference compares arguments with, by seccomp_data offset (a load, then its comparisons). */
function argComparisons(reference: Buffer): Array<[offset: number, value: number]> {
  const seen = new Set<string>();
  const out: Array<[number, number]> = [];
  let loaded = -1;
  for (let o = 0; o < reference.length; o += 8) {
    const code = reference.readUInt16LE(o);
    const k = reference.readUInt32LE(o + 4);
    if (code === 0x20) loaded = k >= 8 ? k : -1;
    else if (loaded >= 0 && (code & 0x07) === 0x05 && code !== 0x05) {
      for (const v of [k, (k + 1) >>> 0, (k - 1) >>> 0]) {
        const key = `${loaded}:${v}`;
        if (!seen.has(key)) out.push([loaded, v]), seen.add(key);
      }
    }
  }
  return out;
}

/** The 32-bit words of seccomp_data past nr and arch (ip, args): `fill`, except those given (offset → value). */
function withWords(words: ReadonlyArray<[number, number]>, fill: number): Uint32Array {
  const w = new Uint32Array(16).fill(fill);
  for (const [offset, value] of words) w[offset >> 2] = value;
  return w;
}

const MAX_PAIRS = 1500;

/**
 * Argument values worth trying where an answer reads them: all zero, all
 * ones, each compared value (±1) alone, and (for rules on two arguments or
 * more) pairs of them.
 */
function argSamples(reference: Buffer, pairsToo: boolean): Uint32Array[] {
  const c = argComparisons(reference);
  const samples = [withWords([], 0), withWords([], 0xffffffff), ...c.map((x) => withWords([x], 0))];
  let pairs = pairsToo ? 0 : MAX_PAIRS;
  for (let i = 0; i < c.length && pairs < MAX_PAIRS; i++) {
    for (let j = i + 1; j < c.length && pairs < MAX_PAIRS; j++) {
      if (c[i]![0] === c[j]![0]) continue;
      samples.push(withWords([c[i]!, c[j]!], 0));
      pairs++;
    }
  }
  return samples;
}

/**
 * The first syscall the two programs answer differently, or null. It yields
 * to the event loop every few hundred syscalls: it runs once per profile, on
 * the first container's create.
 */
export async function firstDifference(candidate: Buffer, reference: Buffer, arches: readonly FrontArch[], pairsToo = true): Promise<SyscallData | null> {
  const samples = argSamples(reference, pairsToo);
  const [cand, ref] = [decode(candidate), decode(reference)];
  const audits = new Set(arches.map((a) => ARCHITECTURES[a.arch]!.audit));
  const probes: Array<{ nr: number; arch: number }> = [];
  for (const a of arches) {
    const audit = ARCHITECTURES[a.arch]!.audit;
    const lo = ARCHITECTURES[a.arch]!.x32 ? X32_SYSCALL_BIT : 0;
    for (let nr = lo; nr <= Math.max(a.highest, lo) + 4; nr++) probes.push({ nr, arch: audit });
    for (const nr of [0x3fffffff, 0x7fffffff, 0x80000000, 0xffffffff, X32_SYSCALL_BIT | 0x3ff]) probes.push({ nr, arch: audit });
  }
  // An architecture the filter does not list.
  const foreign = [0x40000028, 0xc00000b7, 0x40000003, 0xc000003e, 0x12345678].find((x) => !audits.has(x))!;
  for (const nr of [0, 1, 59, 0x40000001]) probes.push({ nr, arch: foreign });
  let evaluated = 0;
  for (const p of probes) {
    if (evaluated > 2000) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      evaluated = 0;
    }
    let sampleSet: Uint32Array[] | undefined;
    for (let i = 0; i < (sampleSet?.length ?? 2); i++) {
      const d = samples[i]!;
      d[0] = p.nr >>> 0;
      d[1] = p.arch >>> 0;
      const want = evaluate(ref, d);
      const got = evaluate(cand, d);
      evaluated++;
      if (got.ret !== want.ret) return { nr: p.nr, arch: p.arch, ip: BigInt(d[2]!) | (BigInt(d[3]!) << 32n) };
      // Where either answer reads the arguments, every sample.
      if (!sampleSet && (want.readsArgs || got.readsArgs)) sampleSet = samples;
    }
  }
  return null;
}

export interface Shrunk {
  program: Buffer;
  /** 'ranges': the front over the reduced program; 'libseccomp': the reference (and why). */
  shape: 'ranges' | 'libseccomp';
  why?: string;
}

/**
 * The shorter of the two programs that answers every syscall as `reference`
 * (= prologue + libseccomp's whole program `full`). `arches`: the filtered
 * architectures with their highest numbers, the native one first.
 */
export async function shrink(spec: NativeSeccompSpec, full: NativeSeccompProgram, reference: Buffer, arches: readonly FrontArch[], enosys: boolean): Promise<Shrunk> {
  const unsupported = arches.find((a) => !FRONT_ARCHES.has(a.arch));
  if (unsupported) return { program: reference, shape: 'libseccomp', why: `the range front does not cover ${unsupported.arch}` };
  let candidate: Buffer;
  try {
    const decoded = decode(full.program); // once, for every architecture
    const runs = arches.map((a) => ({ ...a, runs: answerRuns(decoded, a) }));
    if (!runs.some((a) => a.runs.length > 1)) return { program: reference, shape: 'libseccomp', why: 'nothing to shorten' };
    const reduced = await native.compileSeccomp(reducedSpec(spec, multiplexedOf(runs)));
    candidate = Buffer.concat([rangeFront(runs, enosys), reduced.program]);
  } catch (err) {
    return { program: reference, shape: 'libseccomp', why: `the range front failed: ${(err as Error).message}` };
  }
  if (candidate.length >= reference.length) return { program: reference, shape: 'libseccomp', why: 'the range front is not shorter' };
  const d = await firstDifference(candidate, reference, arches, spec.rules.some((r) => new Set(r.args.map((a) => a.index)).size > 1));
  if (d) return { program: reference, shape: 'libseccomp', why: `the range front answers nr ${d.nr} (arch 0x${(d.arch >>> 0).toString(16)}) differently` };
  return { program: candidate, shape: 'ranges' };
}

