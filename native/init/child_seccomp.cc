// The container's seccomp filter, installed by the process itself: a filter
// applies to the thread that installs it and to what that thread execs, and
// nothing can add one to another process from outside. The program was
// compiled once per profile in the parent (lib/seccomp); here it is only
// handed to the kernel, with a raw syscall on bytes that came with the plan.
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "child.h"

namespace berth {

static_assert(sizeof(struct sock_filter) == 8, "the plan carries struct sock_filter as 8-byte records");

int install_seccomp(const Plan* p, int sync_fd, Failure* f) {
  if (!p->seccomp_filter || p->nseccomp_filter < sizeof(struct sock_filter)) return 0;
  struct sock_fprog prog;
  zero(&prog);
  prog.len = (unsigned short)(p->nseccomp_filter / sizeof(struct sock_filter));
  // The bytes sit in the plan store's std::string: malloc-aligned.
  prog.filter = (struct sock_filter*)const_cast<void*>(p->seccomp_filter);
  // seccomp(2), not prctl(PR_SET_SECCOMP): only it takes flags (LOG,
  // SPEC_ALLOW, NEW_LISTENER, WAIT_KILLABLE_RECV).
  long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, (unsigned long)p->seccomp_flags, &prog);
  if (fd < 0) {
    *f = {STEP_SECCOMP, errno, SC_SECCOMP, nullptr};
    return -1;
  }
  // A notify listener belongs to the parent, which answers the requests; the
  // filter itself must allow this sendmsg (a profile that notifies on it is
  // refused before it gets here, as runc refuses one on write).
  if (p->seccomp_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) {
    int rc = send_fd(sync_fd, MSG_SECCOMP_LISTENER, (int)fd);
    int saved = errno;
    close((int)fd);
    if (rc < 0) {
      *f = {STEP_SECCOMP, saved, SC_SENDMSG, "notify listener"};
      return -1;
    }
  }
  return 0;
}

}  // namespace berth
