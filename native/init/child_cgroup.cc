// cgroup v1/hybrid placement by the child itself, before any other setup: make
// the directories, seed new cpusets, write the limits, join (write "0" to each
// cgroup.procs). Raw syscalls on paths decided in lib/cgroups/v1.ts. Doing it
// here keeps ~20 small cgroupfs operations off the Node event loop and out of
// its thread pool (they are microseconds each in the kernel), and nothing of
// the container runs before it is limited.
#include <errno.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "child.h"

namespace berth {

namespace {

// The failing path outlives the stack frame that built it (this is the child's
// own copy of memory: a static is private to it).
char g_failed_path[4200];

const char* remember(const char* path) {
  cstrcpy(g_failed_path, path, g_failed_path + sizeof g_failed_path);
  return g_failed_path;
}

long read_small(const char* path, char* buf, unsigned size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  long n = read(fd, buf, size - 1);
  int saved = errno;
  close(fd);
  errno = saved;
  if (n < 0) return -1;
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) n--;
  buf[n] = '\0';
  return n;
}

int write_str(const char* path, const char* value) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  return fd < 0 ? -1 : write_and_close(fd, value);
}

// A new v1 cpuset starts with empty cpus/mems and refuses tasks (ENOSPC) until
// both are set: copy them down from the nearest ancestor that has them (a
// parent another container is still seeding may be empty too).
int seed_cpuset(const char* dir, int depth, Failure* f) {
  static const char* const kFiles[] = {"cpuset.cpus", "cpuset.mems"};
  char parent[4096];
  char* end = cstrcpy(parent, dir, parent + sizeof parent);
  while (end > parent && *end != '/') end--;
  *end = '\0';
  for (const char* file : kFiles) {
    char own_path[4200], parent_path[4200], value[4096];
    char* e = cstrcpy(own_path, dir, own_path + sizeof own_path);
    e = cstrcpy(e, "/", own_path + sizeof own_path);
    cstrcpy(e, file, own_path + sizeof own_path);
    if (read_small(own_path, value, sizeof value) > 0) continue;
    e = cstrcpy(parent_path, parent, parent_path + sizeof parent_path);
    e = cstrcpy(e, "/", parent_path + sizeof parent_path);
    cstrcpy(e, file, parent_path + sizeof parent_path);
    long n = read_small(parent_path, value, sizeof value);
    if (n == 0 && depth < 8) {
      if (seed_cpuset(parent, depth + 1, f) < 0) return -1;
      n = read_small(parent_path, value, sizeof value);
    }
    if (n < 0) {
      *f = {STEP_CGROUP, errno, SC_READ, remember(parent_path)};
      return -1;
    }
    if (write_str(own_path, value) < 0) {
      *f = {STEP_CGROUP, errno, SC_WRITE, remember(own_path)};
      return -1;
    }
  }
  return 0;
}

void report_created(int sync_fd, const char* created) {
  Msg m;
  init_msg(&m, MSG_CGROUP_CREATED);
  cstrcpy(m.detail, created, m.detail + sizeof m.detail);
  send(sync_fd, &m, sizeof m, MSG_NOSIGNAL);
}

}  // namespace

static int place_in_cgroups_now(const Plan* p, int sync_fd, Failure* f);

// The parent-death signal is held off while the child makes and joins its
// cgroups: killed half-way (its owner SIGKILLed), it would leave directories
// that no record names as its own. Finished, it has written the ownership
// marker (the first of its writes) the state record points to, and the rest of
// a dead owner's container is cleaned up from that record; the sync socket's
// EOF/EPIPE then ends the child (the owner can no longer send "go").
int place_in_cgroups(const Plan* p, int sync_fd, Failure* f) {
  int deathsig = 0;
  if (prctl(PR_GET_PDEATHSIG, &deathsig) < 0) deathsig = 0;
  if (deathsig) prctl(PR_SET_PDEATHSIG, 0);
  int rc = place_in_cgroups_now(p, sync_fd, f);
  int saved = errno;
  if (deathsig) prctl(PR_SET_PDEATHSIG, deathsig);
  errno = saved;
  return rc;
}

static int place_in_cgroups_now(const Plan* p, int sync_fd, Failure* f) {
  // Which directories we made travels to the parent before anything can fail
  // later, so it removes exactly those (and never a cgroup it did not make).
  char created[sizeof(((Msg*)nullptr)->detail)];
  int n = p->ncgroup_dirs < (int)sizeof created - 1 ? p->ncgroup_dirs : (int)sizeof created - 1;
  int rc = 0;
  for (int i = 0; i < n; i++) created[i] = '0';
  created[n] = '\0';
  for (int i = 0; i < n && rc == 0; i++) {
    const CgroupDirSpec* d = &p->cgroup_dirs[i];
    int made = mkdir(d->path, 0755) == 0;
    // Another container's destroy() may have removed the shared parent (empty
    // for an instant) since we found it: make the parents again and retry.
    for (int attempt = 0; !made && errno == ENOENT && attempt < 3; attempt++) {
      for (int j = 0; j < i; j++) {
        const CgroupDirSpec* up = &p->cgroup_dirs[j];
        unsigned len = cstrlen(up->path);
        if (up->leaf || len >= cstrlen(d->path) || d->path[len] != '/') continue;
        int k = 0;
        while (k < (int)len && up->path[k] == d->path[k]) k++;
        if (k != (int)len) continue;
        if (mkdir(up->path, 0755) == 0) {
          created[j] = '1';
          if (up->cpuset && seed_cpuset(up->path, 0, f) < 0) return report_created(sync_fd, created), -1;
        }
      }
      made = mkdir(d->path, 0755) == 0;
    }
    if (made) {
      created[i] = '1';
      if (d->cpuset) rc = seed_cpuset(d->path, 0, f);
    } else if (errno != EEXIST || d->leaf) {
      // An existing leaf is someone else's cgroup: never adopt it.
      *f = {STEP_CGROUP, errno, SC_MKDIRAT, d->path};
      rc = -1;
    }
  }
  report_created(sync_fd, created);
  if (rc < 0) return -1;
  // Some files constrain each other (memsw >= limit, cfs period/quota): a write
  // refused with EINVAL/EBUSY is retried once after all the others.
  int deferred[128];
  int ndeferred = 0;
  for (int i = 0; i < p->ncgroup_writes; i++) {
    const CgroupWriteSpec* w = &p->cgroup_writes[i];
    if (write_str(w->path, w->value) == 0) continue;
    if (errno == ENOENT && w->optional) continue;
    if ((errno == EINVAL || errno == EBUSY) && ndeferred < 128) {
      deferred[ndeferred++] = i;
      continue;
    }
    *f = {STEP_CGROUP, errno, SC_WRITE, w->path};
    return -1;
  }
  for (int k = 0; k < ndeferred; k++) {
    const CgroupWriteSpec* w = &p->cgroup_writes[deferred[k]];
    if (write_str(w->path, w->value) < 0) {
      *f = {STEP_CGROUP, errno, SC_WRITE, w->path};
      return -1;
    }
  }
  for (int i = 0; i < p->ncgroup_procs; i++) {
    if (write_str(p->cgroup_procs[i], "0") < 0) {  // "0": the writing process
      *f = {STEP_CGROUP, errno, SC_WRITE, p->cgroup_procs[i]};
      return -1;
    }
  }
  return 0;
}

}  // namespace berth
