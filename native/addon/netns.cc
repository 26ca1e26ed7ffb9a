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
};

void* RunJob(void* p) {
  Job* job = static_cast<Job*>(p);
  if (job->nsfd >= 0 && setns(job->nsfd, CLONE_NEWNET) < 0) {
    job->syscall = "setns";
    return reinterpret_cast<void*>((intptr_t)errno);
  }
  return reinterpret_cast<void*>((intptr_t)job->fn(job));
}

/** Runs job->fn in nsfd's namespace (nsfd < 0: right here, in the caller's); 0 or errno. */
int InNetns(Job* job) {
  if (job->nsfd < 0) return job->fn(job);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);  // the new thread inherits this mask
  pthread_t t;
  int rc = pthread_create(&t, &attr, RunJob, job);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    job->syscall = "pthread_create";
    return rc;
  }
  void* result = nullptr;
  pthread_join(t, &result);
  return (int)(intptr_t)result;
}

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

std::string NsLabel(int nsfd) { return nsfd < 0 ? std::string("the caller's netns") : "netns fd " + std::to_string(nsfd); }

}  // namespace

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

}  // namespace berth
