// berth-init: the program a new container process becomes right after
// clone3(CLONE_VM | CLONE_VFORK): reads its plan from a memfd and runs the same
// setup as always (child.cc), in a small address space of its own instead of
// a copy of Node's (no page tables of a large heap to copy, no Node memory in
// a process the container can see). It is embedded in berth.node and executed
// from a sealed memfd, so no file on disk can be swapped or overwritten
// (CVE-2019-5736).
//   argv: berth-init <plan fd> <sync fd>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>

#include "child.h"
#include "plan_store.h"

int main(int argc, char** argv) {
  berth::mark("exec");  // clone3 + execveat done: the kernel's share of the launch
  if (argc < 3) return 127;
  int plan_fd = atoi(argv[1]);
  int sync_fd = atoi(argv[2]);
  std::string bytes;
  char buf[65536];
  for (off_t off = 0;;) {
    ssize_t n = pread(plan_fd, buf, sizeof buf, off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) berth::child_fail(sync_fd, berth::STEP_SYNC, errno, berth::SC_READ, "berth-init plan");
    if (n == 0) break;
    bytes.append(buf, (size_t)n);
    off += n;
  }
  close(plan_fd);
  static berth::PlanStore store;
  if (!berth::DecodePlan(bytes.data(), bytes.size(), &store))
    berth::child_fail(sync_fd, berth::STEP_SYNC, EINVAL, berth::SC_NONE, "berth-init: the plan does not decode (mismatched build?)");
  berth::child_main(&store.plan, sync_fd);
}
