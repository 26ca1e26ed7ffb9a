#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <linux/sched.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

namespace berth {

void child_fail(int sync_fd, Step step, int err, SyscallId sc, const char* detail) {
  Msg m;
  init_msg(&m, MSG_ERROR);
  m.step = step;
  m.err = err;
  m.syscall = sc;
  if (detail) cstrcpy(m.detail, detail, m.detail + sizeof m.detail);
  // MSG_NOSIGNAL: the parent may be gone; we exit either way.
  send(sync_fd, &m, sizeof m, MSG_NOSIGNAL);
  _exit(127);
}

static void fail_with(int sync_fd, const Failure& f) { child_fail(sync_fd, f.step, f.err, f.sc, f.detail); }

// Node installs handlers (and ignores SIGPIPE); handlers would run Node code in
// this copy, and ignored dispositions survive execve. Reset everything to default
// while all signals are still blocked (the parent blocked them around clone3).
static int reset_signals() {
  struct sigaction sa;
  zero(&sa);
  sa.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    // glibc's sigaction rejects its reserved real-time signals (EINVAL): harmless.
    sigaction(sig, &sa, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  return sigprocmask(SIG_SETMASK, &none, nullptr);
}

static int join_namespaces(const Plan* p, Failure* f) {
  for (int i = 0; i < p->njoins; i++) {
    if (setns(p->joins[i].fd, p->joins[i].nstype) < 0) {
      *f = {STEP_SETNS, errno, SC_SETNS, nullptr};
      return -1;
    }
    close(p->joins[i].fd);
  }
  return 0;
}

// Puts the caller's fds at 0..nfds-1 (inheritable), the sync socket right after
// them (CLOEXEC), and closes everything else the Node process had open.
static int arrange_fds(const Plan* p, int* sync_fd, int* user_fd, int* start_fd, Failure* f) {
  int highest = *sync_fd > *user_fd ? *sync_fd : *user_fd;
  if (*start_fd > highest) highest = *start_fd;
  for (int i = 0; i < p->nfds; i++)
    if (p->fds[i] > highest) highest = p->fds[i];
  int tmp[64];
  int n = p->nfds < 64 ? p->nfds : 64;
  // First copy every source above all of them, so that placing fd i cannot
  // clobber a source that is still to be placed.
  for (int i = 0; i < n; i++) {
    tmp[i] = fcntl(p->fds[i], F_DUPFD_CLOEXEC, highest + 1);
    if (tmp[i] < 0) {
      *f = {STEP_FDS, errno, SC_DUP, nullptr};
      return -1;
    }
  }
  int sync_tmp = fcntl(*sync_fd, F_DUPFD_CLOEXEC, highest + 1);
  if (sync_tmp < 0) {
    *f = {STEP_FDS, errno, SC_DUP, nullptr};
    return -1;
  }
  // Above every source too, so placing the stdio fds cannot clobber it.
  int start_tmp = *start_fd >= 0 ? fcntl(*start_fd, F_DUPFD_CLOEXEC, highest + 1) : -1;
  if (*start_fd >= 0 && start_tmp < 0) {
    *f = {STEP_FDS, errno, SC_DUP, "start socket"};
    return -1;
  }
  for (int i = 0; i < n; i++) {
    if (dup3(tmp[i], i, 0) < 0) {
      *f = {STEP_FDS, errno, SC_DUP, nullptr};
      return -1;
    }
  }
  if (dup3(sync_tmp, n, O_CLOEXEC) < 0) {
    *f = {STEP_FDS, errno, SC_DUP, nullptr};
    return -1;
  }
  *sync_fd = n;
  // A user namespace joined by path is entered later, after the host's part of the setup.
  int keep = n + 1;
  if (*user_fd >= 0) {
    if (dup3(*user_fd, keep, O_CLOEXEC) < 0) {
      *f = {STEP_FDS, errno, SC_DUP, "user namespace"};
      return -1;
    }
    *user_fd = keep++;
  }
  if (start_tmp >= 0) {
    if (dup3(start_tmp, keep, O_CLOEXEC) < 0) {
      *f = {STEP_FDS, errno, SC_DUP, "start socket"};
      return -1;
    }
    *start_fd = keep++;
  }
  if (syscall(SYS_close_range, keep, ~0U, 0) < 0) {
    *f = {STEP_FDS, errno, SC_CLOSE_RANGE, nullptr};
    return -1;
  }
  return 0;
}

static int apply_rlimits(const Plan* p, Failure* f) {
  for (int i = 0; i < p->nrlimits; i++) {
    struct rlimit64 rl;
    rl.rlim_cur = p->rlimits[i].soft;
    rl.rlim_max = p->rlimits[i].hard;
    if (prlimit64(0, (__rlimit_resource)p->rlimits[i].resource, &rl, nullptr) < 0) {
      *f = {STEP_RLIMITS, errno, SC_PRLIMIT, nullptr};
      return -1;
    }
  }
  return 0;
}

static int set_oom_score_adj(const Plan* p, Failure* f) {
  if (!p->has_oom_score_adj) return 0;
  char buf[24];
  char* e = buf;
  int v = p->oom_score_adj;
  if (v < 0) {
    *e++ = '-';
    v = -v;
  }
  format_uint(e, (unsigned long)v, buf + sizeof buf);
  return write_file("/proc/self/oom_score_adj", buf, STEP_OOM_SCORE, f);
}

static int set_io_priority(const Plan* p, Failure* f) {
  if (p->ioprio < 0) return 0;
  // IOPRIO_WHO_PROCESS = 1, who = 0: this process.
  if (syscall(SYS_ioprio_set, 1, 0, p->ioprio) < 0) {
    *f = {STEP_IO_PRIORITY, errno, SC_IOPRIO_SET, nullptr};
    return -1;
  }
  return 0;
}

static int set_names(const Plan* p, Failure* f) {
  if (p->hostname && sethostname(p->hostname, cstrlen(p->hostname)) < 0) {
    *f = {STEP_HOSTNAME, errno, SC_SETHOSTNAME, p->hostname};
    return -1;
  }
  if (p->domainname && setdomainname(p->domainname, cstrlen(p->domainname)) < 0) {
    *f = {STEP_HOSTNAME, errno, SC_SETDOMAINNAME, p->domainname};
    return -1;
  }
  return 0;
}

// A fresh network namespace has `lo` down; programs expect 127.0.0.1 to work.
static int loopback_up(const Plan* p, Failure* f) {
  if (!p->loopback_up) return 0;
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    *f = {STEP_LOOPBACK, errno, SC_SOCKET, "lo"};
    return -1;
  }
  struct ifreq ifr;
  zero(&ifr);
  ifr.ifr_name[0] = 'l';
  ifr.ifr_name[1] = 'o';
  int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
  if (rc == 0) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    rc = ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  int saved = errno;
  close(s);
  if (rc < 0) {
    *f = {STEP_LOOPBACK, saved, SC_IOCTL, "lo"};
    return -1;
  }
  return 0;
}

// sysctls are written through the container's own /proc (its namespaces).
int write_sysctls(const Plan* p, int rootfd, Failure* f) {
  for (int i = 0; i < p->nsysctls; i++) {
    const char* path = p->sysctls[i].path;
    if (rootfd < 0) {
      if (write_file(path, p->sysctls[i].value, STEP_SYSCTL, f) < 0) return -1;
      continue;
    }
    const char* rel = path;
    while (*rel == '/') rel++;
    int fd = openat2_in_root(rootfd, rel, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      *f = {STEP_SYSCTL, errno, SC_OPENAT2, path};
      return -1;
    }
    if (write_and_close(fd, p->sysctls[i].value) < 0) {
      *f = {STEP_SYSCTL, errno, SC_WRITE, path};
      return -1;
    }
  }
  return 0;
}

// Setup timings (CLOCK_MONOTONIC, µs), sent with READY as "name=µs,...": the
// per-step breakdown benchmarks report. Static: this is the child's own memory.
struct Mark {
  const char* name;
  unsigned long us;
};
static Mark g_marks[16];
static int g_nmarks;

void mark(const char* name) {
  if (g_nmarks >= 16) return;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  g_marks[g_nmarks++] = {name, (unsigned long)ts.tv_sec * 1000000UL + (unsigned long)ts.tv_nsec / 1000UL};
}

static void format_marks(char* out, char* end) {
  for (int i = 0; i < g_nmarks; i++) {
    if (i) out = cstrcpy(out, ",", end);
    out = cstrcpy(out, g_marks[i].name, end);
    out = cstrcpy(out, "=", end);
    out = format_uint(out, g_marks[i].us, end);
  }
}

// Tells the parent we are set up, then blocks until it says go (start()) or
// goes away (EOF: the parent died or destroyed us before start). run() does
// not wait for the round trip: its plan says exec right after READY.
// Detached: the creator may exit now. A process that connects (the state dir
// is root's alone) becomes the sync peer: its GO lets us exec, and a failure
// from here on, or the exec's EOF, is reported to it. One that goes away
// before GO (killed mid-start) leaves us waiting for the next: still 'created'.
static void wait_for_starter(int sync_fd, int start_fd) {
  for (;;) {
    int c;
    do c = accept4(start_fd, nullptr, nullptr, SOCK_CLOEXEC);
    while (c < 0 && errno == EINTR);
    if (c < 0) _exit(126);
    Msg m;
    long n;
    do n = recv(c, &m, sizeof m, 0);
    while (n < 0 && errno == EINTR);
    if (n == (long)sizeof m && m.kind == MSG_GO) {
      close(start_fd);
      if (dup3(c, sync_fd, O_CLOEXEC) < 0) _exit(126);
      close(c);
      return;
    }
    close(c);
  }
}

static void wait_for_go(int sync_fd, int exec_after_ready, int start_fd) {
  Msg m;
  init_msg(&m, MSG_READY);
  mark("ready");
  format_marks(m.detail, m.detail + sizeof m.detail);
  if (send(sync_fd, &m, sizeof m, MSG_NOSIGNAL) < 0) child_fail(sync_fd, STEP_SYNC, errno, SC_WRITE, nullptr);
  if (exec_after_ready) return;
  if (start_fd >= 0) {
    wait_for_starter(sync_fd, start_fd);
    return;
  }
  for (;;) {
    long n = recv(sync_fd, &m, sizeof m, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(126);
    if (m.kind == MSG_GO) return;
  }
}

// Waits for MSG_CONTINUE: the parent wrote this process's id maps (or, for an
// exec into a user namespace, its rlimits). EOF: the parent gave up and kills us.
int g_trees[kMaxTrees];
int g_ntrees;

static void wait_for_continue(int sync_fd) {
  Msg m;
  union {
    char buf[CMSG_SPACE(sizeof(int) * kMaxTrees)];
    struct cmsghdr align;
  } control;
  for (;;) {
    struct iovec iov = {&m, sizeof m};
    struct msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    long n = recvmsg(sync_fd, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(126);
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      const char* src = reinterpret_cast<const char*>(CMSG_DATA(c));
      for (int i = 0; i < count && g_ntrees < kMaxTrees; i++) {
        char* dst = reinterpret_cast<char*>(&g_trees[g_ntrees++]);
        for (unsigned b = 0; b < sizeof(int); b++) dst[b] = src[i * sizeof(int) + b];
      }
    }
    if (m.kind == MSG_CONTINUE) return;
  }
}

// A new user namespace, as runc's nsexec makes it: unshared by this process
// once what needs the host's privileges is done (cgroups, rlimits), so it
// keeps a full capability set in it (an exec'd program in a namespace without
// maps would have none); the parent writes the maps meanwhile; then we become
// its root and make every other namespace, which are then owned by it.
// A user namespace joined by path is entered at the same point (its maps exist).
static int enter_user_namespace(const Plan* p, int sync_fd, int user_fd, Failure* f) {
  if (user_fd >= 0) {
    if (setns(user_fd, CLONE_NEWUSER) < 0) {
      *f = {STEP_SETNS, errno, SC_SETNS, "user"};
      return -1;
    }
    close(user_fd);
  } else {
    if (unshare(CLONE_NEWUSER) < 0) {
      *f = {STEP_USER_NAMESPACE, errno, SC_UNSHARE, "user"};
      return -1;
    }
    // Dumpable while the parent writes the maps: /proc/<pid>/{uid_map,gid_map,setgroups}
    // of a non-dumpable process belong to root, and a rootless caller could
    // not write them (runc's nsexec does the same). Off again before anything
    // of the container exists.
    if (prctl(PR_SET_DUMPABLE, 1) < 0) {
      *f = {STEP_USER_NAMESPACE, errno, SC_PRCTL, "dumpable"};
      return -1;
    }
    Msg m;
    init_msg(&m, MSG_USERNS);
    if (send(sync_fd, &m, sizeof m, MSG_NOSIGNAL) < 0) {
      *f = {STEP_SYNC, errno, SC_SENDMSG, nullptr};
      return -1;
    }
    wait_for_continue(sync_fd);
    mark("maps");
    if (prctl(PR_SET_DUMPABLE, 0) < 0) {
      *f = {STEP_USER_NAMESPACE, errno, SC_PRCTL, "dumpable"};
      return -1;
    }
  }
  if (setresgid(0, 0, 0) < 0) {
    *f = {STEP_USER_NAMESPACE, errno, SC_SETRESGID, "0"};
    return -1;
  }
  if (setresuid(0, 0, 0) < 0) {
    *f = {STEP_USER_NAMESPACE, errno, SC_SETRESUID, "0"};
    return -1;
  }
  if (p->unshare_flags && unshare((int)p->unshare_flags) < 0) {
    *f = {STEP_USER_NAMESPACE, errno, SC_UNSHARE, nullptr};
    return -1;
  }
  mark("unshare");
  return 0;
}

// Forks the process that will exec, after a pid namespace was joined
// (setns(CLONE_NEWPID) only applies to children). The fork is made a child of
// the Node process (CLONE_PARENT) so Node can wait for it; this first process
// reports its pid and exits. Returns only in the forked process.
static void fork_into_pid_namespace(const Plan* p, int sync_fd, int into_cgroup_fd, int late_cgroupns) {
  struct clone_args args;
  zero(&args);
  args.flags = CLONE_PARENT;
  if (into_cgroup_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = (uint64_t)into_cgroup_fd;
  }
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) child_fail(sync_fd, STEP_JOIN, errno, SC_CLONE3, nullptr);
  if (pid == 0) {
    if (late_cgroupns && setns(p->join_pidfd, late_cgroupns) < 0) child_fail(sync_fd, STEP_JOIN, errno, SC_SETNS, "cgroup namespace");
    return;
  }
  Msg m;
  init_msg(&m, MSG_PID);
  m.value = (int32_t)pid;
  send(sync_fd, &m, sizeof m, MSG_NOSIGNAL);
  _exit(0);
}

// exec: join the running init's namespaces and root, then fork the process
// that will exec into its pid namespace.
static void join_container(const Plan* p, int sync_fd) {
  // The cgroup namespace is joined by the fork, after it was born in the
  // container's cgroup: CLONE_INTO_CGROUP checks that the caller's own cgroup
  // is inside the caller's cgroup namespace, which the container's is not.
  int late = p->cgroup_fd >= 0 ? (p->join_ns_flags & CLONE_NEWCGROUP) : 0;
  if (setns(p->join_pidfd, p->join_ns_flags & ~late) < 0) child_fail(sync_fd, STEP_JOIN, errno, SC_SETNS, nullptr);
  if (p->join_root_fd >= 0) {
    if (fchdir(p->join_root_fd) < 0) child_fail(sync_fd, STEP_JOIN, errno, SC_FCHDIR, "/");
    if (chroot(".") < 0) child_fail(sync_fd, STEP_JOIN, errno, SC_CHROOT, "/");
    if (chdir("/") < 0) child_fail(sync_fd, STEP_JOIN, errno, SC_CHDIR, "/");
  }
  fork_into_pid_namespace(p, sync_fd, p->cgroup_fd, late);
}

// Every container process leads a session of its own, as runc's init does: in
// the caller's session a tty it was handed (stdio 'inherit') would be its
// controlling terminal, and ioctl(TIOCSTI) on it types into the caller's shell.
// Likewise its session keyring: keyrings are not namespaced, and whatever uid
// the process becomes it possesses (and can read) every key of the session
// keyring it inherited. The new one is anonymous: no other process can join
// it by name, nor plant one under a name the container would join (runc's
// "_ses.<id>" can be both), so an exec'd process gets one of its own too.
static int leave_callers_session(Failure* f) {
  if (setsid() < 0) {
    *f = {STEP_SESSION, errno, SC_SETSID, nullptr};
    return -1;
  }
  // ENOSYS: a kernel without keys (or an outer seccomp filter): nothing to share.
  if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, 0L, 0L, 0L, 0L) < 0 && errno != ENOSYS) {
    *f = {STEP_SESSION, errno, SC_KEYCTL, "session keyring"};
    return -1;
  }
  return 0;
}

// The create hooks (prestart, createRuntime, createContainer) run while this
// process waits here, mounts made and before pivot_root, as the spec places them.
void pause_for_hooks(int sync_fd, bool dumpable) {
  // Dumpable only for the pause, and only when the parent asked (hooks_pause
  // 2: a rootless caller's pasta must open /proc/<pid>/ns/{user,net}, which
  // ptrace rules refuse for a non-dumpable process whose mm predates its user
  // namespace). Nothing of the container runs yet: no process of it could use
  // that (runc's nsexec is dumpable the same way while its maps are written).
  if (dumpable && prctl(PR_SET_DUMPABLE, 1) < 0) child_fail(sync_fd, STEP_SIGNALS, errno, SC_PRCTL, nullptr);
  Msg m;
  init_msg(&m, MSG_HOOKS);
  if (send(sync_fd, &m, sizeof m, MSG_NOSIGNAL) < 0) child_fail(sync_fd, STEP_SYNC, errno, SC_SENDMSG, nullptr);
  wait_for_continue(sync_fd);
  if (dumpable && prctl(PR_SET_DUMPABLE, 0) < 0) child_fail(sync_fd, STEP_SIGNALS, errno, SC_PRCTL, nullptr);
}

void child_main(const Plan* p, int sync_fd) {
  Failure f = {STEP_NONE, 0, SC_NONE, nullptr};
  mark("start");
  if (reset_signals() < 0) child_fail(sync_fd, STEP_SIGNALS, errno, SC_SIGACTION, nullptr);
  // Die with the Node process; the sync socket's EOF closes the race where it
  // died before this prctl (we read it before exec).
  if (p->parent_death_signal && prctl(PR_SET_PDEATHSIG, p->parent_death_signal) < 0)
    child_fail(sync_fd, STEP_PARENT_DEATH, errno, SC_PRCTL, nullptr);
  // Non-dumpable until execve resets it: a process already in the container
  // cannot ptrace us or open /proc/<pid>/exe (CVE-2019-5736).
  if (prctl(PR_SET_DUMPABLE, 0) < 0) child_fail(sync_fd, STEP_SIGNALS, errno, SC_PRCTL, nullptr);
  umask(0);  // modes of what we create are exact; the process's umask is set at the end
  if (p->wait_for_parent) wait_for_continue(sync_fd);
  if (set_cpu_affinity(p->cpu_affinity_initial, p->ncpu_affinity_initial, &f) < 0) fail_with(sync_fd, f);
  // Before the joins: the offsets go through the host's /proc, and a joined
  // mount namespace may have none this process can see itself in.
  if (enter_time_namespace(p, &f) < 0) fail_with(sync_fd, f);
  if (join_namespaces(p, &f) < 0) fail_with(sync_fd, f);
  if (p->join_pidfd >= 0 || (p->fork_into_pidns && !p->unshare_userns)) {
    // The init's fork is already in its cgroup (it inherits the one it was born in).
    if (p->join_pidfd >= 0) join_container(p, sync_fd);
    else fork_into_pid_namespace(p, sync_fd, -1, 0);
    // A new process: its parent-death signal and dumpable flag start afresh.
    if (p->parent_death_signal && prctl(PR_SET_PDEATHSIG, p->parent_death_signal) < 0)
      child_fail(sync_fd, STEP_PARENT_DEATH, errno, SC_PRCTL, nullptr);
    if (prctl(PR_SET_DUMPABLE, 0) < 0) child_fail(sync_fd, STEP_SIGNALS, errno, SC_PRCTL, nullptr);
  }
  if (leave_callers_session(&f) < 0) fail_with(sync_fd, f);
  if (set_exec_labels(p, &f) < 0) fail_with(sync_fd, f);
  int user_fd = p->user_fd;
  int start_fd = p->start_fd;
  if (arrange_fds(p, &sync_fd, &user_fd, &start_fd, &f) < 0) fail_with(sync_fd, f);
  mark("fds");
  // cgroup v1: join (and limit) before anything else runs, then a cgroup
  // namespace rooted there. The host's cgroupfs is still visible: no pivot yet.
  if (p->ncgroup_procs && place_in_cgroups(p, sync_fd, &f) < 0) fail_with(sync_fd, f);
  if (p->unshare_cgroupns && unshare(CLONE_NEWCGROUP) < 0) child_fail(sync_fd, STEP_CGROUPNS, errno, SC_UNSHARE, nullptr);
  mark("cgroup");
  if (set_oom_score_adj(p, &f) < 0) fail_with(sync_fd, f);
  if (set_io_priority(p, &f) < 0) fail_with(sync_fd, f);
  if (p->unshare_userns) {
    // Raising a hard limit needs CAP_SYS_RESOURCE of the host's namespace: set
    // them while this process is still there (so a tiny RLIMIT_NOFILE still
    // constrains the setup in a user namespace; elsewhere they go on last).
    if (apply_rlimits(p, &f) < 0) fail_with(sync_fd, f);
    mark("userns");
    if (enter_user_namespace(p, sync_fd, user_fd, &f) < 0) fail_with(sync_fd, f);
    // A new pid (or time) namespace applies to children: the process that execs is a fork.
    if (p->fork_into_pidns) {
      fork_into_pid_namespace(p, sync_fd, -1, 0);
      mark("forked");
      if (p->parent_death_signal && prctl(PR_SET_PDEATHSIG, p->parent_death_signal) < 0)
        child_fail(sync_fd, STEP_PARENT_DEATH, errno, SC_PRCTL, nullptr);
      if (prctl(PR_SET_DUMPABLE, 0) < 0) child_fail(sync_fd, STEP_SIGNALS, errno, SC_PRCTL, nullptr);
      // The fork is no session leader: a session (and keyring) of its own again, for its terminal.
      if (leave_callers_session(&f) < 0) fail_with(sync_fd, f);
    }
  }
  // Sysctls go through the container's /proc: inside the new rootfs before the
  // pivot, or by path where the container has no mount namespace of its own.
  if ((p->setup_rootfs ? setup_rootfs(p, sync_fd, &f) : write_sysctls(p, -1, &f)) < 0) fail_with(sync_fd, f);
  mark("rootfs");
  if (set_names(p, &f) < 0) fail_with(sync_fd, f);
  mark("hostname");
  if (loopback_up(p, &f) < 0) fail_with(sync_fd, f);
  mark("loopback");
  if (p->cwd && chdir(p->cwd) < 0) child_fail(sync_fd, STEP_CWD, errno, SC_CHDIR, p->cwd);
  if (p->terminal && setup_terminal(p, sync_fd, &f) < 0) fail_with(sync_fd, f);
  if (set_task_attributes(p, &f) < 0) fail_with(sync_fd, f);
  // The limits are the process's: set earlier, a small RLIMIT_NOFILE or
  // RLIMIT_FSIZE failed the setup's own opens and writes. Set later, after
  // the identity dropped CAP_SYS_RESOURCE, raising a hard limit is EPERM.
  // What is left after this (filter, identity, the sync socket, execve) opens nothing.
  if (!p->unshare_userns && apply_rlimits(p, &f) < 0) fail_with(sync_fd, f);
  // seccomp without no_new_privs needs CAP_SYS_ADMIN: the filter goes on before
  // the identity drops it (as runc does), and then also sees that setup.
  if (!p->no_new_privs && install_seccomp(p, sync_fd, &f) < 0) fail_with(sync_fd, f);
  // Still with the setup's privileges (a 0600 /etc/passwd is readable), in the container's root.
  if (p->home_from_passwd) lookup_home(p->uid);
  if (setup_process_identity(p, &f) < 0) fail_with(sync_fd, f);
  mark("identity");
  // Changing credentials clears the parent-death signal: arm it again.
  if (p->parent_death_signal && prctl(PR_SET_PDEATHSIG, p->parent_death_signal) < 0)
    child_fail(sync_fd, STEP_PARENT_DEATH, errno, SC_PRCTL, nullptr);
  if (p->umask >= 0) umask((mode_t)p->umask);
  if (start_fd >= 0 && check_executable(p, &f) < 0) fail_with(sync_fd, f);
  wait_for_go(sync_fd, p->exec_after_ready, start_fd);
  // After go: an exec on cgroup v1 was moved into the container's cpuset
  // meanwhile, which reset its affinity.
  if (set_cpu_affinity(p->cpu_affinity_final, p->ncpu_affinity_final, &f) < 0) fail_with(sync_fd, f);
  // With no_new_privs the filter goes on last, so a profile needs to allow
  // nothing of berth's but execve (and sendto, to report a failed one).
  if (p->no_new_privs && install_seccomp(p, sync_fd, &f) < 0) fail_with(sync_fd, f);
  exec_process(p, sync_fd);
}

}  // namespace berth
