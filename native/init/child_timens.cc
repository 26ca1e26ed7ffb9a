// A new time namespace with clock offsets (linux.timeOffsets). The kernel
// takes offsets only until the first process is in the namespace, and
// unshare(CLONE_NEWTIME) puts only the caller's future children there, which
// is the window: unshare, write the offsets through /proc/self (it names the
// children's namespace), then move this process in with setns on
// time_for_children, so the program it execs runs with the new clocks.
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include "child.h"

namespace berth {

namespace {

const char kOffsets[] = "/proc/self/timens_offsets";
const char kForChildren[] = "/proc/self/ns/time_for_children";

int fail(Failure* f, SyscallId sc, const char* path) {
  *f = {STEP_TIME_NAMESPACE, errno, sc, path};
  return -1;
}

}  // namespace

int enter_time_namespace(const Plan* p, Failure* f) {
  if (!p->time_offsets) return 0;
  if (unshare(CLONE_NEWTIME) < 0) return fail(f, SC_UNSHARE, nullptr);
  int fd = open(kOffsets, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return fail(f, SC_OPEN, kOffsets);
  // One write: the kernel parses every line of it, or refuses all (ERANGE for
  // an offset that would take a clock below zero).
  if (write_and_close(fd, p->time_offsets) < 0) return fail(f, SC_WRITE, kOffsets);
  int ns = open(kForChildren, O_RDONLY | O_CLOEXEC);
  if (ns < 0) return fail(f, SC_OPEN, kForChildren);
  int rc = setns(ns, CLONE_NEWTIME);
  int saved = errno;
  close(ns);
  errno = saved;
  if (rc < 0) return fail(f, SC_SETNS, kForChildren);
  return 0;
}

}  // namespace berth
