// The process identity (groups, uid/gid, capabilities, no_new_privs) and the
// final execve with a PATH lookup inside the container.
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "child.h"

namespace berth {

namespace {

int has_cap(uint64_t mask, int cap) { return (mask >> cap) & 1; }

int drop_bounding(const Plan* p, Failure* f) {
  for (int cap = 0; cap <= p->cap_last; cap++) {
    if (has_cap(p->caps[CAP_SET_BOUNDING], cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) {
      *f = {STEP_CAPABILITIES, errno, SC_PRCTL, "bounding"};
      return -1;
    }
  }
  return 0;
}

int set_cap_sets(const Plan* p, Failure* f) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  for (int i = 0; i < 2; i++) {
    data[i].effective = (uint32_t)(p->caps[CAP_SET_EFFECTIVE] >> (32 * i));
    data[i].permitted = (uint32_t)(p->caps[CAP_SET_PERMITTED] >> (32 * i));
    data[i].inheritable = (uint32_t)(p->caps[CAP_SET_INHERITABLE] >> (32 * i));
  }
  if (syscall(SYS_capset, &hdr, data) < 0) {
    *f = {STEP_CAPABILITIES, errno, SC_CAPSET, nullptr};
    return -1;
  }
  return 0;
}

int set_ambient(const Plan* p, Failure* f) {
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
    *f = {STEP_CAPABILITIES, errno, SC_PRCTL, "ambient"};
    return -1;
  }
  for (int cap = 0; cap <= p->cap_last; cap++) {
    if (!has_cap(p->caps[CAP_SET_AMBIENT], cap)) continue;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) {
      *f = {STEP_CAPABILITIES, errno, SC_PRCTL, "ambient"};
      return -1;
    }
  }
  return 0;
}

}  // namespace

int setup_process_identity(const Plan* p, Failure* f) {
  if (p->set_caps && drop_bounding(p, f) < 0) return -1;
  if (p->set_groups && setgroups((size_t)p->ngroups, p->groups) < 0) {
    *f = {STEP_GROUPS, errno, SC_SETGROUPS, nullptr};
    return -1;
  }
  // Keep the permitted set across the uid change; capset below trims it.
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) {
    *f = {STEP_USER, errno, SC_PRCTL, "keepcaps"};
    return -1;
  }
  if (setresgid(p->gid, p->gid, p->gid) < 0) {
    *f = {STEP_USER, errno, SC_SETRESGID, nullptr};
    return -1;
  }
  if (setresuid(p->uid, p->uid, p->uid) < 0) {
    *f = {STEP_USER, errno, SC_SETRESUID, nullptr};
    return -1;
  }
  if (p->set_caps) {
    if (set_cap_sets(p, f) < 0) return -1;
    if (set_ambient(p, f) < 0) return -1;
  }
  if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    *f = {STEP_NO_NEW_PRIVS, errno, SC_PRCTL, nullptr};
    return -1;
  }
  return 0;
}

// One PATH candidate, dir[0..end) + "/" + file, into buf (an empty entry means the cwd).
static void path_candidate(char* buf, size_t size, const char* dir, const char* end, const char* file) {
  char* b = buf;
  char* lim = buf + size;
  if (end == dir) {
    *b++ = '.';
  } else {
    for (const char* c = dir; c < end && b < lim - 1; c++) *b++ = *c;
  }
  if (b < lim - 1) *b++ = '/';
  cstrcpy(b, file, lim);
}

static int has_slash(const char* file) {
  for (const char* c = file; *c; c++)
    if (*c == '/') return 1;
  return 0;
}

// What execve would say of `path` without running it: 0, ENOENT/ENOTDIR, or
// EACCES (not a regular file, or no execute bit for us). -1: cannot tell (a
// seccomp profile that refuses the probes): leave it to execve.
static int probe_executable(const char* path) {
  struct stat st;
  if (stat(path, &st) < 0) return errno == ENOENT || errno == ENOTDIR || errno == EACCES ? errno : -1;
  if (!S_ISREG(st.st_mode)) return EACCES;
  if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) < 0) return errno == EACCES ? EACCES : -1;
  return 0;
}

// A container that waits for a later start checks its program now, as runc's
// init does before its exec fifo: a missing or non-executable program fails
// create (engines map that error to 127/126), not a start much later.
int check_executable(const Plan* p, Failure* f) {
  const char* file = p->exec_path ? p->exec_path : p->argv[0];
  int err;
  if (p->exec_path || has_slash(file)) {
    err = probe_executable(file);
  } else {
    err = ENOENT;
    int saw_eacces = 0;
    for (const char* dir = p->path_env;;) {
      const char* end = dir;
      while (*end && *end != ':') end++;
      char buf[4096];
      path_candidate(buf, sizeof buf, dir, end, file);
      int e = probe_executable(buf);
      if (e <= 0) {
        err = e;
        break;
      }
      if (e == EACCES) saw_eacces = 1;
      if (!*end) break;
      dir = end + 1;
    }
    if (err > 0 && saw_eacces) err = EACCES;
  }
  if (err <= 0) return 0;
  *f = {STEP_EXEC, err, SC_EXECVE, file};
  return -1;
}

// execvp semantics without allocating: try each PATH entry in a stack buffer.
// ENOENT/ENOTDIR/EACCES move on to the next entry (EACCES is remembered, as
// execvp does); anything else is final.
// The plan's env, plus HOME when lookup_home found one: a fresh array from
// mmap (a syscall, no allocator), as long as the plan's.
static char* const* exec_env(const Plan* p, int sync_fd) {
  const char* home = home_env();
  if (!home) return p->envp;
  size_t n = 0;
  while (p->envp[n]) n++;
  void* mem = mmap(nullptr, (n + 2) * sizeof(char*), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) child_fail(sync_fd, STEP_EXEC, errno, SC_MMAP, "env");
  char** env = static_cast<char**>(mem);
  for (size_t i = 0; i < n; i++) env[i] = p->envp[i];
  env[n] = const_cast<char*>(home);
  env[n + 1] = nullptr;
  return env;
}

void exec_process(const Plan* p, int sync_fd) {
  char* const* envp = exec_env(p, sync_fd);
  if (p->exec_path) {
    execve(p->exec_path, p->argv, envp);
    child_fail(sync_fd, STEP_EXEC, errno, SC_EXECVE, p->exec_path);
  }
  const char* file = p->argv[0];
  if (has_slash(file)) {
    execve(file, p->argv, envp);
    child_fail(sync_fd, STEP_EXEC, errno, SC_EXECVE, file);
  }
  int saw_eacces = 0;
  int last_err = ENOENT;
  const char* dir = p->path_env;
  for (;;) {
    const char* end = dir;
    while (*end && *end != ':') end++;
    char buf[4096];
    path_candidate(buf, sizeof buf, dir, end, file);
    execve(buf, p->argv, envp);
    last_err = errno;
    if (last_err == EACCES) saw_eacces = 1;
    else if (last_err != ENOENT && last_err != ENOTDIR) break;
    if (!*end) break;
    dir = end + 1;
  }
  child_fail(sync_fd, STEP_EXEC, saw_eacces ? EACCES : last_err, SC_EXECVE, file);
}

}  // namespace berth
