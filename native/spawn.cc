// Parent side of the launch: one clone3 into new namespaces (and, on cgroup v2,
// straight into the container's cgroup), with a pidfd and the sync socket.
#include <errno.h>
#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "child.h"
#include "js_error.h"
#include "init_exec.h"
#include "plan_builder.h"

namespace berth {

// spawn(plan) -> { pid, pidfd, syncFd }
Napi::Value Spawn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) {
    Napi::TypeError::New(env, "spawn(plan): plan must be an object").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::unique_ptr<PlanStore> holder = PlanFromJs(env, info[0].As<Napi::Object>());
  if (!holder) return env.Undefined();
  const Plan* plan = &holder->plan;

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return ThrowErrno(env, errno, "socketpair");

  int pidfd = -1;
  struct clone_args args = {};
  args.flags = plan->clone_flags | CLONE_PIDFD;
  args.pidfd = (uint64_t)(uintptr_t)&pidfd;
  args.exit_signal = SIGCHLD;
  // An exec's first process only joins and forks; the fork is born in the cgroup.
  if (plan->cgroup_fd >= 0 && plan->join_pidfd < 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = (uint64_t)plan->cgroup_fd;
  }

  // berth-init (exec'd from a CLONE_VM|CLONE_VFORK child) where this build
  // has it; else a fork-style clone3 that runs the setup in a copy of Node.
  bool exec_init = InitProgramFd() >= 0;
  std::string encoded = exec_init ? EncodePlan(*plan) : std::string();

  // Block every signal so none of Node's handlers can run in the child before
  // it resets them (or execs); restore our mask right after.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  long pid;
  int clone_errno = 0;
  if (exec_init) {
    pid = CloneExecInit(&args, plan, encoded, sv[1], &clone_errno);
  } else {
    pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) {
      close(sv[0]);
      child_main(plan, sv[1]);  // never returns
    }
    clone_errno = errno;
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  close(sv[1]);
  if (pid < 0) {
    close(sv[0]);
    return ThrowErrno(env, clone_errno, "clone3");
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", Napi::Number::New(env, (double)pid));
  out.Set("pidfd", Napi::Number::New(env, pidfd));
  out.Set("syncFd", Napi::Number::New(env, sv[0]));
  return out;
}

}  // namespace berth
