// Parent side of the launch: one clone3 into new namespaces (and, on cgroup v2,
// straight into the container's cgroup), with a pidfd and the sync socket.
#include <errno.h>
#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <string.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "child.h"
#include "js_error.h"
#include "init_exec.h"
#include "plan_store.h"

namespace berth {

namespace {

struct SpawnResult {
  long pid = -1;
  int pidfd = -1;
  int sync_fd = -1;
  int err = 0;
  const char* syscall = nullptr;
  // CLOCK_MONOTONIC µs: the worker started, clone3 was called, it returned
  // (berth-init exec'd). Reported with the setup marks.
  uint64_t work_at = 0, clone_at = 0, cloned_at = 0;
  uint64_t start_time = 0;  // /proc/<pid>/stat field 22; 0 if unknown
};

// Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), read
// here on the worker so the event loop does not: with the pid it identifies
// the process in state.json even after the pid is reused. 0 if unreadable.
uint64_t ReadStartTime(long pid) {
  char path[64], buf[1024];
  char* e = cstrcpy(path, "/proc/", path + sizeof path);
  e = format_uint(e, (unsigned long)pid, path + sizeof path);
  cstrcpy(e, "/stat", path + sizeof path);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  char* p = strrchr(buf, ')');  // comm may hold spaces and parentheses
  if (!p) return 0;
  p += 2;  // ") " then field 3 (state)
  for (int field = 3; field < 22 && *p; p++)
    if (*p == ' ') field++;
  return strtoull(p, nullptr, 10);
}

uint64_t MonotonicUs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

// The clone itself. Runs on a libuv worker thread: with CLONE_VFORK the
// calling thread waits until berth-init is exec'd, and creating namespaces
// takes the kernel a few milliseconds; none of that may stall the event loop.
// (The worker threads live as long as the process, so PDEATHSIG, which follows
// the creating thread, still means "dies with Node".)
SpawnResult DoSpawn(const Plan* plan, const std::string& encoded) {
  SpawnResult r;
  r.work_at = MonotonicUs();
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    r.err = errno;
    r.syscall = "socketpair";
    return r;
  }
  struct clone_args args = {};
  args.flags = plan->clone_flags | CLONE_PIDFD;
  args.pidfd = (uint64_t)(uintptr_t)&r.pidfd;
  args.exit_signal = SIGCHLD;
  // An exec's first process only joins and forks; the fork is born in the cgroup.
  if (plan->cgroup_fd >= 0 && plan->join_pidfd < 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = (uint64_t)plan->cgroup_fd;
  }

  // berth-init (exec'd from a CLONE_VM|CLONE_VFORK child) where this build
  // has it; else a fork-style clone3 that runs the setup in a copy of Node.
  bool exec_init = InitProgramFd() >= 0;

  // Block every signal so none of Node's handlers can run in the child before
  // it resets them (or execs); restore this thread's mask right after.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  r.clone_at = MonotonicUs();
  if (exec_init) {
    r.pid = CloneExecInit(&args, plan, encoded, sv[1], &r.err);
  } else {
    r.pid = syscall(SYS_clone3, &args, sizeof args);
    if (r.pid == 0) {
      close(sv[0]);
      child_main(plan, sv[1]);  // never returns
    }
    r.err = errno;
  }
  r.cloned_at = MonotonicUs();
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  close(sv[1]);
  if (r.pid < 0) {
    close(sv[0]);
    r.syscall = "clone3";
    return r;
  }
  r.err = 0;
  r.sync_fd = sv[0];
  r.start_time = ReadStartTime(r.pid);
  return r;
}

class SpawnWorker : public Napi::AsyncWorker {
 public:
  SpawnWorker(Napi::Env env, std::string encoded)
      : Napi::AsyncWorker(env, "berth.spawn"), deferred_(Napi::Promise::Deferred::New(env)), encoded_(std::move(encoded)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  // Decoded here, on the worker: the event loop only copied the bytes.
  void Execute() override {
    if (!DecodePlan(encoded_.data(), encoded_.size(), &store_)) {
      result_.err = EINVAL;
      result_.syscall = "decoding the plan";
      return;
    }
    result_ = DoSpawn(&store_.plan, encoded_);
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (result_.err) {
      std::string msg = std::string(result_.syscall) + " failed: " + strerror(result_.err);
      Napi::Error e = Napi::Error::New(env, msg);
      e.Set("code", Napi::String::New(env, uv_err_name(-result_.err)));
      e.Set("errno", Napi::Number::New(env, result_.err));
      e.Set("syscall", Napi::String::New(env, result_.syscall));
      deferred_.Reject(e.Value());
      return;
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("pid", Napi::Number::New(env, (double)result_.pid));
    out.Set("pidfd", Napi::Number::New(env, result_.pidfd));
    out.Set("syncFd", Napi::Number::New(env, result_.sync_fd));
    if (result_.start_time) out.Set("startTime", Napi::Number::New(env, (double)result_.start_time));
    Napi::Object marks = Napi::Object::New(env);
    marks.Set("worker", Napi::Number::New(env, (double)result_.work_at));
    marks.Set("clone", Napi::Number::New(env, (double)result_.clone_at));
    marks.Set("cloned", Napi::Number::New(env, (double)result_.cloned_at));
    out.Set("marks", marks);
    deferred_.Resolve(out);
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::string encoded_;
  PlanStore store_;
  SpawnResult result_;
};

}  // namespace

// spawn(planBytes) -> Promise<{ pid, pidfd, syncFd, startTime?, marks }>
// planBytes: the plan as lib/native/plan-codec.gen.ts encodes it.
Napi::Value Spawn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBuffer()) {
    Napi::TypeError::New(env, "spawn(plan): plan must be a Buffer (encodePlan)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Buffer<char> bytes = info[0].As<Napi::Buffer<char>>();
  auto* worker = new SpawnWorker(env, std::string(bytes.Data(), bytes.Length()));  // deletes itself after OnOK
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace berth
