// berth's default seccomp profile, applied when a createContainer()/run()
// config says nothing about linux.seccomp. Its semantics are those of
// Docker's default profile (moby's profiles/seccomp/default.json, as moby
// revised it in 2025: io_uring refused, socket() refused for AF_ALG and
// AF_VSOCK), expressed here in berth's own terms, not copied from that file:
// an allowlist that answers EPERM to everything else, widened by the
// capabilities the container's bounding set keeps, narrowed to the
// architecture, and resolved for this host's kernel. The result is a plain
// OCI profile (container.config.seccomp shows it).
import { deepFreeze, type ResolvedSeccomp, type SeccompArg, type SeccompRule } from './profile.js';

/** Holds when every cap is in the bounding set, the native arch is listed, the kernel is at least minKernel. */
interface Condition {
  caps?: readonly string[];
  arches?: readonly string[];
  minKernel?: readonly [number, number];
}

interface Group {
  names: readonly string[];
  action?: 'SCMP_ACT_ALLOW' | 'SCMP_ACT_ERRNO';
  errnoRet?: number;
  args?: readonly SeccompArg[];
  /** Applies only when all of it holds. */
  onlyIf?: Condition;
  /** Left out when any part of it holds. */
  unless?: Condition;
}

const EPERM = 1;
const ENOSYS = 38;
const AF_ALG = 38;
const AF_VSOCK = 40;
// clone(2) flags that make namespaces: refused without CAP_SYS_ADMIN.
const CLONE_NEWNS = 0x00020000;
const CLONE_NEWCGROUP = 0x02000000;
const CLONE_NEWUTS = 0x04000000;
const CLONE_NEWIPC = 0x08000000;
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWPID = 0x20000000;
const CLONE_NEWNET = 0x40000000;
const NAMESPACE_FLAGS = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;

const arg = (index: number, op: string, value: number, valueTwo = 0): SeccompArg => ({ index, op, value, valueTwo });

/** What any process needs, whatever its capabilities (names a kernel or libseccomp lacks are skipped at compile time). */
const ALWAYS: readonly string[] = [
  '_llseek', '_newselect', 'accept', 'accept4', 'access', 'adjtimex', 'alarm', 'bind', 'brk', 'cachestat',
  'capget', 'capset', 'chdir', 'chmod', 'chown', 'chown32', 'clock_adjtime', 'clock_adjtime64', 'clock_getres',
  'clock_getres_time64', 'clock_gettime', 'clock_gettime64', 'clock_nanosleep', 'clock_nanosleep_time64',
  'close', 'close_range', 'connect', 'copy_file_range', 'creat', 'dup', 'dup2', 'dup3', 'epoll_create',
  'epoll_create1', 'epoll_ctl', 'epoll_ctl_old', 'epoll_pwait', 'epoll_pwait2', 'epoll_wait', 'epoll_wait_old',
  'eventfd', 'eventfd2', 'execve', 'execveat', 'exit', 'exit_group', 'faccessat', 'faccessat2', 'fadvise64',
  'fadvise64_64', 'fallocate', 'fanotify_mark', 'fchdir', 'fchmod', 'fchmodat', 'fchmodat2', 'fchown',
  'fchown32', 'fchownat', 'fcntl', 'fcntl64', 'fdatasync', 'fgetxattr', 'flistxattr', 'flock', 'fork',
  'fremovexattr', 'fsetxattr', 'fstat', 'fstat64', 'fstatat64', 'fstatfs', 'fstatfs64', 'fsync', 'ftruncate',
  'ftruncate64', 'futex', 'futex_requeue', 'futex_time64', 'futex_wait', 'futex_waitv', 'futex_wake',
  'futimesat', 'get_robust_list', 'get_thread_area', 'getcpu', 'getcwd', 'getdents', 'getdents64', 'getegid',
  'getegid32', 'geteuid', 'geteuid32', 'getgid', 'getgid32', 'getgroups', 'getgroups32', 'getitimer',
  'getpeername', 'getpgid', 'getpgrp', 'getpid', 'getppid', 'getpriority', 'getrandom', 'getresgid',
  'getresgid32', 'getresuid', 'getresuid32', 'getrlimit', 'getrusage', 'getsid', 'getsockname', 'getsockopt',
  'gettid', 'gettimeofday', 'getuid', 'getuid32', 'getxattr', 'getxattrat', 'inotify_add_watch', 'inotify_init',
  'inotify_init1', 'inotify_rm_watch', 'io_cancel', 'io_destroy', 'io_getevents', 'io_pgetevents',
  'io_pgetevents_time64', 'io_setup', 'io_submit', 'ioctl', 'ioprio_get', 'ioprio_set', 'ipc', 'kill',
  'landlock_add_rule', 'landlock_create_ruleset', 'landlock_restrict_self', 'lchown', 'lchown32', 'lgetxattr',
  'link', 'linkat', 'listen', 'listmount', 'listxattr', 'listxattrat', 'llistxattr', 'lremovexattr', 'lseek',
  'lsetxattr', 'lstat', 'lstat64', 'madvise', 'map_shadow_stack', 'membarrier', 'memfd_create', 'memfd_secret',
  'mincore', 'mkdir', 'mkdirat', 'mknod', 'mknodat', 'mlock', 'mlock2', 'mlockall', 'mmap', 'mmap2', 'mprotect',
  'mq_getsetattr', 'mq_notify', 'mq_open', 'mq_timedreceive', 'mq_timedreceive_time64', 'mq_timedsend',
  'mq_timedsend_time64', 'mq_unlink', 'mremap', 'mseal', 'msgctl', 'msgget', 'msgrcv', 'msgsnd', 'msync',
  'munlock', 'munlockall', 'munmap', 'name_to_handle_at', 'nanosleep', 'newfstatat', 'open', 'openat',
  'openat2', 'pause', 'pidfd_open', 'pidfd_send_signal', 'pipe', 'pipe2', 'pkey_alloc', 'pkey_free',
  'pkey_mprotect', 'poll', 'ppoll', 'ppoll_time64', 'prctl', 'pread64', 'preadv', 'preadv2', 'prlimit64',
  'process_mrelease', 'pselect6', 'pselect6_time64', 'pwrite64', 'pwritev', 'pwritev2', 'read', 'readahead',
  'readlink', 'readlinkat', 'readv', 'recv', 'recvfrom', 'recvmmsg', 'recvmmsg_time64', 'recvmsg',
  'remap_file_pages', 'removexattr', 'removexattrat', 'rename', 'renameat', 'renameat2', 'restart_syscall',
  'riscv_hwprobe', 'rmdir', 'rseq', 'rt_sigaction', 'rt_sigpending', 'rt_sigprocmask', 'rt_sigqueueinfo',
  'rt_sigreturn', 'rt_sigsuspend', 'rt_sigtimedwait', 'rt_sigtimedwait_time64', 'rt_tgsigqueueinfo',
  'sched_get_priority_max', 'sched_get_priority_min', 'sched_getaffinity', 'sched_getattr', 'sched_getparam',
  'sched_getscheduler', 'sched_rr_get_interval', 'sched_rr_get_interval_time64', 'sched_setaffinity',
  'sched_setattr', 'sched_setparam', 'sched_setscheduler', 'sched_yield', 'seccomp', 'select', 'semctl',
  'semget', 'semop', 'semtimedop', 'semtimedop_time64', 'send', 'sendfile', 'sendfile64', 'sendmmsg', 'sendmsg',
  'sendto', 'set_robust_list', 'set_thread_area', 'set_tid_address', 'setfsgid', 'setfsgid32', 'setfsuid',
  'setfsuid32', 'setgid', 'setgid32', 'setgroups', 'setgroups32', 'setitimer', 'setpgid', 'setpriority',
  'setregid', 'setregid32', 'setresgid', 'setresgid32', 'setresuid', 'setresuid32', 'setreuid', 'setreuid32',
  'setrlimit', 'setsid', 'setsockopt', 'setuid', 'setuid32', 'setxattr', 'setxattrat', 'shmat', 'shmctl',
  'shmdt', 'shmget', 'shutdown', 'sigaltstack', 'signalfd', 'signalfd4', 'sigprocmask', 'sigreturn',
  'socketcall', 'socketpair', 'splice', 'stat', 'stat64', 'statfs', 'statfs64', 'statmount', 'statx', 'symlink',
  'symlinkat', 'sync', 'sync_file_range', 'syncfs', 'sysinfo', 'tee', 'tgkill', 'time', 'timer_create',
  'timer_delete', 'timer_getoverrun', 'timer_gettime', 'timer_gettime64', 'timer_settime', 'timer_settime64',
  'timerfd_create', 'timerfd_gettime', 'timerfd_gettime64', 'timerfd_settime', 'timerfd_settime64', 'times',
  'tkill', 'truncate', 'truncate64', 'ugetrlimit', 'umask', 'uname', 'unlink', 'unlinkat', 'uretprobe', 'utime',
  'utimensat', 'utimensat_time64', 'utimes', 'vfork', 'vmsplice', 'wait4', 'waitid', 'waitpid', 'write',
  'writev'
];

const GROUPS: readonly Group[] = [
  { names: ALWAYS },
  // Before 4.8 ptrace could bypass seccomp altogether.
  { names: ['process_vm_readv', 'process_vm_writev', 'ptrace'], onlyIf: { minKernel: [4, 8] } },
  // socket(2) for every address family but AF_ALG (38) and AF_VSOCK (40).
  // i386 programs reach socket() through socketcall(2), allowed above.
  { names: ['socket'], args: [arg(0, 'SCMP_CMP_LT', AF_ALG)] },
  { names: ['socket'], args: [arg(0, 'SCMP_CMP_EQ', AF_ALG + 1)] },
  { names: ['socket'], args: [arg(0, 'SCMP_CMP_GT', AF_VSOCK)] },
  // personality(2): only the query (0xffffffff) and the harmless personas
  // (PER_LINUX, PER_LINUX32, each with UNAME26).
  ...[0x0, 0x0008, 0x20000, 0x20008, 0xffffffff].map((p): Group => ({ names: ['personality'], args: [arg(0, 'SCMP_CMP_EQ', p)] })),
  { names: ['sync_file_range2', 'swapcontext'], onlyIf: { arches: ['SCMP_ARCH_PPC64LE'] } },
  {
    names: ['arm_fadvise64_64', 'arm_sync_file_range', 'sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls'],
    onlyIf: { arches: ['SCMP_ARCH_ARM', 'SCMP_ARCH_AARCH64'] },
  },
  { names: ['arch_prctl'], onlyIf: { arches: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X32'] } },
  { names: ['modify_ldt'], onlyIf: { arches: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X32', 'SCMP_ARCH_X86'] } },
  { names: ['s390_pci_mmio_read', 's390_pci_mmio_write', 's390_runtime_instr'], onlyIf: { arches: ['SCMP_ARCH_S390', 'SCMP_ARCH_S390X'] } },
  { names: ['riscv_flush_icache'], onlyIf: { arches: ['SCMP_ARCH_RISCV64'] } },
  // Capability by capability: what each one is for.
  { names: ['open_by_handle_at'], onlyIf: { caps: ['CAP_DAC_READ_SEARCH'] } },
  {
    names: [
      'bpf', 'clone', 'clone3', 'fanotify_init', 'fsconfig', 'fsmount', 'fsopen', 'fspick', 'lookup_dcookie',
      'lsm_get_self_attr', 'lsm_list_modules', 'lsm_set_self_attr', 'mount', 'mount_setattr', 'move_mount',
      'open_tree', 'perf_event_open', 'quotactl', 'quotactl_fd', 'setdomainname', 'sethostname', 'setns', 'syslog',
      'umount', 'umount2', 'unshare',
    ],
    onlyIf: { caps: ['CAP_SYS_ADMIN'] },
  },
  // Without CAP_SYS_ADMIN: clone without namespace flags (s390 swaps its
  // first two arguments), and clone3 answers ENOSYS (its flags sit in memory a
  // filter cannot read) so that libc falls back to clone.
  { names: ['clone'], args: [arg(0, 'SCMP_CMP_MASKED_EQ', NAMESPACE_FLAGS, 0)], unless: { caps: ['CAP_SYS_ADMIN'], arches: ['SCMP_ARCH_S390', 'SCMP_ARCH_S390X'] } },
  { names: ['clone'], args: [arg(1, 'SCMP_CMP_MASKED_EQ', NAMESPACE_FLAGS, 0)], onlyIf: { arches: ['SCMP_ARCH_S390', 'SCMP_ARCH_S390X'] }, unless: { caps: ['CAP_SYS_ADMIN'] } },
  { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS, unless: { caps: ['CAP_SYS_ADMIN'] } },
  { names: ['reboot'], onlyIf: { caps: ['CAP_SYS_BOOT'] } },
  { names: ['chroot'], onlyIf: { caps: ['CAP_SYS_CHROOT'] } },
  { names: ['delete_module', 'init_module', 'finit_module'], onlyIf: { caps: ['CAP_SYS_MODULE'] } },
  { names: ['acct'], onlyIf: { caps: ['CAP_SYS_PACCT'] } },
  { names: ['kcmp', 'pidfd_getfd', 'process_madvise', 'process_vm_readv', 'process_vm_writev', 'ptrace'], onlyIf: { caps: ['CAP_SYS_PTRACE'] } },
  { names: ['iopl', 'ioperm'], onlyIf: { caps: ['CAP_SYS_RAWIO'] } },
  { names: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64'], onlyIf: { caps: ['CAP_SYS_TIME'] } },
  { names: ['vhangup'], onlyIf: { caps: ['CAP_SYS_TTY_CONFIG'] } },
  { names: ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node'], onlyIf: { caps: ['CAP_SYS_NICE'] } },
  { names: ['syslog'], onlyIf: { caps: ['CAP_SYSLOG'] } },
  { names: ['bpf'], onlyIf: { caps: ['CAP_BPF'] } },
  { names: ['perf_event_open'], onlyIf: { caps: ['CAP_PERFMON'] } },
];

/**
 * The architectures a native one brings along (its compat modes), as Docker's
 * profile lists them: on x86_64 the i386 (int 0x80) and x32 tables are
 * filtered by the same rules through their own numbers.
 */
const COMPANIONS: Readonly<Record<string, readonly string[]>> = {
  SCMP_ARCH_X86_64: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  SCMP_ARCH_AARCH64: ['SCMP_ARCH_ARM'],
  SCMP_ARCH_MIPS64: ['SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64N32'],
  SCMP_ARCH_MIPS64N32: ['SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64'],
  SCMP_ARCH_MIPSEL64: ['SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64N32'],
  SCMP_ARCH_MIPSEL64N32: ['SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64'],
  SCMP_ARCH_S390X: ['SCMP_ARCH_S390'],
  SCMP_ARCH_RISCV64: [],
  SCMP_ARCH_LOONGARCH64: [],
};

export interface DefaultProfileInputs {
  /** The container process's bounding set (CAP_* names). */
  bounding: readonly string[];
  /** The native architecture, as OCI names it (SCMP_ARCH_X86_64). */
  arch: string;
  /** The running kernel's [major, minor]. */
  kernel: readonly [number, number];
}

const atLeast = (kernel: readonly [number, number], min: readonly [number, number]) => kernel[0] > min[0] || (kernel[0] === min[0] && kernel[1] >= min[1]);

function holds(c: Condition, on: DefaultProfileInputs, all: boolean): boolean {
  const parts: boolean[] = [];
  if (c.caps) parts.push(all ? c.caps.every((cap) => on.bounding.includes(cap)) : c.caps.some((cap) => on.bounding.includes(cap)));
  if (c.arches) parts.push(c.arches.includes(on.arch));
  if (c.minKernel) parts.push(atLeast(on.kernel, c.minKernel));
  return all ? parts.every(Boolean) : parts.some(Boolean);
}

/** The default profile for a container with this bounding set, on this architecture and kernel. */
export function defaultProfile(on: DefaultProfileInputs): ResolvedSeccomp {
  const syscalls: SeccompRule[] = [];
  for (const g of GROUPS) {
    if (g.onlyIf && !holds(g.onlyIf, on, true)) continue;
    if (g.unless && holds(g.unless, on, false)) continue;
    syscalls.push({
      names: [...g.names],
      action: g.action ?? 'SCMP_ACT_ALLOW',
      ...(g.errnoRet !== undefined ? { errnoRet: g.errnoRet } : {}),
      args: (g.args ?? []).map((a) => ({ ...a })),
    });
  }
  const companions = COMPANIONS[on.arch];
  return deepFreeze({
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: EPERM,
    architectures: companions ? [on.arch, ...companions] : [],
    flags: [],
    syscalls,
  });
}

/** The capabilities that change the default profile: the rest need not tell two containers' profiles apart. */
export const PROFILE_CAPABILITIES: readonly string[] = [...new Set(GROUPS.flatMap((g) => [...(g.onlyIf?.caps ?? []), ...(g.unless?.caps ?? [])]))].sort();
