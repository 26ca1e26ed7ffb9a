// The sync socket's message kinds and the step/syscall numbers the child reports
// (native/wire/protocol.h).
export const MSG_READY = 1;
export const MSG_ERROR = 2;
export const MSG_PID = 4;
export const MSG_PTY = 5;
export const MSG_GO = 3;
export const MSG_CGROUP_CREATED = 7;

// Same order as `enum Step` in native/protocol.h.
export const STEP_NAMES = [
  'none', 'signals', 'setns', 'fds', 'rlimits', 'oom-score-adj', 'mount-propagation', 'rootfs-bind', 'mount',
  'devices', 'symlinks', 'pivot-root', 'masked-paths', 'readonly-paths', 'readonly-root', 'hostname', 'loopback',
  'sysctl', 'cwd', 'groups', 'user', 'capabilities', 'no-new-privileges', 'parent-death-signal', 'sync', 'exec', 'join', 'terminal', 'io-priority', 'cgroup-namespace', 'cgroup', 'session',
] as const;

// Same order as `enum SyscallId` in native/protocol.h.
export const SYSCALL_NAMES = [
  '', 'mount', 'open_tree', 'mount_setattr', 'move_mount', 'openat2', 'mkdirat', 'mknodat', 'symlinkat', 'pivot_root',
  'chroot', 'chdir', 'umount2', 'setns', 'sethostname', 'setdomainname', 'socket', 'ioctl', 'write', 'read',
  'setgroups', 'setresgid', 'setresuid', 'capset', 'prctl', 'prlimit64', 'execve', 'dup3', 'close_range', 'open',
  'sigaction', 'fchownat', 'clone3', 'fchdir', 'setsid', 'sendmsg', 'ioprio_set', 'unshare', 'keyctl',
] as const;
