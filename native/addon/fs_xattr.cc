// File-system calls Node does not offer and the image store needs: mknod (the
// overlay whiteout is a 0:0 character device, layers carry device nodes) and
// the l*xattr family (trusted.overlay.opaque, security.capability, the
// SCHILY.xattr.* records of a layer). Each is one metadata syscall on a path
// the store owns; they run synchronously, like fs.*Sync, and never wait on
// anything but the local file system.
#include <errno.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <string>
#include <vector>

#include "js_error.h"

namespace berth {

// mknod(path, mode, major, minor)
Napi::Value Mknod(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>().Utf8Value();
  mode_t mode = info[1].As<Napi::Number>().Uint32Value();
  unsigned major = info[2].As<Napi::Number>().Uint32Value();
  unsigned minor = info[3].As<Napi::Number>().Uint32Value();
  if (mknod(path.c_str(), mode, makedev(major, minor)) < 0) return ThrowErrno(info.Env(), errno, "mknod", path.c_str());
  return info.Env().Undefined();
}

// lsetxattr(path, name, value: Buffer)
Napi::Value Lsetxattr(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>().Utf8Value();
  std::string name = info[1].As<Napi::String>().Utf8Value();
  Napi::Buffer<char> value = info[2].As<Napi::Buffer<char>>();
  if (lsetxattr(path.c_str(), name.c_str(), value.Data(), value.Length(), 0) < 0)
    return ThrowErrno(info.Env(), errno, "lsetxattr", path.c_str());
  return info.Env().Undefined();
}

// lgetxattrs(path) -> { name: Buffer } of every attribute the caller may read
Napi::Value Lgetxattrs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  Napi::Object out = Napi::Object::New(env);
  ssize_t n = llistxattr(path.c_str(), nullptr, 0);
  if (n < 0) {
    if (errno == ENOTSUP) return out;
    return ThrowErrno(env, errno, "llistxattr", path.c_str());
  }
  std::vector<char> names(n + 1);
  n = llistxattr(path.c_str(), names.data(), names.size());
  if (n < 0) return ThrowErrno(env, errno, "llistxattr", path.c_str());
  for (ssize_t i = 0; i < n;) {
    const char* name = names.data() + i;
    i += strlen(name) + 1;
    ssize_t len = lgetxattr(path.c_str(), name, nullptr, 0);
    if (len < 0) {
      if (errno == ENODATA) continue;
      return ThrowErrno(env, errno, "lgetxattr", path.c_str());
    }
    std::vector<char> value(len > 0 ? len : 1);
    len = lgetxattr(path.c_str(), name, value.data(), value.size());
    if (len < 0) return ThrowErrno(env, errno, "lgetxattr", path.c_str());
    out.Set(name, Napi::Buffer<char>::Copy(env, value.data(), len));
  }
  return out;
}

}  // namespace berth
