// prlimit(pid, resource, soft, hard): the rlimits of a process in a user
// namespace are set from the host's side, as runc does: raising a hard limit
// needs CAP_SYS_RESOURCE in the initial user namespace, which the container's
// root never has.
#include <errno.h>
#include <napi.h>
#include <sys/resource.h>

namespace berth {

Napi::Value Prlimit(const Napi::CallbackInfo& info) {
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  int resource = info[1].As<Napi::Number>().Int32Value();
  bool lossless = true;
  struct rlimit64 rl;
  rl.rlim_cur = info[2].As<Napi::BigInt>().Uint64Value(&lossless);
  rl.rlim_max = info[3].As<Napi::BigInt>().Uint64Value(&lossless);
  int rc = prlimit64(pid, (__rlimit_resource)resource, &rl, nullptr);
  return Napi::Number::New(info.Env(), rc < 0 ? errno : 0);
}

}  // namespace berth
