#pragma once
#include <linux/sched.h>

#include <string>

#include "plan.h"

namespace berth {

// The sealed memfd holding berth-init, made on first use; -1 where this
// build has none (then spawn falls back to a fork-style clone3).
int InitProgramFd();

// clone3(args + CLONE_VM|CLONE_VFORK) whose child execs berth-init with the
// encoded plan. Returns the pid, or -1 with *err set.
long CloneExecInit(struct clone_args* args, const Plan* plan, const std::string& encoded, int sync_fd, int* err);

}  // namespace berth
