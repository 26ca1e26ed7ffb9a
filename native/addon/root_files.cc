// What copyIn/copyOut need to reach a container's files safely from the host:
// openat2(RESOLVE_IN_ROOT) below a directory fd (the container's
// /proc/<pid>/root, or its rootfs), so no symlink or `..` the container made
// can lead outside it, however it races us; and, for a stopped container with
// an overlay rootfs, the union as a detached mount (fsopen + fsmount, never
// attached anywhere: no mount namespace sees it, and it goes with its fd).
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include "js_error.h"

namespace berth {

int openat2_in_root(int dirfd, const char* path, int flags);

// openInRoot(dirfd, path, flags) -> fd (O_CLOEXEC always)
Napi::Value OpenInRoot(const Napi::CallbackInfo& info) {
  int dirfd = info[0].As<Napi::Number>().Int32Value();
  std::string path = info[1].As<Napi::String>().Utf8Value();
  int flags = info[2].As<Napi::Number>().Int32Value();
  int fd = openat2_in_root(dirfd, path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return ThrowErrno(info.Env(), errno, "openat2", path.c_str());
  return Napi::Number::New(info.Env(), fd);
}

namespace {

int fsconfig_str(int fsfd, const char* key, const char* value) {
  return (int)syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, key, value, 0);
}

}  // namespace

// overlayMountFd(lowers: string[] (top-most first), upper, work, lowerdirPlus) -> a detached mount's root fd
Napi::Value OverlayMountFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array lowers = info[0].As<Napi::Array>();
  std::string upper = info[1].As<Napi::String>().Utf8Value();
  std::string work = info[2].As<Napi::String>().Utf8Value();
  int fsfd = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
  if (fsfd < 0) return ThrowErrno(env, errno, "fsopen", "overlay");
  // One lowerdir+ per layer on 6.8+ (a layer path may hold ':' or ','). Before
  // that, one "lowerdir" list as mount(2) takes it: overlay parsed its options
  // as one legacy string until 6.5, so an unknown key is only refused at
  // CMD_CREATE and cannot be probed for; the caller says which (lowerdirPlus).
  bool plus = info[3].As<Napi::Boolean>().Value();
  std::string joined;
  for (uint32_t i = 0; i < lowers.Length(); i++) {
    std::string l = lowers.Get(i).As<Napi::String>().Utf8Value();
    joined += (i ? ":" : "") + l;
    if (plus && fsconfig_str(fsfd, "lowerdir+", l.c_str()) < 0) {
      int e = errno;
      close(fsfd);
      return ThrowErrno(env, e, "fsconfig", l.c_str());
    }
  }
  if (!plus && fsconfig_str(fsfd, "lowerdir", joined.c_str()) < 0) {
    int e = errno;
    close(fsfd);
    return ThrowErrno(env, e, "fsconfig", joined.c_str());
  }
  const char* keys[][2] = {{"upperdir", upper.c_str()}, {"workdir", work.c_str()}, {"index", "off"}};
  for (auto& kv : keys) {
    if (fsconfig_str(fsfd, kv[0], kv[1]) < 0) {
      int e = errno;
      close(fsfd);
      return ThrowErrno(env, e, "fsconfig", kv[1]);
    }
  }
  if (syscall(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0) {
    int e = errno;
    close(fsfd);
    return ThrowErrno(env, e, "fsconfig", upper.c_str());
  }
  int mnt = (int)syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC, 0);
  int e = errno;
  close(fsfd);
  if (mnt < 0) return ThrowErrno(env, e, "fsmount", upper.c_str());
  return Napi::Number::New(env, mnt);
}

}  // namespace berth
