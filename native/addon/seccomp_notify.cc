// The seccomp notify supervisor's kernel side: one request received, one
// answer sent, a cookie checked, a syscall number named; plus handing a
// listener fd to an OCI agent over a unix socket (listenerPath) and receiving
// one (what such an agent does; the tests' agent uses it). Each call returns
// at once: the JS supervisor calls them when libuv says the fd is readable.
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "js_error.h"

namespace berth {

static uint64_t ToU64(const Napi::Value& v) {
  bool lossless;
  if (v.IsBigInt()) return v.As<Napi::BigInt>().Uint64Value(&lossless);
  return (uint64_t)v.As<Napi::Number>().Int64Value();
}

static int64_t ToI64(const Napi::Value& v) {
  bool lossless;
  if (v.IsBigInt()) return v.As<Napi::BigInt>().Int64Value(&lossless);
  return v.As<Napi::Number>().Int64Value();
}

// notifRecv(fd) -> null (nothing pending, or the target died before we took
// it) | { hup: true } (no process uses the filter any more) | the request.
// RECV blocks when nothing is pending, so poll(0) asks first: a request that
// poll saw and that vanished since (its target was killed) makes RECV fail
// with ENOENT rather than block, because the kernel counts it as sent.
Napi::Value NotifRecv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  struct pollfd pfd = {fd, POLLIN, 0};
  int rc;
  do rc = poll(&pfd, 1, 0);
  while (rc < 0 && errno == EINTR);
  if (rc < 0) return ThrowErrno(env, errno, "poll");
  if (rc == 0) return env.Null();
  if (!(pfd.revents & POLLIN)) {
    if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("hup", true);
      return o;
    }
    return env.Null();
  }
  struct seccomp_notif req;
  memset(&req, 0, sizeof req);  // the kernel refuses a request buffer that is not zeroed
  do rc = ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req);
  while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    if (errno == ENOENT || errno == EAGAIN) return env.Null();
    return ThrowErrno(env, errno, "ioctl", "SECCOMP_IOCTL_NOTIF_RECV");
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("id", Napi::BigInt::New(env, (uint64_t)req.id));
  o.Set("pid", Napi::Number::New(env, req.pid));
  o.Set("nr", Napi::Number::New(env, req.data.nr));
  o.Set("arch", Napi::Number::New(env, req.data.arch));
  o.Set("instructionPointer", Napi::BigInt::New(env, (uint64_t)req.data.instruction_pointer));
  Napi::Array args = Napi::Array::New(env, 6);
  for (uint32_t i = 0; i < 6; i++) args.Set(i, Napi::BigInt::New(env, (uint64_t)req.data.args[i]));
  o.Set("args", args);
  return o;
}

// notifSend(fd, id, { continue } | errno | value) as notifSend(fd, id, error, value, flags)
// -> 0 | errno (ENOENT: the target died or its call was interrupted meanwhile).
Napi::Value NotifSend(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  struct seccomp_notif_resp resp;
  memset(&resp, 0, sizeof resp);
  resp.id = ToU64(info[1]);
  resp.error = info[2].As<Napi::Number>().Int32Value();
  resp.val = ToI64(info[3]);
  resp.flags = info[4].As<Napi::Number>().Uint32Value();
  int rc;
  do rc = ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
  while (rc < 0 && errno == EINTR);
  return Napi::Number::New(info.Env(), rc < 0 ? errno : 0);
}

// notifIdValid(fd, id) -> true while the request's target still waits for the answer.
Napi::Value NotifIdValid(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  uint64_t id = ToU64(info[1]);
  return Napi::Boolean::New(info.Env(), ioctl(fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0);
}

// resolveSyscall(libseccompArch, nr) -> the name, or null if libseccomp has none.
Napi::Value ResolveSyscall(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string arch = info[0].As<Napi::String>().Utf8Value();
  int nr = info[1].As<Napi::Number>().Int32Value();
  uint32_t token = seccomp_arch_resolve_name(arch.c_str());
  if (token == 0) return env.Null();
  char* name = seccomp_syscall_resolve_num_arch(token, nr);
  if (!name) return env.Null();
  Napi::String s = Napi::String::New(env, name);
  free(name);
  return s;
}

// sendListener(socketPath, fd, payload) -> undefined; throws with errno and syscall.
// One message: the payload (the container process state JSON) and the fd as
// SCM_RIGHTS, as runc sends it. Non-blocking: an agent whose backlog is full
// is an error (EAGAIN), never a stalled event loop.
Napi::Value SendListener(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int fd = info[1].As<Napi::Number>().Int32Value();
  std::string payload = info[2].As<Napi::String>().Utf8Value();
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return ThrowErrno(env, ENAMETOOLONG, "connect", path.c_str());
  memcpy(addr.sun_path, path.c_str(), path.size());
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s < 0) return ThrowErrno(env, errno, "socket", path.c_str());
  if (connect(s, (struct sockaddr*)&addr, sizeof addr) < 0) {
    int e = errno;
    close(s);
    return ThrowErrno(env, e, "connect", path.c_str());
  }
  struct iovec iov = {const_cast<char*>(payload.data()), payload.size()};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  long n;
  do n = sendmsg(s, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  int e = errno;
  close(s);
  if (n < 0) return ThrowErrno(env, e, "sendmsg", path.c_str());
  if ((size_t)n != payload.size()) return ThrowErrno(env, EMSGSIZE, "sendmsg", path.c_str());
  return env.Undefined();
}

// recvWithFds(fd) -> null (nothing yet) | { eof: true } | { data: Buffer, fds: number[] }
// (every fd CLOEXEC, the receiver's to close).
Napi::Value RecvWithFds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  std::vector<char> data(64 * 1024);
  union {
    char buf[CMSG_SPACE(sizeof(int) * 16)];
    struct cmsghdr align;
  } control;
  struct iovec iov = {data.data(), data.size()};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  long n;
  do n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return env.Null();
    return ThrowErrno(env, errno, "recvmsg");
  }
  Napi::Object o = Napi::Object::New(env);
  if (n == 0) {
    o.Set("eof", true);
    return o;
  }
  Napi::Array fds = Napi::Array::New(env);
  uint32_t k = 0;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; i++) {
      int passed;
      memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof passed);
      fds.Set(k++, passed);
    }
  }
  o.Set("data", Napi::Buffer<char>::Copy(env, data.data(), (size_t)n));
  o.Set("fds", fds);
  return o;
}

}  // namespace berth
