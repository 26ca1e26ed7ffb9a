// flock(fd, LOCK_EX | LOCK_NB): 0 or errno (EWOULDBLOCK: held elsewhere).
// Never blocks the event loop; a lock dies with its holder, so no stale locks.
#include <errno.h>
#include <napi.h>
#include <sys/file.h>

namespace berth {

Napi::Value TryLock(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  bool unlock = info.Length() > 1 && info[1].As<Napi::Boolean>().Value();
  int rc;
  do rc = flock(fd, unlock ? LOCK_UN : (LOCK_EX | LOCK_NB));
  while (rc < 0 && errno == EINTR);
  return Napi::Number::New(info.Env(), rc < 0 ? errno : 0);
}

}  // namespace berth
