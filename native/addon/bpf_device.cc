// cgroup v2 device programs through the raw bpf(2) syscall: load the
// instructions lib/cgroups/device-filter.ts emits, attach them to a cgroup,
// replace, detach, list. No libbpf: these are four commands on a union.
// Everything here is quick kernel work (a verifier pass over a few dozen
// instructions), so it runs on the calling thread.
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <pthread.h>
#include <signal.h>

#include "js_error.h"

#ifndef BPF_F_REPLACE
#define BPF_F_REPLACE (1U << 2)
#endif

namespace berth {

namespace {

// The verifier gives up with EAGAIN whenever a signal is pending on the
// calling thread (since ~4.20), and Node takes SIGCHLD for every container
// that exits: a load under load, or under software emulation where the
// verifier is slow, was refused for nothing. With every signal blocked on this
// thread for the call, process-directed signals go to Node's other threads or
// wait the few microseconds until the mask is restored; cilium/ebpf masks its
// profiler signal for the same reason. The retry covers what the mask cannot
// (a thread-directed signal raised before the mask went on).
long Bpf(int cmd, union bpf_attr* attr) {
  sigset_t all, old;
  bool masked = cmd == BPF_PROG_LOAD;
  if (masked) {
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
  }
  long r;
  int tries = 0;
  do r = syscall(__NR_bpf, cmd, attr, sizeof *attr);
  while (r < 0 && (errno == EINTR || (errno == EAGAIN && masked)) && ++tries < 100);
  if (masked) {
    int err = errno;
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    errno = err;
  }
  return r;
}

uint64_t Ptr(const void* p) { return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p)); }

// BPF_PROG_ATTACH and friends want a real open file of the directory: an
// O_PATH fd is refused (EBADF).
int OpenCgroup(Napi::Env env, const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) ThrowErrno(env, errno, "open", path.c_str());
  return fd;
}

}  // namespace

// loadDeviceProgram(insns: Buffer) -> fd (the kernel makes it O_CLOEXEC).
Napi::Value LoadDeviceProgram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Buffer<uint8_t> insns = info[0].As<Napi::Buffer<uint8_t>>();
  static const char license[] = "Apache-2.0";
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.expected_attach_type = BPF_CGROUP_DEVICE;
  attr.insns = Ptr(insns.Data());
  attr.insn_cnt = static_cast<uint32_t>(insns.Length() / sizeof(struct bpf_insn));
  attr.license = Ptr(license);
  memcpy(attr.prog_name, "berth_devices", sizeof "berth_devices");
  long fd = Bpf(BPF_PROG_LOAD, &attr);
  if (fd >= 0) return Napi::Number::New(env, static_cast<double>(fd));
  int err = errno;
  // Only a refused program is worth a second pass: the verifier says why.
  std::string log;
  if (err == EINVAL || err == EACCES) {
    std::vector<char> buf(1 << 16);
    attr.log_level = 1;
    attr.log_buf = Ptr(buf.data());
    attr.log_size = static_cast<uint32_t>(buf.size());
    long again = Bpf(BPF_PROG_LOAD, &attr);
    if (again >= 0) return Napi::Number::New(env, static_cast<double>(again));
    buf.back() = '\0';
    log = buf.data();
  }
  Napi::Error e = Napi::Error::New(env, std::string("bpf(BPF_PROG_LOAD) failed: ") + strerror(err) + (log.empty() ? "" : "; verifier: " + log));
  e.Set("code", Napi::String::New(env, uv_err_name(-err)));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, "bpf"));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

// BPF_PROG_ATTACH / BPF_PROG_DETACH of a device program on the cgroup at `path`.
static Napi::Value AttachOrDetach(Napi::Env env, const std::string& path, int prog, int cmd, uint32_t flags, int replace) {
  int cg = OpenCgroup(env, path);
  if (cg < 0) return env.Undefined();
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.target_fd = static_cast<uint32_t>(cg);
  attr.attach_bpf_fd = static_cast<uint32_t>(prog);
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = flags;
  if (replace >= 0) attr.replace_bpf_fd = static_cast<uint32_t>(replace);
  long r = Bpf(cmd, &attr);
  int err = errno;
  close(cg);
  if (r < 0) return ThrowErrno(env, err, "bpf", path.c_str());
  return env.Undefined();
}

// attachDeviceProgram(cgroupPath, progFd, replaceFd): BPF_F_ALLOW_MULTI, so
// programs of ancestors (systemd's, a parent engine's) keep running too; with
// replaceFd >= 0, BPF_F_REPLACE swaps that program for this one atomically.
Napi::Value AttachDeviceProgram(const Napi::CallbackInfo& info) {
  int replace = info[2].As<Napi::Number>().Int32Value();
  uint32_t flags = BPF_F_ALLOW_MULTI | (replace >= 0 ? BPF_F_REPLACE : 0);
  return AttachOrDetach(info.Env(), info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::Number>().Int32Value(), BPF_PROG_ATTACH, flags, replace);
}

// detachDeviceProgram(cgroupPath, progFd)
Napi::Value DetachDeviceProgram(const Napi::CallbackInfo& info) {
  return AttachOrDetach(info.Env(), info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::Number>().Int32Value(), BPF_PROG_DETACH, 0, -1);
}

// queryDevicePrograms(cgroupPath) -> ids of the device programs attached to
// the cgroup itself (not those it inherits).
Napi::Value QueryDevicePrograms(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int cg = OpenCgroup(env, path);
  if (cg < 0) return env.Undefined();
  // The kernel caps a cgroup's programs per attach type at 64 (BPF_CGROUP_MAX_PROGS).
  std::vector<uint32_t> ids(64);
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.query.target_fd = static_cast<uint32_t>(cg);
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  attr.query.prog_ids = Ptr(ids.data());
  attr.query.prog_cnt = static_cast<uint32_t>(ids.size());
  long r = Bpf(BPF_PROG_QUERY, &attr);
  int err = errno;
  close(cg);
  if (r < 0) return ThrowErrno(env, err, "bpf", path.c_str());
  uint32_t n = attr.query.prog_cnt < ids.size() ? attr.query.prog_cnt : static_cast<uint32_t>(ids.size());
  Napi::Array out = Napi::Array::New(env, n);
  for (uint32_t i = 0; i < n; i++) out.Set(i, Napi::Number::New(env, ids[i]));
  return out;
}

}  // namespace berth
