// Unix sockets by path for what crosses processes: a detached init's start
// socket (listened on here, accepted by berth-init after READY, connected to
// by start() in any process later), and an engine's --console-socket (the pty
// master goes there over SCM_RIGHTS, as runc sends it). Paths are reached
// through /proc/self/fd/<dirfd>/<name>, so a state root of any length fits
// sun_path's 108 bytes. Also the subreaper switch a detached init's caller
// (and the tests) use to reap what they start.
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <string>

#include "js_error.h"

namespace berth {

namespace {

// Fills addr with a short alias of dir/name; *dirfd is the fd to close after.
bool shortAddress(const std::string& path, sockaddr_un* addr, int* dirfd, int* err) {
  std::string dir = ".", name = path;
  size_t slash = path.rfind('/');
  if (slash != std::string::npos) {
    dir = slash == 0 ? "/" : path.substr(0, slash);
    name = path.substr(slash + 1);
  }
  *dirfd = open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (*dirfd < 0) {
    *err = errno;
    return false;
  }
  std::string alias = "/proc/self/fd/" + std::to_string(*dirfd) + "/" + name;
  if (alias.size() >= sizeof addr->sun_path) {
    *err = ENAMETOOLONG;
    return false;
  }
  memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  memcpy(addr->sun_path, alias.c_str(), alias.size() + 1);
  return true;
}

int socketType(const Napi::CallbackInfo& info, size_t at) {
  return info.Length() > at && info[at].As<Napi::String>().Utf8Value() == "stream" ? SOCK_STREAM : SOCK_SEQPACKET;
}

// A socket of the requested type bound-and-listening at, or connected to, path.
Napi::Value SocketAt(const Napi::CallbackInfo& info, bool listening) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  sockaddr_un addr;
  int dirfd = -1, err = 0;
  if (!shortAddress(path, &addr, &dirfd, &err)) {
    if (dirfd >= 0) close(dirfd);
    return ThrowErrno(env, err, "open", path.c_str());
  }
  int fd = socket(AF_UNIX, socketType(info, 1) | SOCK_CLOEXEC, 0);
  if (fd < 0) err = errno;
  else {
    int rc;
    if (listening) {
      rc = bind(fd, (sockaddr*)&addr, sizeof addr) < 0 ? -1 : listen(fd, 4);
    } else {
      do rc = connect(fd, (sockaddr*)&addr, sizeof addr);
      while (rc < 0 && errno == EINTR);
    }
    if (rc < 0) {
      err = errno;
      close(fd);
      fd = -1;
    }
  }
  close(dirfd);
  if (fd < 0) return ThrowErrno(env, err, listening ? "bind" : "connect", path.c_str());
  return Napi::Number::New(env, fd);
}

}  // namespace

// listenUnix(path, type = 'seqpacket') -> listening fd (CLOEXEC); the file is made here.
Napi::Value ListenUnix(const Napi::CallbackInfo& info) {
  return SocketAt(info, true);
}

// connectUnix(path, type = 'seqpacket') -> connected fd (CLOEXEC). A unix
// connect to a listener completes at once (the backlog holds it), so this
// does not block the loop; ECONNREFUSED: nobody listens there any more.
Napi::Value ConnectUnix(const Napi::CallbackInfo& info) {
  return SocketAt(info, false);
}

// sendFdNamed(sock, fd, name) -> 0 | errno: one SCM_RIGHTS message whose data
// is `name`, the form runc's console socket protocol uses (utils.SendFile).
Napi::Value SendFdNamed(const Napi::CallbackInfo& info) {
  int sock = info[0].As<Napi::Number>().Int32Value();
  int fd = info[1].As<Napi::Number>().Int32Value();
  std::string name = info[2].As<Napi::String>().Utf8Value();
  if (name.empty()) name = "/dev/ptmx";
  struct iovec iov = {(void*)name.data(), name.size()};
  char control[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  long n;
  do n = sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return Napi::Number::New(info.Env(), n < 0 ? errno : 0);
}

// setChildSubreaper(on = true): orphaned descendants (a detached init whose
// creator exited) are reparented to this process, which then reaps them.
Napi::Value SetChildSubreaper(const Napi::CallbackInfo& info) {
  bool on = info.Length() == 0 || info[0].As<Napi::Boolean>().Value();
  if (prctl(PR_SET_CHILD_SUBREAPER, on ? 1 : 0, 0, 0, 0) < 0) return ThrowErrno(info.Env(), errno, "prctl", "PR_SET_CHILD_SUBREAPER");
  return info.Env().Undefined();
}

}  // namespace berth
