// Code that runs in the cloned child before execve. It is a copy of a
// multi-threaded process whose other threads' locks are frozen, so everything
// here is async-signal-safe: raw syscalls on data prepared before clone, no
// malloc, no stdio, no C++ runtime.
#pragma once
#include "plan.h"
#include "protocol.h"

namespace berth {

[[noreturn]] void child_main(const Plan* plan, int sync_fd);
// Records a setup timing mark (CLOCK_MONOTONIC), reported with READY.
void mark(const char* name);

// Reports {step, errno, detail} to the parent and exits. Never returns.
[[noreturn]] void child_fail(int sync_fd, Step step, int err, SyscallId sc, const char* detail);

// Steps, each returning 0 or -1 with *err/*sc/*detail describing the failure.
struct Failure {
  Step step;
  int err;
  SyscallId sc;
  const char* detail;
};

// Mounts, devices, links, sysctls, masked and read-only paths inside the
// rootfs, then pivot_root into it and, if asked, make it read-only.
// sync_fd: for the create hooks' stop before pivot_root (pause_for_hooks).
int setup_rootfs(const Plan* p, int sync_fd, Failure* f);
void pause_for_hooks(int sync_fd, bool dumpable);

// The idmapped trees the parent sent with MSG_CONTINUE (Plan::rootfs_tree, MountSpec::tree index them).
constexpr int kMaxTrees = 64;
extern int g_trees[kMaxTrees];
extern int g_ntrees;
int setup_process_identity(const Plan* p, Failure* f);
int setup_terminal(const Plan* p, int sync_fd, Failure* f);
int place_in_cgroups(const Plan* p, int sync_fd, Failure* f);
// The plan's seccomp filter (if any), with its flags; a notify listener goes
// to the parent. After it, the process may make only the syscalls it allows.
int install_seccomp(const Plan* p, int sync_fd, Failure* f);
int check_executable(const Plan* p, Failure* f);
int mount_overlay_rootfs(const Plan* p, Failure* f);  // child_overlay.cc
void lookup_home(unsigned uid);  // child_home.cc
const char* home_env();          // "HOME=..." after lookup_home, else nullptr
int sys_open_tree(int dirfd, const char* path, unsigned flags);
int sys_move_mount(int from_dirfd, const char* from, int to_dirfd, const char* to, unsigned flags);
[[noreturn]] void exec_process(const Plan* p, int sync_fd);
// The rest of the OCI Linux surface (child_timens.cc, child_attrs.cc, child_lsm.cc).
int enter_time_namespace(const Plan* p, Failure* f);
int set_cpu_affinity(const uint64_t* mask, int nwords, Failure* f);
int set_task_attributes(const Plan* p, Failure* f);
int set_exec_labels(const Plan* p, Failure* f);

// Writes every sysctl, opened inside the rootfs (rootfd) or, without a new
// rootfs (rootfd < 0), by its path.
int write_sysctls(const Plan* p, int rootfd, Failure* f);

// small async-signal-safe helpers (child_util.cc)
// Writes `value` to an open fd and closes it: 0, or -1 with errno kept.
int write_and_close(int fd, const char* value);
// Opens `path` for writing and writes `value`: 0, or -1 with *f naming the step, syscall and path.
int write_file(const char* path, const char* value, Step step, Failure* f);
unsigned cstrlen(const char* s);
char* cstrcpy(char* dst, const char* src, char* end);  // returns the new end, always NUL-terminates
char* format_uint(char* dst, unsigned long v, char* end);
// Zeroes what goes to the kernel or the parent, so no stale stack bytes (in
// padding, in unused fields) travel with it.
void zero_bytes(void* p, unsigned long n);
template <class T>
void zero(T* v) {
  zero_bytes(v, sizeof *v);
}
// A message to the parent: all zeros but its kind.
void init_msg(Msg* m, MsgKind kind);
// A message of `kind` carrying `fd` (SCM_RIGHTS): the sendmsg result.
int send_fd(int sync_fd, MsgKind kind, int fd);
// openat2 of `path` with `dirfd` as its root (RESOLVE_IN_ROOT, no magic
// links): a symlink in the rootfs can never lead out of it. Every lookup in
// the rootfs goes through here, for its retry on EAGAIN.
int openat2_in_root(int dirfd, const char* path, int flags);

}  // namespace berth
