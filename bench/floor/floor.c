// The C floor: the least work the kernel lets any runtime get away with to run
// /bin/true from the busybox rootfs in the same namespaces as the containers
// (runc spec's set + cgroup): clone(CLONE_NEW*) -> mounts private -> enter the
// rootfs -> execve -> waitpid. No cgroup, no /proc or /dev mounts, no
// capabilities or seccomp: anything a runtime does on top of this is its
// overhead, so "berth within 2x floor" is a strict, honest bar.
//
// Entering the rootfs: chroot by default (the true minimum to exec the same
// static busybox the containers run, so the execve cost is identical);
// --pivot does what every real runtime must do instead (bind the rootfs onto
// itself, pivot_root, detach the old root), reported as a second floor so the
// gap between the two shows what pivot_root costs on this host.
//
// --cgroup NAME adds the cgroup placement every runtime does on this host: per
// run, mkdir /sys/fs/cgroup/<each hierarchy>/NAME-<run> (cpuset seeded from the
// root), the child moves itself into each before exec, the parent rmdirs them
// after waitpid. On v1/hybrid hosts each move is a cgroup migration, which can
// cost an RCU grace period: a kernel cost no runtime avoids there.
//
// Usage: floor ROOTFS [--pivot] [--cgroup NAME] --count N   one run per JSON line
//        floor ROOTFS [--pivot] [--cgroup NAME] --serve     one run per line read on
//                                           stdin, so a driver can interleave it
// Output line: {"ns":<clone..waitpid wall time>} or {"error":"..."}.
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NS_FLAGS (CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP)

static const char *rootfs;
static int pivot;
static const char *cgroup_name;
static char hier[16][64]; // /sys/fs/cgroup/<hierarchy>
static int nhier;
static char cg_dirs[16][256]; // this run's cgroup in each hierarchy, made before clone
static long run_no;
// The child runs on this stack; the floor is single-threaded so a static one is fine.
static char child_stack[256 * 1024] __attribute__((aligned(16)));

// Exit codes 100+step tell the parent which step failed (no stdio needed in the child).
static int child(void *arg) {
  (void)arg;
  char *const argv[] = {"/bin/true", NULL};
  char *const envp[] = {"PATH=/bin:/usr/bin", NULL};
  // Without this, mounts made below would propagate back to the host's shared mounts.
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) _exit(101);
  for (int i = 0; i < nhier; i++) { // "0" = the writer itself (our pid differs in the new pid ns)
    char procs[300];
    snprintf(procs, sizeof procs, "%s/cgroup.procs", cg_dirs[i]);
    int fd = open(procs, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "0", 1) != 1) _exit(108);
    close(fd);
  }
  if (pivot) {
    if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) _exit(102);
    if (chdir(rootfs) < 0) _exit(103);
    // pivot_root(".", ".") stacks the old root under the new one; detaching it
    // afterwards avoids needing a put_old directory inside the rootfs (runc does the same).
    if (syscall(SYS_pivot_root, ".", ".") < 0) _exit(104);
    if (umount2(".", MNT_DETACH) < 0) _exit(105);
  } else {
    if (chdir(rootfs) < 0) _exit(103);
    if (chroot(".") < 0) _exit(104);
  }
  if (chdir("/") < 0) _exit(106);
  execve(argv[0], argv, envp);
  _exit(107);
}

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void find_hierarchies(void) {
  DIR *d = opendir("/sys/fs/cgroup");
  struct dirent *e;
  while (d && (e = readdir(d)) && nhier < 16) {
    if (e->d_name[0] == '.') continue;
    char probe[128];
    snprintf(probe, sizeof probe, "/sys/fs/cgroup/%s/cgroup.procs", e->d_name);
    if (access(probe, F_OK) == 0) snprintf(hier[nhier++], sizeof hier[0], "/sys/fs/cgroup/%s", e->d_name);
  }
  if (d) closedir(d);
}

static int copy_file(const char *from, const char *to) {
  char buf[256];
  int fd = open(from, O_RDONLY);
  ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf);
  if (fd >= 0) close(fd);
  if (n <= 0) return -1;
  fd = open(to, O_WRONLY);
  int ok = fd >= 0 && write(fd, buf, n) == n;
  if (fd >= 0) close(fd);
  return ok ? 0 : -1;
}

static int make_cgroups(void) {
  for (int i = 0; i < nhier; i++) {
    snprintf(cg_dirs[i], sizeof cg_dirs[0], "%s/%s-%ld", hier[i], cgroup_name, run_no);
    if (mkdir(cg_dirs[i], 0755) < 0 && errno != EEXIST) return -1;
    if (strstr(hier[i], "cpuset")) { // a v1 cpuset cgroup takes no task until cpus/mems are set
      char from[128], to[300];
      const char *files[] = {"cpuset.cpus", "cpuset.mems"};
      for (int f = 0; f < 2; f++) {
        snprintf(from, sizeof from, "%s/%s", hier[i], files[f]);
        snprintf(to, sizeof to, "%s/%s", cg_dirs[i], files[f]);
        if (copy_file(from, to) < 0) return -1;
      }
    }
  }
  return 0;
}

static void remove_cgroups(void) {
  for (int i = 0; i < nhier; i++) rmdir(cg_dirs[i]);
}

static void one_run(void) {
  run_no++;
  long long t0 = now_ns();
  if (cgroup_name && make_cgroups() < 0) {
    printf("{\"error\":\"cgroup mkdir: %s\"}\n", strerror(errno));
    remove_cgroups();
    return;
  }
  pid_t pid = clone(child, child_stack + sizeof child_stack, NS_FLAGS | SIGCHLD, NULL);
  if (pid < 0) {
    printf("{\"error\":\"clone: %s\"}\n", strerror(errno));
    return;
  }
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (cgroup_name) remove_cgroups();
  long long dt = now_ns() - t0;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    printf("{\"ns\":%lld}\n", dt);
  else
    printf("{\"error\":\"child failed: status 0x%x (exit 101..108 = setup step)\"}\n", status);
}

int main(int argc, char **argv) {
  long count = -1;
  int serve = 0;
  if (argc < 3) goto usage;
  rootfs = argv[1];
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--pivot")) pivot = 1;
    else if (!strcmp(argv[i], "--serve")) serve = 1;
    else if (!strcmp(argv[i], "--count") && i + 1 < argc) count = atol(argv[++i]);
    else if (!strcmp(argv[i], "--cgroup") && i + 1 < argc) cgroup_name = argv[++i];
    else goto usage;
  }
  if (!serve && count < 1) goto usage;
  if (cgroup_name) find_hierarchies();
  // Line-buffered so a driver reading a pipe sees each result immediately.
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (serve) {
    char line[64];
    while (fgets(line, sizeof line, stdin)) one_run();
  } else {
    for (long i = 0; i < count; i++) one_run();
  }
  return 0;
usage:
  fprintf(stderr, "usage: floor ROOTFS [--pivot] [--cgroup NAME] (--count N | --serve)\n");
  return 2;
}
