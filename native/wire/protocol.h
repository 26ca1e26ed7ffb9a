// The sync socket protocol between the parent (Node) and the child.
// A SOCK_SEQPACKET socketpair keeps message boundaries; the child's end is
// CLOEXEC, so EOF after "go" means execve succeeded.
#pragma once
#include <stdint.h>

namespace berth {

enum MsgKind : uint32_t {
  MSG_READY = 1,  // child: set up, waiting for go (state "created")
  MSG_ERROR = 2,  // child: a step failed; it _exit()s after sending
  MSG_GO = 3,     // parent: exec now
  MSG_PID = 4,    // exec's first child: the host pid of the process it forked into the container
  MSG_PTY = 5,    // child: the terminal's master, passed with SCM_RIGHTS
  MSG_CGROUP_CREATED = 7,  // child (cgroup v1): which cgroup directories it made ('1'/'0' each)
};

// Step numbers travel on the wire; lib/native.ts maps them to names.
enum Step : int32_t {
  STEP_NONE = 0,
  STEP_SIGNALS,
  STEP_SETNS,
  STEP_FDS,
  STEP_RLIMITS,
  STEP_OOM_SCORE,
  STEP_MOUNT_PROPAGATION,
  STEP_ROOTFS_BIND,
  STEP_MOUNT,
  STEP_DEVICES,
  STEP_SYMLINKS,
  STEP_PIVOT_ROOT,
  STEP_MASKED_PATHS,
  STEP_READONLY_PATHS,
  STEP_READONLY_ROOT,
  STEP_HOSTNAME,
  STEP_LOOPBACK,
  STEP_SYSCTL,
  STEP_CWD,
  STEP_GROUPS,
  STEP_USER,
  STEP_CAPABILITIES,
  STEP_NO_NEW_PRIVS,
  STEP_PARENT_DEATH,
  STEP_SYNC,
  STEP_EXEC,
  STEP_JOIN,
  STEP_TERMINAL,
  STEP_IO_PRIORITY,
  STEP_CGROUPNS,
  STEP_CGROUP,
  STEP_SESSION,  // a session (setsid) and session keyring of its own
};

struct Msg {
  uint32_t kind;
  int32_t step;
  int32_t err;      // errno
  int32_t syscall;  // index into kSyscallNames (lib/native.ts keeps the same list)
  int32_t value;    // MSG_PID: the pid
  char detail[512]; // usually the path
};

enum SyscallId : int32_t {
  SC_NONE = 0, SC_MOUNT, SC_OPEN_TREE, SC_MOUNT_SETATTR, SC_MOVE_MOUNT, SC_OPENAT2, SC_MKDIRAT,
  SC_MKNODAT, SC_SYMLINKAT, SC_PIVOT_ROOT, SC_CHROOT, SC_CHDIR, SC_UMOUNT2, SC_SETNS, SC_SETHOSTNAME,
  SC_SETDOMAINNAME, SC_SOCKET, SC_IOCTL, SC_WRITE, SC_READ, SC_SETGROUPS, SC_SETRESGID, SC_SETRESUID,
  SC_CAPSET, SC_PRCTL, SC_PRLIMIT, SC_EXECVE, SC_DUP, SC_CLOSE_RANGE, SC_OPEN, SC_SIGACTION, SC_FCHOWNAT, SC_CLONE3, SC_FCHDIR, SC_SETSID, SC_SENDMSG, SC_IOPRIO_SET, SC_UNSHARE, SC_KEYCTL,
};

}  // namespace berth
