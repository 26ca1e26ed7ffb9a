// Idmapped mounts are made in the Node process, as root of the initial user
// namespace: mount_setattr(MOUNT_ATTR_IDMAP) needs CAP_SYS_ADMIN over the
// filesystem's own user namespace (the host's), which berth-init no longer
// has once it is in the container's. The detached trees go to berth-init over
// the sync socket with MSG_CONTINUE; it only attaches them.
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <linux/mount.h>
#include <napi.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "js_error.h"
#include "protocol.h"

namespace berth {

static int setattr(int tree, bool recursive, struct mount_attr* attr) {
  return (int)syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), attr, sizeof *attr);
}

Napi::Value IdmappedTree(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int userns = info[1].As<Napi::Number>().Int32Value();
  bool recursive = info[2].As<Napi::Boolean>().Value();
  uint64_t attr_set = (uint64_t)info[3].As<Napi::Number>().Int64Value();
  uint64_t propagation = (uint64_t)info[4].As<Napi::Number>().Int64Value();
  bool idmap_recursive = info[5].As<Napi::Boolean>().Value();
  int tree = (int)syscall(SYS_open_tree, AT_FDCWD, path.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
  if (tree < 0) return ThrowErrno(env, errno, "open_tree", path.c_str());
  if (attr_set || propagation) {
    struct mount_attr attr = {};
    attr.attr_set = attr_set;
    attr.propagation = propagation;
    if (setattr(tree, recursive, &attr) < 0) {
      int err = errno;
      close(tree);
      return ThrowErrno(env, err, "mount_setattr", path.c_str());
    }
  }
  struct mount_attr idmap = {};
  idmap.attr_set = MOUNT_ATTR_IDMAP;
  idmap.userns_fd = (uint64_t)userns;
  if (setattr(tree, idmap_recursive, &idmap) < 0) {
    int err = errno;
    close(tree);
    return ThrowErrno(env, err, "mount_setattr", path.c_str());
  }
  return Napi::Number::New(env, tree);
}

Napi::Value SendFds(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  Msg m{};
  m.kind = info[1].As<Napi::Number>().Uint32Value();
  Napi::Array list = info[2].As<Napi::Array>();
  std::vector<int> fds;
  for (uint32_t i = 0; i < list.Length(); i++) fds.push_back(list.Get(i).As<Napi::Number>().Int32Value());
  struct iovec iov = {&m, sizeof m};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * (fds.empty() ? 1 : fds.size())), 0);
  if (!fds.empty()) {
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  long n;
  do n = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return Napi::Number::New(info.Env(), n < 0 ? errno : 0);
}

}  // namespace berth
