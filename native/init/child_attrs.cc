// The per-task attributes an OCI process asks for, set by berth-init on
// itself so that execve hands them to the container's program: the execution
// domain (personality), NUMA memory policy (set_mempolicy), scheduling
// (sched_setattr) and CPU affinity (sched_setaffinity). Raw syscalls on the
// plan's numbers: glibc's wrappers would want its cpu_set_t and libnuma.
#include <errno.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "child.h"

namespace berth {

namespace {

// struct sched_attr (uapi/linux/sched/types.h), SCHED_ATTR_SIZE_VER1.
struct SchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
  uint32_t sched_util_min;
  uint32_t sched_util_max;
};

int set_personality(const Plan* p, Failure* f) {
  if (p->personality < 0) return 0;
  if (syscall(SYS_personality, (unsigned long)(unsigned)p->personality) < 0) {
    *f = {STEP_PERSONALITY, errno, SC_PERSONALITY, nullptr};
    return -1;
  }
  return 0;
}

int set_memory_policy(const Plan* p, Failure* f) {
  if (p->mempolicy_mode < 0) return 0;
  // maxnode counts one bit more than the mask holds: the kernel reads maxnode - 1 bits.
  unsigned long maxnode = p->nmempolicy_nodes ? (unsigned long)p->nmempolicy_nodes * 64 + 1 : 0;
  const uint64_t* nodes = p->nmempolicy_nodes ? p->mempolicy_nodes : nullptr;
  if (syscall(SYS_set_mempolicy, p->mempolicy_mode, nodes, maxnode) < 0) {
    *f = {STEP_MEMORY_POLICY, errno, SC_SET_MEMPOLICY, nullptr};
    return -1;
  }
  return 0;
}

int set_scheduler(const Plan* p, Failure* f) {
  if (p->sched_policy < 0) return 0;
  SchedAttr a;
  zero(&a);
  a.size = sizeof a;
  a.sched_policy = (uint32_t)p->sched_policy;
  a.sched_flags = p->sched_flags;
  a.sched_nice = p->sched_nice;
  a.sched_priority = (uint32_t)p->sched_priority;
  a.sched_runtime = p->sched_runtime;
  a.sched_deadline = p->sched_deadline;
  a.sched_period = p->sched_period;
  if (syscall(SYS_sched_setattr, 0, &a, 0) < 0) {
    *f = {STEP_SCHEDULER, errno, SC_SCHED_SETATTR, nullptr};
    return -1;
  }
  return 0;
}

}  // namespace

int set_cpu_affinity(const uint64_t* mask, int nwords, Failure* f) {
  if (nwords <= 0) return 0;
  if (syscall(SYS_sched_setaffinity, 0, (unsigned long)nwords * sizeof *mask, mask) < 0) {
    *f = {STEP_CPU_AFFINITY, errno, SC_SCHED_SETAFFINITY, nullptr};
    return -1;
  }
  return 0;
}

// Last of the setup that still runs with every capability: a nice value
// below the current one or a real-time policy needs CAP_SYS_NICE, which the
// container's process may not keep.
int set_task_attributes(const Plan* p, Failure* f) {
  if (set_personality(p, f) < 0) return -1;
  if (set_memory_policy(p, f) < 0) return -1;
  return set_scheduler(p, f);
}

}  // namespace berth
