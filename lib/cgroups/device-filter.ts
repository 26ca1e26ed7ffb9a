// OCI device cgroup rules -> the instructions of a BPF_PROG_TYPE_CGROUP_DEVICE
// program, for cgroup v2 (which has no devices.allow/deny files). Pure: the v2
// manager hands the bytes to the addon to load and attach.
//
// The rules mean on v2 exactly what they mean on v1, so they are first run
// through an emulation of the kernel's v1 device controller
// (security/device_cgroup.c), as runc and youki do: a rule is not a line of a
// first- or last-match list but an edit of the controller's state. `a` resets
// it to allow-all or deny-all; any other rule adds an exception to the default
// or takes access away from the exception with exactly its type:major:minor.
// The result (a default and exceptions that all say its opposite) is what the
// program checks, so the order of the exceptions does not matter.
import type { LinuxDeviceCgroup } from '../../types/oci.js';

/** A wildcard major or minor in an exception (the kernel's ~0). */
export const ANY = -1;

// BPF_DEVCG_ACC_* and BPF_DEVCG_DEV_* (include/uapi/linux/bpf.h); the same
// bits as v1's DEVCG_ACC_* and DEVCG_DEV_*.
export const ACC_MKNOD = 1;
export const ACC_READ = 2;
export const ACC_WRITE = 4;
const ACC_ALL = ACC_MKNOD | ACC_READ | ACC_WRITE;
export const DEV_BLOCK = 1;
export const DEV_CHAR = 2;

// MAJOR()/MINOR() of a dev_t are 12 and 20 bits: an exception naming a larger
// number can never match a device, and leaving it out of the program keeps
// every immediate below 2^31 (JNE sign-extends its 32-bit immediate).
const MAJOR_MAX = 0xfff;
const MINOR_MAX = 0xfffff;

export interface DeviceException {
  type: typeof DEV_BLOCK | typeof DEV_CHAR;
  /** ANY for a wildcard. */
  major: number;
  minor: number;
  /** ACC_* bits. */
  access: number;
}

export interface DeviceState {
  /** Allow-all with deny exceptions (v1 "blacklist"), or deny-all with allow exceptions. */
  defaultAllow: boolean;
  exceptions: DeviceException[];
  /**
   * Indexes of rules that v1 leaves (partly) without effect: they take access
   * away from one type:major:minor while another exception (a wildcard that
   * covers it, or a narrower one) still grants or denies it. runc refuses
   * such rules; the kernel ignores them, and so does this emulation.
   */
  ineffective: number[];
}

export function accessBits(access: string | undefined): number {
  let bits = 0;
  for (const c of access ?? 'rwm') bits |= c === 'r' ? ACC_READ : c === 'w' ? ACC_WRITE : c === 'm' ? ACC_MKNOD : 0;
  return bits;
}

const number = (n: number | null | undefined): number => (n === undefined || n === null || n < 0 ? ANY : n);
const overlaps = (a: number, b: number): boolean => a === ANY || b === ANY || a === b;

/**
 * The v1 controller's state after `rules`, starting from deny-all (what runc
 * starts from; a v1 cgroup would inherit its parent's state instead).
 */
export function emulateDeviceRules(rules: readonly LinuxDeviceCgroup[]): DeviceState {
  let defaultAllow = false;
  let exceptions: DeviceException[] = [];
  const ineffective: number[] = [];
  rules.forEach((rule, index) => {
    const type = rule.type ?? 'a';
    if (type === 'a') {
      // v1 ignores the numbers and access of an `a` rule.
      defaultAllow = rule.allow;
      exceptions = [];
      return;
    }
    const ex: DeviceException = {
      type: type === 'b' ? DEV_BLOCK : DEV_CHAR,
      major: number(rule.major),
      minor: number(rule.minor),
      access: accessBits(rule.access),
    };
    const same = (e: DeviceException): boolean => e.type === ex.type && e.major === ex.major && e.minor === ex.minor;
    const found = exceptions.find(same);
    if (rule.allow !== defaultAllow) {
      // dev_exception_add: one entry per type:major:minor, accesses merged.
      if (found) found.access |= ex.access;
      else exceptions.push(ex);
      return;
    }
    // dev_exception_rm: only the exact entry loses the access.
    if (found) {
      found.access &= ~ex.access;
      if (found.access === 0) exceptions = exceptions.filter((e) => e !== found);
    }
    const stillCovered = exceptions.some(
      (e) => e.type === ex.type && overlaps(e.major, ex.major) && overlaps(e.minor, ex.minor) && (e.access & ex.access) !== 0,
    );
    if (stillCovered) ineffective.push(index);
  });
  return { defaultAllow, exceptions, ineffective };
}

/** True when the state lets every access through: no program is needed to enforce it. */
export function allowsEverything(state: DeviceState): boolean {
  return state.defaultAllow && state.exceptions.length === 0;
}

// eBPF opcodes (include/uapi/linux/bpf_common.h, bpf.h).
const LDX_MEM_W = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU32_AND_K = 0x54; // BPF_ALU | BPF_AND | BPF_K
const ALU32_RSH_K = 0x74; // BPF_ALU | BPF_RSH | BPF_K
const ALU32_MOV_X = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
const ALU64_MOV_K = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
const JEQ_K = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JNE_K = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const JNE_X = 0x5d; // BPF_JMP | BPF_JNE | BPF_X
const EXIT = 0x95; // BPF_JMP | BPF_EXIT

export const INSN_SIZE = 8;

interface Insn {
  code: number;
  dst: number;
  src?: number;
  off?: number;
  imm?: number;
}

/** Marks a jump to the first instruction after the current exception's block. */
const NEXT = Symbol('next');
type BlockInsn = Omit<Insn, 'off'> & { off?: number | typeof NEXT };

// struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }, in r1.
// access_type is (access << 16) | type.
const PROLOGUE: Insn[] = [
  { code: LDX_MEM_W, dst: 2, src: 1, off: 0 }, // r2 = type
  { code: ALU32_AND_K, dst: 2, imm: 0xffff },
  { code: LDX_MEM_W, dst: 3, src: 1, off: 0 }, // r3 = access
  { code: ALU32_RSH_K, dst: 3, imm: 16 },
  { code: LDX_MEM_W, dst: 4, src: 1, off: 4 }, // r4 = major
  { code: LDX_MEM_W, dst: 5, src: 1, off: 8 }, // r5 = minor
];

const verdict = (allow: boolean): Insn[] => [
  { code: ALU64_MOV_K, dst: 0, imm: allow ? 1 : 0 },
  { code: EXIT, dst: 0 },
];

/**
 * One exception: falls through to the next block unless the request matches,
 * else returns the exception's verdict. The access test is v1's: on deny-all
 * an exception must grant every requested access (match_exception), on
 * allow-all it denies a request that asks for any access it names
 * (match_exception_partial), so an O_RDWR open is refused by a "w" deny.
 */
function exceptionBlock(ex: DeviceException, defaultAllow: boolean): Insn[] {
  const block: BlockInsn[] = [{ code: JNE_K, dst: 2, imm: ex.type, off: NEXT }];
  if (ex.major !== ANY) block.push({ code: JNE_K, dst: 4, imm: ex.major, off: NEXT });
  if (ex.minor !== ANY) block.push({ code: JNE_K, dst: 5, imm: ex.minor, off: NEXT });
  if (defaultAllow) {
    block.push({ code: ALU32_MOV_X, dst: 1, src: 3 }, { code: ALU32_AND_K, dst: 1, imm: ex.access }, { code: JEQ_K, dst: 1, imm: 0, off: NEXT });
  } else if (ex.access !== ACC_ALL) {
    block.push({ code: ALU32_MOV_X, dst: 1, src: 3 }, { code: ALU32_AND_K, dst: 1, imm: ex.access }, { code: JNE_X, dst: 1, src: 3, off: NEXT });
  }
  block.push(...verdict(!defaultAllow));
  return block.map((insn, i) => ({ ...insn, off: insn.off === NEXT ? block.length - i - 1 : (insn.off ?? 0) }));
}

function encode(insns: Insn[]): Buffer {
  const out = Buffer.alloc(insns.length * INSN_SIZE);
  insns.forEach((insn, i) => {
    const at = i * INSN_SIZE;
    out.writeUInt8(insn.code, at);
    out.writeUInt8(((insn.src ?? 0) << 4) | insn.dst, at + 1);
    out.writeInt16LE(insn.off ?? 0, at + 2);
    out.writeInt32LE(insn.imm ?? 0, at + 4);
  });
  return out;
}

/** The program (struct bpf_insn[], little-endian) for an emulated state. */
export function deviceProgram(state: DeviceState): Buffer {
  const matchable = state.exceptions.filter((e) => e.major <= MAJOR_MAX && e.minor <= MINOR_MAX);
  return encode([...PROLOGUE, ...matchable.flatMap((e) => exceptionBlock(e, state.defaultAllow)), ...verdict(state.defaultAllow)]);
}

/** The program for a rule list (the config's rules then berth's allow list), or null when it would allow everything. */
export function deviceFilter(rules: readonly LinuxDeviceCgroup[]): Buffer | null {
  const state = emulateDeviceRules(rules);
  return allowsEverything(state) ? null : deviceProgram(state);
}
