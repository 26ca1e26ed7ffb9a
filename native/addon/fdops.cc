// Small non-blocking fd operations the JS layer needs and Node does not offer:
// pipes it can hand to the child, the sync socket's messages, pidfd reaping and
// signalling, eventfd. None of them blocks the event loop.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "js_error.h"
#include "protocol.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace berth {

Napi::Value Pipe(const Napi::CallbackInfo& info) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return ThrowErrno(info.Env(), errno, "pipe2");
  Napi::Array a = Napi::Array::New(info.Env(), 2);
  a.Set(0u, p[0]);
  a.Set(1u, p[1]);
  return a;
}

Napi::Value Close(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  if (fd >= 0) close(fd);
  return info.Env().Undefined();
}

// recvMessage(fd) -> null (nothing yet) | { eof: true } | { kind, step, errno, syscall, detail }
Napi::Value RecvMessage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  Msg m{};
  struct iovec iov = {&m, sizeof m};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  long n;
  do n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return env.Null();
    if (errno == ECONNRESET) n = 0;
    else return ThrowErrno(env, errno, "recvmsg");
  }
  Napi::Object o = Napi::Object::New(env);
  if (n == 0) {
    o.Set("eof", true);
    return o;
  }
  m.detail[sizeof m.detail - 1] = '\0';
  o.Set("kind", m.kind);
  o.Set("step", m.step);
  o.Set("errno", m.err);
  o.Set("syscall", m.syscall);
  o.Set("detail", Napi::String::New(env, m.detail));
  o.Set("value", m.value);
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int passed;
      memcpy(&passed, CMSG_DATA(c), sizeof passed);
      o.Set("fd", passed);
    }
  }
  return o;
}

// setWindowSize(fd, cols, rows) -> 0 | errno
Napi::Value SetWindowSize(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  struct winsize ws = {};
  ws.ws_col = (unsigned short)info[1].As<Napi::Number>().Uint32Value();
  ws.ws_row = (unsigned short)info[2].As<Napi::Number>().Uint32Value();
  return Napi::Number::New(info.Env(), ioctl(fd, TIOCSWINSZ, &ws) < 0 ? errno : 0);
}

// sendMessage(fd, kind) -> 0 | errno
Napi::Value SendMessage(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  Msg m{};
  m.kind = info[1].As<Napi::Number>().Uint32Value();
  long n;
  do n = send(fd, &m, sizeof m, MSG_DONTWAIT | MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return Napi::Number::New(info.Env(), n < 0 ? errno : 0);
}

// reap(pidfd) -> null (still running) | { exitCode, signal }
Napi::Value Reap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int pidfd = info[0].As<Napi::Number>().Int32Value();
  siginfo_t si{};
  int rc;
  do rc = waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED | WNOHANG);
  while (rc < 0 && errno == EINTR);
  if (rc < 0) return ThrowErrno(env, errno, "waitid");
  if (si.si_pid == 0) return env.Null();
  Napi::Object o = Napi::Object::New(env);
  if (si.si_code == CLD_EXITED) {
    o.Set("exitCode", si.si_status);
    o.Set("signal", env.Null());
  } else {
    o.Set("exitCode", env.Null());
    o.Set("signal", si.si_status);
    o.Set("coreDumped", si.si_code == CLD_DUMPED);
  }
  return o;
}

// pidfdSignal(pidfd, sig) -> 0 | errno (ESRCH: already gone)
Napi::Value PidfdSignal(const Napi::CallbackInfo& info) {
  int pidfd = info[0].As<Napi::Number>().Int32Value();
  int sig = info[1].As<Napi::Number>().Int32Value();
  long rc = syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0);
  return Napi::Number::New(info.Env(), rc < 0 ? errno : 0);
}

// pidfdOpen(pid) -> fd (CLOEXEC)
Napi::Value PidfdOpen(const Napi::CallbackInfo& info) {
  int pid = info[0].As<Napi::Number>().Int32Value();
  long fd = syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) return ThrowErrno(info.Env(), errno, "pidfd_open");
  return Napi::Number::New(info.Env(), (double)fd);
}

Napi::Value EventFd(const Napi::CallbackInfo& info) {
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return ThrowErrno(info.Env(), errno, "eventfd");
  return Napi::Number::New(info.Env(), fd);
}

// readEventFd(fd) -> count (0 when nothing pending)
Napi::Value ReadEventFd(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  uint64_t v = 0;
  if (read(fd, &v, sizeof v) != sizeof v) v = 0;
  return Napi::Number::New(info.Env(), (double)v);
}

}  // namespace berth
