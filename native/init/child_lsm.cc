// The AppArmor profile / SELinux label the container's program is exec'd
// into: written to this process's exec attribute, which the kernel applies at
// the next execve (berth-init's only one is the container's program) and then
// clears. lib/config refuses these on a host without the LSM, so a failure
// here means the LSM said no (an unknown profile, a label policy forbids).
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "child.h"

namespace berth {

namespace {

// AppArmor has its own attr directory since 5.8 (so it can stack with
// another LSM that owns the shared one); the shared file before that.
const char kAppArmorExec[] = "/proc/self/attr/apparmor/exec";
const char kSharedExec[] = "/proc/self/attr/exec";

int write_attr(const char* path, const char* value, Failure* f) { return write_file(path, value, STEP_LSM_LABEL, f); }

}  // namespace

int set_exec_labels(const Plan* p, Failure* f) {
  if (p->apparmor_profile) {
    // "exec <profile>": change_onexec, as libapparmor's aa_change_onexec writes it.
    char cmd[4200];
    char* e = cstrcpy(cmd, "exec ", cmd + sizeof cmd);
    cstrcpy(e, p->apparmor_profile, cmd + sizeof cmd);
    int fd = open(kAppArmorExec, O_WRONLY | O_CLOEXEC);
    const char* path = kAppArmorExec;
    if (fd < 0 && errno == ENOENT) fd = open(path = kSharedExec, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      *f = {STEP_LSM_LABEL, errno, SC_OPEN, path};
      return -1;
    }
    if (write_and_close(fd, cmd) < 0) {
      *f = {STEP_LSM_LABEL, errno, SC_WRITE, path};
      return -1;
    }
  }
  if (p->selinux_label && write_attr(kSharedExec, p->selinux_label, f) < 0) return -1;
  return 0;
}

}  // namespace berth
