// The names OCI's linux.seccomp uses (runtime-spec config-linux.md, the same as
// libseccomp's) and what each means here: actions, comparison operators,
// architectures, flags. lib/config/seccomp.ts validates against these tables;
// lib/seccomp/compile.ts turns them into numbers.
import os from 'node:os';
import { SECCOMP_FILTER_FLAG, SECCOMP_RET } from './abi.js';

export interface ActionInfo {
  ret: number;
  /** ERRNO and TRACE return a value to the caller (errnoRet). */
  takesErrno: boolean;
}

/** SCMP_ACT_KILL is KILL_THREAD, as in libseccomp and runc. */
export const ACTIONS: Readonly<Record<string, ActionInfo>> = Object.freeze({
  SCMP_ACT_KILL: { ret: SECCOMP_RET.KILL_THREAD, takesErrno: false },
  SCMP_ACT_KILL_THREAD: { ret: SECCOMP_RET.KILL_THREAD, takesErrno: false },
  SCMP_ACT_KILL_PROCESS: { ret: SECCOMP_RET.KILL_PROCESS, takesErrno: false },
  SCMP_ACT_TRAP: { ret: SECCOMP_RET.TRAP, takesErrno: false },
  SCMP_ACT_ERRNO: { ret: SECCOMP_RET.ERRNO, takesErrno: true },
  SCMP_ACT_TRACE: { ret: SECCOMP_RET.TRACE, takesErrno: true },
  SCMP_ACT_LOG: { ret: SECCOMP_RET.LOG, takesErrno: false },
  SCMP_ACT_ALLOW: { ret: SECCOMP_RET.ALLOW, takesErrno: false },
  SCMP_ACT_NOTIFY: { ret: SECCOMP_RET.USER_NOTIF, takesErrno: false },
});

export const OPERATORS: readonly string[] = Object.freeze([
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
]);

export interface ArchInfo {
  /** libseccomp's name for it (seccomp_arch_resolve_name). */
  libseccomp: string;
  /** AUDIT_ARCH_*: what seccomp_data.arch holds for its syscalls. */
  audit: number;
  /** x32: x86_64's audit arch, told apart by X32_SYSCALL_BIT in the number. */
  x32?: true;
}

export const ARCHITECTURES: Readonly<Record<string, ArchInfo>> = Object.freeze({
  SCMP_ARCH_X86: { libseccomp: 'x86', audit: 0x40000003 },
  SCMP_ARCH_X86_64: { libseccomp: 'x86_64', audit: 0xc000003e },
  SCMP_ARCH_X32: { libseccomp: 'x32', audit: 0xc000003e, x32: true },
  SCMP_ARCH_ARM: { libseccomp: 'arm', audit: 0x40000028 },
  SCMP_ARCH_AARCH64: { libseccomp: 'aarch64', audit: 0xc00000b7 },
  SCMP_ARCH_MIPS: { libseccomp: 'mips', audit: 0x00000008 },
  SCMP_ARCH_MIPS64: { libseccomp: 'mips64', audit: 0x80000008 },
  SCMP_ARCH_MIPS64N32: { libseccomp: 'mips64n32', audit: 0xa0000008 },
  SCMP_ARCH_MIPSEL: { libseccomp: 'mipsel', audit: 0x40000008 },
  SCMP_ARCH_MIPSEL64: { libseccomp: 'mipsel64', audit: 0xc0000008 },
  SCMP_ARCH_MIPSEL64N32: { libseccomp: 'mipsel64n32', audit: 0xe0000008 },
  SCMP_ARCH_PPC: { libseccomp: 'ppc', audit: 0x00000014 },
  SCMP_ARCH_PPC64: { libseccomp: 'ppc64', audit: 0x80000015 },
  SCMP_ARCH_PPC64LE: { libseccomp: 'ppc64le', audit: 0xc0000015 },
  SCMP_ARCH_S390: { libseccomp: 's390', audit: 0x00000016 },
  SCMP_ARCH_S390X: { libseccomp: 's390x', audit: 0x80000016 },
  SCMP_ARCH_PARISC: { libseccomp: 'parisc', audit: 0x0000000f },
  SCMP_ARCH_PARISC64: { libseccomp: 'parisc64', audit: 0x8000000f },
  SCMP_ARCH_RISCV64: { libseccomp: 'riscv64', audit: 0xc00000f3 },
  // libseccomp ≥ 2.6; an older one refuses it at compile time, naming the field.
  SCMP_ARCH_LOONGARCH64: { libseccomp: 'loongarch64', audit: 0xc0000102 },
});

/** The flags OCI names; TSYNC is meaningless for berth-init's single thread: accepted, never passed. */
export const FLAGS: Readonly<Record<string, number>> = Object.freeze({
  SECCOMP_FILTER_FLAG_TSYNC: 0,
  SECCOMP_FILTER_FLAG_LOG: SECCOMP_FILTER_FLAG.LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: SECCOMP_FILTER_FLAG.SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: SECCOMP_FILTER_FLAG.WAIT_KILLABLE_RECV,
});

const NODE_ARCHES: Readonly<Record<string, string>> = Object.freeze({
  x64: 'SCMP_ARCH_X86_64',
  ia32: 'SCMP_ARCH_X86',
  arm64: 'SCMP_ARCH_AARCH64',
  arm: 'SCMP_ARCH_ARM',
  s390x: 'SCMP_ARCH_S390X',
  riscv64: 'SCMP_ARCH_RISCV64',
  mips64el: 'SCMP_ARCH_MIPSEL64',
  mipsel: 'SCMP_ARCH_MIPSEL',
  loong64: 'SCMP_ARCH_LOONGARCH64',
});

/** This process's architecture as OCI names it (every filter includes it), or undefined. */
export function nativeArchitecture(arch: string = process.arch): string | undefined {
  if (arch === 'ppc64') return os.endianness() === 'LE' ? 'SCMP_ARCH_PPC64LE' : 'SCMP_ARCH_PPC64';
  return NODE_ARCHES[arch];
}
