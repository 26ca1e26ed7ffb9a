// Starting the container process as berth-init: clone3(CLONE_VM | CLONE_VFORK)
// on a private stack, then execveat() of the berth-init program embedded in
// this addon, held in a sealed memfd. Node's thread waits only until that
// exec (like posix_spawn), and no page table of Node's heap is copied.
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <mutex>

#include "child.h"
#include "init_exec.h"

extern "C" const char berth_init_blob[];
extern "C" const char berth_init_blob_end[];

#if defined(__x86_64__)
// long berth_clone3(struct clone_args* args, size_t size, int (*fn)(void*), void* arg)
// clone3 with a new stack cannot return into C in the child: the child starts
// on the empty stack, so it calls fn(arg) and exits from here.
extern "C" long berth_clone3(struct clone_args* args, size_t size, int (*fn)(void*), void* arg);
__asm__(
    ".text\n"
    ".globl berth_clone3\n"
    ".hidden berth_clone3\n"
    ".type berth_clone3,@function\n"
    "berth_clone3:\n"
    "  mov %rcx, %r8\n"   // arg: r8/r9 survive the syscall in both processes
    "  mov %rdx, %r9\n"   // fn
    "  mov $435, %eax\n"  // __NR_clone3
    "  syscall\n"
    "  test %rax, %rax\n"
    "  jnz 1f\n"
    "  xor %ebp, %ebp\n"
    "  mov %r8, %rdi\n"
    "  call *%r9\n"
    "  mov %eax, %edi\n"
    "  mov $60, %eax\n"   // __NR_exit
    "  syscall\n"
    "  hlt\n"
    "1:\n"
    "  ret\n"
    ".size berth_clone3, .-berth_clone3\n");
#define BERTH_HAVE_VFORK_EXEC 1
#endif

namespace berth {

namespace {

int g_init_fd = -1;
std::once_flag g_init_once;

void MakeInitFd() {
  size_t size = (size_t)(berth_init_blob_end - berth_init_blob);
  if (size == 0) return;
  // MFD_EXEC (6.3+) says out loud that this memfd is meant to be executed.
  int fd = (int)syscall(SYS_memfd_create, "berth-init", MFD_CLOEXEC | MFD_ALLOW_SEALING | 0x10U /* MFD_EXEC */);
  if (fd < 0 && errno == EINVAL) fd = (int)syscall(SYS_memfd_create, "berth-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return;
  for (size_t off = 0; off < size;) {
    ssize_t n = write(fd, berth_init_blob + off, size - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      return;
    }
    off += (size_t)n;
  }
  if (fchmod(fd, 0555) < 0 ||
      fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
    close(fd);
    return;
  }
  g_init_fd = fd;
}

struct VforkArgs {
  int init_fd;
  int sync_fd;
  int keep[96];
  int nkeep;
  char* argv[4];
  char plan_arg[24];
  char sync_arg[24];
  char* envp[1];
};

// Runs on its own stack in Node's memory while Node's thread waits (vfork):
// only fcntl + execveat, then berth-init is a process of its own.
int VforkMain(void* p) {
  VforkArgs* a = static_cast<VforkArgs*>(p);
  for (int i = 0; i < a->nkeep; i++) {
    int flags = fcntl(a->keep[i], F_GETFD);
    if (flags >= 0) fcntl(a->keep[i], F_SETFD, flags & ~FD_CLOEXEC);
  }
  syscall(SYS_execveat, a->init_fd, "", a->argv, a->envp, AT_EMPTY_PATH);
  child_fail(a->sync_fd, STEP_SYNC, errno, SC_EXECVE, "berth-init");
}

}  // namespace

int InitProgramFd() {
#ifdef BERTH_HAVE_VFORK_EXEC
  std::call_once(g_init_once, MakeInitFd);
#endif
  return g_init_fd;
}

long CloneExecInit(struct clone_args* args, const Plan* plan, const std::string& encoded, int sync_fd, int* err) {
#ifdef BERTH_HAVE_VFORK_EXEC
  int plan_fd = (int)syscall(SYS_memfd_create, "berth-plan", MFD_CLOEXEC);
  if (plan_fd < 0) return *err = errno, -1;
  for (size_t off = 0; off < encoded.size();) {
    ssize_t n = write(plan_fd, encoded.data() + off, encoded.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *err = n < 0 ? errno : EIO;
      close(plan_fd);
      return -1;
    }
    off += (size_t)n;
  }
  VforkArgs a{};
  a.init_fd = g_init_fd;
  a.sync_fd = sync_fd;
  auto keep = [&a](int fd) {
    if (fd >= 0 && a.nkeep < 96) a.keep[a.nkeep++] = fd;
  };
  keep(sync_fd);
  keep(plan_fd);
  for (int i = 0; i < plan->nfds; i++) keep(plan->fds[i]);
  for (int i = 0; i < plan->njoins; i++) keep(plan->joins[i].fd);
  keep(plan->join_pidfd);
  keep(plan->join_root_fd);
  keep(plan->cgroup_fd);
  keep(plan->user_fd);
  keep(plan->start_fd);
  format_uint(a.plan_arg, (unsigned long)plan_fd, a.plan_arg + sizeof a.plan_arg);
  format_uint(a.sync_arg, (unsigned long)sync_fd, a.sync_arg + sizeof a.sync_arg);
  a.argv[0] = const_cast<char*>("berth-init");
  a.argv[1] = a.plan_arg;
  a.argv[2] = a.sync_arg;
  a.argv[3] = nullptr;
  a.envp[0] = nullptr;

  const size_t stack_size = 256 * 1024;
  void* stack = mmap(nullptr, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    *err = errno;
    close(plan_fd);
    return -1;
  }
  args->flags |= CLONE_VM | CLONE_VFORK;
  args->stack = (uint64_t)(uintptr_t)stack;
  args->stack_size = stack_size;
  long pid = berth_clone3(args, sizeof *args, VforkMain, &a);
  if (pid < 0) *err = (int)-pid;  // raw syscall: -errno
  // CLONE_VFORK: the child has exec'd (or exited) by now; its stack is free.
  munmap(stack, stack_size);
  close(plan_fd);
  return pid < 0 ? -1 : pid;
#else
  *err = ENOSYS;
  return -1;
#endif
}

}  // namespace berth
