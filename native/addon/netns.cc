// Work inside another network namespace without ever moving a Node thread:
// a short-lived thread of our own setns()es into the namespace (a network
// namespace is per thread, and joining one is allowed in a multi-threaded
// process), does one thing and exits; the caller waits for it. What it makes
// keeps the namespace it was made in:
// - a NETLINK_ROUTE socket is bound to its creator's namespace for life, so
//   every later request on it, from any thread, acts there;
// - a /proc/sys/net file is looked up in the opener's namespace (procfs
//   resolves /proc/sys/net through current->nsproxy), so the sysctl is read
//   and written on that thread.
// A raw pthread, not std::thread: the addon is built with -fno-exceptions,
// where std::thread's failure to start (EAGAIN) would abort the process
// instead of becoming a JS error. All signals are blocked on it, so no signal
// of the process is ever handled on a thread that stands in another namespace.
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <napi.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <string>

#include "js_error.h"
#include "netns.h"

namespace berth {

namespace {

struct Job {
  int nsfd;
  int (*fn)(Job*);  // 0 or errno; sets `syscall` when it fails
  const char* syscall = nullptr;
  // Inputs and outputs of the jobs below.
  std::string path;
  std::string value;
  bool write = false;
  int fd = -1;
  // BindPort: the socket to try, and the port (in: asked, 0 = any; out: bound).
  int family = AF_INET;
  int type = SOCK_STREAM;
  unsigned char addr[16] = {};
  bool has_addr = false;
  int port = 0;
};

struct Trampoline {
  int nsfd;
  int (*fn)(void*);
  void* arg;
  const char* syscall = nullptr;
};

void* RunTrampoline(void* p) {
  Trampoline* t = static_cast<Trampoline*>(p);
  if (setns(t->nsfd, CLONE_NEWNET) < 0) {
    t->syscall = "setns";
    return reinterpret_cast<void*>((intptr_t)errno);
  }
  return reinterpret_cast<void*>((intptr_t)t->fn(t->arg));
}

int RunJobFn(void* p) {
  Job* job = static_cast<Job*>(p);
  return job->fn(job);
}

/** Runs job->fn in job->nsfd's namespace (nsfd < 0: right here, in the caller's); 0 or errno. */
int InNetns(Job* job) { return RunInNetns(job->nsfd, 256 * 1024, RunJobFn, job, &job->syscall); }

int OpenSocket(Job* job) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) {
    job->syscall = "socket";
    return errno;
  }
  struct sockaddr_nl sa = {};
  sa.nl_family = AF_NETLINK;  // nl_pid 0: the kernel picks the port id
  // Extended acks carry the kernel's reason as text; capped acks do not echo
  // our request back. A reply the kernel owes comes at once (rtnetlink runs
  // the request inside sendmsg): the timeout only turns a bug into an error.
  int one = 1;
  struct timeval tv = {5, 0};
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&sa), sizeof sa) < 0 ||
      setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one) < 0 ||
      setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one) < 0 ||
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) {
    int err = errno;
    close(fd);
    job->syscall = "setsockopt";
    return err;
  }
  job->fd = fd;
  return 0;
}

int Sysctl(Job* job) {
  std::string file = "/proc/sys/net/" + job->path;
  int fd = open(file.c_str(), (job->write ? O_WRONLY : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    job->syscall = "open";
    return errno;
  }
  int err = 0;
  if (job->write) {
    // One write: a sysctl handler parses one buffer, a short write is an error.
    ssize_t n;
    do n = write(fd, job->value.data(), job->value.size());
    while (n < 0 && errno == EINTR);
    if (n < 0) err = errno;
    else if ((size_t)n != job->value.size()) err = EIO;
    if (err) job->syscall = "write";
  } else {
    char buf[4096];
    ssize_t n;
    do n = read(fd, buf, sizeof buf);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
      err = errno;
      job->syscall = "read";
    } else {
      job->value.assign(buf, (size_t)n);
    }
  }
  close(fd);
  return err;
}

// Whether a port mapping's host port is free in this namespace: binds a
// socket of the protocol to it (port 0: the kernel picks one) and closes it.
// TCP sets SO_REUSEADDR, so only a listener (not a TIME_WAIT connection)
// makes the port taken; UDP does not, so any bound socket does. An IPv6 probe
// is V6ONLY: an IPv4 mapping and an IPv6 one are separate map elements.
int BindPort(Job* job) {
  int fd = socket(job->family, job->type | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    job->syscall = "socket";
    return errno;
  }
  int one = 1;
  if (job->type == SOCK_STREAM) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_storage ss = {};
  socklen_t len;
  if (job->family == AF_INET6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    struct sockaddr_in6* a = reinterpret_cast<struct sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)job->port);
    if (job->has_addr) memcpy(&a->sin6_addr, job->addr, 16);
    len = sizeof *a;
  } else {
    struct sockaddr_in* a = reinterpret_cast<struct sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)job->port);
    if (job->has_addr) memcpy(&a->sin_addr, job->addr, 4);
    len = sizeof *a;
  }
  int err = 0;
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&ss), len) < 0) {
    err = errno;
    job->syscall = "bind";
  } else {
    len = sizeof ss;
    if (getsockname(fd, reinterpret_cast<struct sockaddr*>(&ss), &len) < 0) {
      err = errno;
      job->syscall = "getsockname";
    } else {
      job->port = ntohs(job->family == AF_INET6 ? reinterpret_cast<struct sockaddr_in6*>(&ss)->sin6_port : reinterpret_cast<struct sockaddr_in*>(&ss)->sin_port);
    }
  }
  close(fd);
  return err;
}

std::string NsLabel(int nsfd) { return nsfd < 0 ? std::string("the caller's netns") : "netns fd " + std::to_string(nsfd); }

}  // namespace

int RunInNetns(int nsfd, size_t stack, int (*fn)(void*), void* arg, const char** syscall) {
  if (nsfd < 0) return fn(arg);
  Trampoline t{nsfd, fn, arg};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, stack);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);  // the new thread inherits this mask
  pthread_t tid;
  int rc = pthread_create(&tid, &attr, RunTrampoline, &t);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    *syscall = "pthread_create";
    return rc;
  }
  void* result = nullptr;
  pthread_join(tid, &result);
  if (t.syscall) *syscall = t.syscall;
  return (int)(intptr_t)result;
}

// netlinkOpen(nsFd): a NETLINK_ROUTE socket (CLOEXEC) in the namespace of
// nsFd (an fd of /proc/<pid>/ns/net or /run/netns/<name>; -1: the caller's).
Napi::Value NetlinkOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Job job;
  job.nsfd = info[0].As<Napi::Number>().Int32Value();
  job.fn = OpenSocket;
  int err = InNetns(&job);
  if (err) return ThrowErrno(env, err, job.syscall, NsLabel(job.nsfd).c_str());
  return Napi::Number::New(env, job.fd);
}

// netnsSysctl(nsFd, path, value?): writes value to /proc/sys/net/<path> inside
// the namespace, or (value undefined) returns what the file holds.
Napi::Value NetnsSysctl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Job job;
  job.nsfd = info[0].As<Napi::Number>().Int32Value();
  job.path = info[1].As<Napi::String>().Utf8Value();
  job.write = info.Length() > 2 && info[2].IsString();
  if (job.write) job.value = info[2].As<Napi::String>().Utf8Value();
  job.fn = Sysctl;
  std::string shown = "/proc/sys/net/" + job.path;
  // lib/ checks the key; this only keeps the path inside /proc/sys/net.
  if (job.path.empty() || job.path[0] == '/' || job.path.find("..") != std::string::npos) return ThrowErrno(env, EINVAL, "open", shown.c_str());
  int err = InNetns(&job);
  if (err) {
    if (strcmp(job.syscall, "setns") == 0 || strcmp(job.syscall, "pthread_create") == 0) shown = NsLabel(job.nsfd);
    return ThrowErrno(env, err, job.syscall, shown.c_str());
  }
  if (job.write) return env.Undefined();
  return Napi::String::New(env, job.value);
}

// netnsBindPort(nsFd, family, protocol, address | null, port): the port a
// socket of that protocol can bind in the namespace (port 0: one the kernel
// picks); throws EADDRINUSE when a socket there holds it.
Napi::Value NetnsBindPort(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Job job;
  job.nsfd = info[0].As<Napi::Number>().Int32Value();
  job.family = info[1].As<Napi::Number>().Int32Value() == 6 ? AF_INET6 : AF_INET;
  job.type = info[2].As<Napi::String>().Utf8Value() == "udp" ? SOCK_DGRAM : SOCK_STREAM;
  if (info[3].IsBuffer()) {
    Napi::Buffer<uint8_t> a = info[3].As<Napi::Buffer<uint8_t>>();
    size_t want = job.family == AF_INET6 ? 16 : 4;
    if (a.Length() != want) return ThrowErrno(env, EINVAL, "bind");
    memcpy(job.addr, a.Data(), want);
    job.has_addr = true;
  }
  job.port = info[4].As<Napi::Number>().Int32Value();
  if (job.port < 0 || job.port > 65535) return ThrowErrno(env, EINVAL, "bind");
  job.fn = BindPort;
  int err = InNetns(&job);
  if (err) return ThrowErrno(env, err, job.syscall, (strcmp(job.syscall, "setns") == 0 || strcmp(job.syscall, "pthread_create") == 0) ? NsLabel(job.nsfd).c_str() : nullptr);
  return Napi::Number::New(env, job.port);
}

}  // namespace berth
