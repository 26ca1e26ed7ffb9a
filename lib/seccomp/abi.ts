// The kernel's seccomp and classic-BPF numbers (<linux/seccomp.h>,
// <linux/filter.h>, <linux/audit.h>): what the filter returns, the flags of
// seccomp(2), and the instructions the ENOSYS prologue is made of.

/** SECCOMP_RET_* actions; ERRNO and TRACE carry a 16-bit value in SECCOMP_RET_DATA. */
export const SECCOMP_RET = Object.freeze({
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
});
export const SECCOMP_RET_DATA = 0x0000ffff;

/** seccomp(SECCOMP_SET_MODE_FILTER, flags, …) flags. */
export const SECCOMP_FILTER_FLAG = Object.freeze({
  TSYNC: 1 << 0,
  LOG: 1 << 1,
  SPEC_ALLOW: 1 << 2,
  NEW_LISTENER: 1 << 3,
  WAIT_KILLABLE_RECV: 1 << 5,
});

/** The kernel refuses longer programs (EINVAL). */
export const BPF_MAXINSNS = 4096;
/** bytes per struct sock_filter. */
export const BPF_INSN_SIZE = 8;

/** x32 syscalls are x86_64 ones (AUDIT_ARCH_X86_64) with this bit in the number. */
export const X32_SYSCALL_BIT = 0x40000000;

/** struct seccomp_data offsets. */
export const SECCOMP_DATA_NR = 0;
export const SECCOMP_DATA_ARCH = 4;

/** The classic BPF opcodes the prologue uses. */
export const BPF = Object.freeze({
  LD_W_ABS: 0x20, // A = data[k]
  JMP_JA: 0x05, // pc += k
  JMP_JEQ_K: 0x15,
  JMP_JGT_K: 0x25,
  JMP_JSET_K: 0x45,
  RET_K: 0x06,
});
