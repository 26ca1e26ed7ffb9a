// The ENOSYS prologue, put in front of libseccomp's program: a syscall whose
// number is above the highest one the profile names for its architecture is
// newer than the profile, and gets ENOSYS instead of the default action, so a
// libc that probes for it (clone3, faccessat2, openat2, …) falls back to the
// old call instead of failing with EPERM. runc patches its filters the same
// way; known syscalls the profile leaves out still get the default action.
//
//        ld  [arch]
//        jeq AUDIT_ARCH_1, arch1        one per architecture with a limit
//        …
//        ja  filter                     any other: libseccomp decides (bad arch)
// arch1: ld  [nr]
//        jgt HIGHEST_1, enosys           (x86_64: x32 numbers, bit 30, are
//        ja  filter                       checked against the x32 limit)
//        …
// enosys: ret ERRNO(ENOSYS)
// filter: libseccomp's program
import { ARCHITECTURES } from './vocabulary.js';
import { BPF, SECCOMP_DATA_ARCH, SECCOMP_DATA_NR, SECCOMP_RET, X32_SYSCALL_BIT } from './abi.js';
import { type Insn, type Label, assemble, ja, ld } from './assemble.js';

const ENOSYS = 38;

export interface ArchLimit {
  /** OCI name (SCMP_ARCH_X86_64). */
  arch: string;
  /** The highest syscall number the profile names there (x32: with X32_SYSCALL_BIT); < 0: none. */
  highest: number;
}

const jgt = (k: number, jt: Label): Insn => ({ code: BPF.JMP_JGT_K, k, jt });

/** Sections per audit arch: x86_64 and x32 share one, told apart by the x32 bit. */
function sections(limits: readonly ArchLimit[]): Array<{ audit: number; label: string; body: Insn[] }> {
  const byAudit = new Map<number, { native?: number; x32?: number; s390?: boolean }>();
  for (const { arch, highest } of limits) {
    const info = ARCHITECTURES[arch];
    if (!info || highest < 0) continue;
    const entry = byAudit.get(info.audit) ?? {};
    if (info.x32) entry.x32 = highest;
    else entry.native = highest;
    if (arch === 'SCMP_ARCH_S390' || arch === 'SCMP_ARCH_S390X') entry.s390 = true;
    byAudit.set(info.audit, entry);
  }
  const out: Array<{ audit: number; label: string; body: Insn[] }> = [];
  for (const [audit, e] of byAudit) {
    const label = `arch-${audit}`;
    const body: Insn[] = [ld(SECCOMP_DATA_NR)];
    // s390: a number the kernel does not know is multiplexed through syscall 0,
    // which no program calls by itself any more (runc does the same).
    if (e.s390) body.push({ code: BPF.JMP_JEQ_K, k: 0, jt: 'enosys' });
    if (audit === ARCHITECTURES.SCMP_ARCH_X86_64!.audit) {
      // x32 numbers have bit 30 set: without an x32 limit they go to
      // libseccomp's program, which refuses them unless x32 is in the filter.
      body.push({ code: BPF.JMP_JSET_K, k: X32_SYSCALL_BIT, jt: e.x32 !== undefined ? `${label}-x32` : 'filter' });
      if (e.native !== undefined) body.push(jgt(e.native, 'enosys'));
      body.push(ja('filter'));
      if (e.x32 !== undefined) body.push({ ...jgt(e.x32, 'enosys'), label: `${label}-x32` }, ja('filter'));
    } else {
      body.push(jgt(e.native ?? e.x32!, 'enosys'), ja('filter'));
    }
    out.push({ audit, label, body });
  }
  return out;
}

/** The prologue's instructions (struct sock_filter[], host byte order); empty when no limit applies. */
export function enosysPrologue(limits: readonly ArchLimit[]): Buffer {
  const parts = sections(limits);
  if (parts.length === 0) return Buffer.alloc(0);
  const program: Insn[] = [ld(SECCOMP_DATA_ARCH)];
  for (const s of parts) program.push({ code: BPF.JMP_JEQ_K, k: s.audit, jt: s.label });
  program.push(ja('filter'));
  for (const s of parts) {
    program.push({ ...s.body[0]!, label: s.label }, ...s.body.slice(1));
  }
  program.push({ code: BPF.RET_K, k: SECCOMP_RET.ERRNO | ENOSYS, label: 'enosys' });
  return assemble(program, 'filter');
}
