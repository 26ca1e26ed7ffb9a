// ResolvedSeccomp -> the BPF program berth-init installs: libseccomp compiles
// it (native compileSeccomp, on the thread pool), the ENOSYS prologue goes in
// front, and shrink.ts puts it in shorter words where it can. Compiled once per distinct profile and kept: a code runner starts
// thousands of containers with one profile, and each gets the same bytes.
import { BerthError, ConfigError, SetupError } from '../errors.js';
import { type NativeSeccompProgram, type NativeSeccompSpec, native } from '../native/addon.js';
import { BPF_INSN_SIZE, BPF_MAXINSNS, SECCOMP_FILTER_FLAG, SECCOMP_RET, SECCOMP_RET_DATA } from './abi.js';
import { type ResolvedSeccomp, notifies } from './profile.js';
import { enosysPrologue } from './prologue.js';
import { shrink } from './shrink.js';
import { ACTIONS, ARCHITECTURES, FLAGS, nativeArchitecture } from './vocabulary.js';

export interface CompiledSeccomp {
  /** struct sock_filter[] (host byte order): see shape. */
  program: Buffer;
  /**
   * 'libseccomp': the ENOSYS prologue, then libseccomp's program; 'ranges':
   * the range front (front.ts) over libseccomp's program of the rules that
   * read arguments — same answers, fewer instructions for the kernel to take in.
   */
  shape: 'ranges' | 'libseccomp';
  /** The length of the 'libseccomp' shape, for comparison. */
  referenceInstructions: number;
  /** SECCOMP_FILTER_FLAG_* for seccomp(2). */
  flags: number;
  instructions: number;
  /** The highest syscall number the profile names, per architecture (OCI name): ENOSYS above it. */
  highestSyscall: Readonly<Record<string, number>>;
  /** Names libseccomp knows on no architecture: skipped, as runc and crun do. */
  skipped: readonly string[];
}

const ENOSYS = 38;
const EPERM = 1;
// libseccomp <= 2.5.4 misbehaves with a binary tree and no rules; runc turns
// the tree on above 32 syscalls, and so does berth.
const BINARY_TREE_ABOVE = 32;

function actionValue(action: string, errnoRet: number | undefined): number {
  const a = ACTIONS[action]!;
  return a.takesErrno ? (a.ret | ((errnoRet ?? EPERM) & SECCOMP_RET_DATA)) >>> 0 : a.ret >>> 0;
}

function nativeOrThrow(): string {
  const arch = nativeArchitecture();
  if (!arch) throw new SetupError('seccomp', `seccomp filters are not supported on this architecture (${process.arch})`);
  return arch;
}

/** The native arch first, then the listed ones (each once), and where each came from in the profile. */
function architectures(profile: ResolvedSeccomp): Array<{ arch: string; at: number }> {
  const out = [{ arch: nativeOrThrow(), at: -1 }];
  profile.architectures.forEach((arch, at) => {
    if (!out.some((a) => a.arch === arch)) out.push({ arch, at });
  });
  return out;
}

/** What libseccomp is given: every name and number already decided here. */
export function nativeSpec(profile: ResolvedSeccomp): NativeSeccompSpec {
  const defaultAction = actionValue(profile.defaultAction, profile.defaultErrnoRet);
  const rules = profile.syscalls.map((r) => ({
    names: [...r.names],
    action: actionValue(r.action, r.errnoRet),
    args: r.args.map((a) => ({ index: a.index, op: a.op, value: BigInt(a.value), valueTwo: BigInt(a.valueTwo) })),
  }));
  const names = rules.reduce((n, r) => n + (r.action === defaultAction ? 0 : r.names.length), 0);
  return {
    defaultAction,
    // A syscall through a table the profile does not list (int 0x80 on a
    // native-only profile) is an attempt to slip past it: kill the process,
    // not just the thread that tried.
    badArchAction: SECCOMP_RET.KILL_PROCESS >>> 0,
    arches: architectures(profile).map((a) => ARCHITECTURES[a.arch]!.libseccomp),
    binaryTree: names > BINARY_TREE_ABOVE,
    rules,
    maxInstructions: BPF_MAXINSNS,
  };
}

/** SECCOMP_FILTER_FLAG_* the kernel is given. */
export function filterFlags(profile: ResolvedSeccomp): number {
  let flags = 0;
  for (const f of profile.flags) flags |= FLAGS[f] ?? 0;
  if (notifies(profile)) flags |= SECCOMP_FILTER_FLAG.NEW_LISTENER;
  // The kernel refuses WAIT_KILLABLE_RECV without a notify listener, where
  // it would change nothing anyway.
  if (!(flags & SECCOMP_FILTER_FLAG.NEW_LISTENER)) flags &= ~SECCOMP_FILTER_FLAG.WAIT_KILLABLE_RECV;
  return flags;
}

/**
 * runc's rule: a default that lets calls through (ALLOW, LOG, TRACE — a
 * tracer copes with new syscalls itself) or already says ENOSYS needs no prologue.
 */
function wantsPrologue(profile: ResolvedSeccomp): boolean {
  if (['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'].includes(profile.defaultAction)) return false;
  return !(profile.defaultAction === 'SCMP_ACT_ERRNO' && profile.defaultErrnoRet === ENOSYS);
}

/** What native compileSeccomp rejects with (lib/native/addon.ts). */
type CompileFailure = NodeJS.ErrnoException & { tooLarge?: number; rule?: number; name?: number; arch?: number };
type Outcome = { ok: CompiledSeccomp } | { failed: CompileFailure };

interface Reference {
  spec: NativeSeccompSpec;
  out: NativeSeccompProgram;
  limits: Array<{ arch: string; highest: number }>;
  enosys: boolean;
  /** The ENOSYS prologue (where the default denies), then libseccomp's whole program. */
  program: Buffer;
}

/** libseccomp's program for the profile behind the ENOSYS prologue: what the range front must answer like. */
export async function referenceProgram(profile: ResolvedSeccomp): Promise<Reference> {
  const spec = nativeSpec(profile);
  const out = await native.compileSeccomp(spec);
  const limits = architectures(profile).map((a, i) => ({ arch: a.arch, highest: out.highest[i] ?? -1 }));
  const enosys = wantsPrologue(profile);
  return { spec, out, limits, enosys, program: Buffer.concat([enosys ? enosysPrologue(limits) : Buffer.alloc(0), out.program]) };
}

async function build(profile: ResolvedSeccomp): Promise<Outcome> {
  let ref: Reference;
  try {
    ref = await referenceProgram(profile);
  } catch (err) {
    return { failed: err as CompileFailure };
  }
  const highestSyscall = Object.fromEntries(ref.limits.map((l) => [l.arch, l.highest]));
  const { program, shape } = await shrink(ref.spec, ref.out, ref.program, ref.limits, ref.enosys);
  const out = ref.out;
  return {
    ok: Object.freeze({
      program,
      shape,
      referenceInstructions: ref.program.length / BPF_INSN_SIZE,
      flags: filterFlags(profile),
      instructions: program.length / BPF_INSN_SIZE,
      highestSyscall: Object.freeze(highestSyscall),
      skipped: Object.freeze(out.unknown),
    }),
  };
}

function toError(failed: CompileFailure, profile: ResolvedSeccomp, field: string): BerthError {
  const limit = `more than the kernel's limit of ${BPF_MAXINSNS} instructions (BPF_MAXINSNS)`;
  if (failed.tooLarge !== undefined) return new ConfigError(`${field}.syscalls`, `would compile to at least ${failed.tooLarge} BPF instructions, ${limit}`);
  const code = failed.code ?? 'EINVAL';
  if (failed.rule !== undefined) {
    const rule = profile.syscalls[failed.rule];
    const name = failed.name !== undefined ? rule?.names[failed.name] : undefined;
    const at = `${field}.syscalls[${failed.rule}]${failed.name !== undefined ? `.names[${failed.name}]` : ''}`;
    return new ConfigError(at, `libseccomp refused the rule${name ? ` for ${name}` : ''} (${failed.syscall}: ${code})`);
  }
  if (failed.arch !== undefined) {
    const a = architectures(profile)[failed.arch];
    const at = a && a.at >= 0 ? `${field}.architectures[${a.at}]` : `${field}.architectures`;
    return new ConfigError(at, `this libseccomp cannot filter ${a?.arch ?? 'that architecture'} (${failed.syscall}: ${code})`);
  }
  return new SetupError('seccomp', `libseccomp could not compile the profile at ${field}: ${failed.message}`, {
    errno: code,
    ...(failed.syscall ? { syscall: failed.syscall } : {}),
    cause: failed,
  });
}

/** The canonical form of what decides the program (so equal profiles share one). */
function cacheKey(profile: ResolvedSeccomp): string {
  const { defaultAction, defaultErrnoRet, architectures: arches, flags, syscalls } = profile;
  return JSON.stringify([nativeArchitecture(), defaultAction, defaultErrnoRet ?? null, arches, flags, syscalls], (_, v) => (typeof v === 'bigint' ? `${v}n` : v));
}

// Frozen profiles (validated or default) compile once per object; equal ones
// made apart (each container's config validated anew) meet in the keyed cache.
const byObject = new WeakMap<ResolvedSeccomp, Promise<Outcome>>();
const byKey = new Map<string, Promise<Outcome>>();
const KEYED_PROFILES = 64;

function outcome(profile: ResolvedSeccomp): Promise<Outcome> {
  const known = byObject.get(profile);
  if (known) return known;
  const key = cacheKey(profile);
  let pending = byKey.get(key);
  if (pending) {
    byKey.delete(key); // re-inserted below: the map's order is the LRU order
  } else {
    pending = build(profile);
    // A failure is not kept: the next caller gets its own error and field.
    void pending.then((o) => {
      if ('failed' in o) {
        byKey.delete(key);
        byObject.delete(profile);
      }
    });
  }
  byKey.set(key, pending);
  if (byKey.size > KEYED_PROFILES) byKey.delete(byKey.keys().next().value!);
  if (Object.isFrozen(profile)) byObject.set(profile, pending);
  return pending;
}

/**
 * The program for `profile` (compiled at most once per distinct profile).
 * Rejects with a ConfigError at `field` when it cannot be a filter (too long,
 * a rule or an architecture libseccomp refuses): before anything is created.
 */
export async function compileSeccomp(profile: ResolvedSeccomp, field: string): Promise<CompiledSeccomp> {
  const o = await outcome(profile);
  if ('failed' in o) throw toError(o.failed, profile, field);
  if (o.ok.instructions > BPF_MAXINSNS) {
    throw new ConfigError(`${field}.syscalls`, `compiles to ${o.ok.instructions} BPF instructions, more than the kernel's limit of ${BPF_MAXINSNS} instructions (BPF_MAXINSNS)`);
  }
  return o.ok;
}
