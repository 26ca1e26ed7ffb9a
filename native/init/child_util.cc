// The small async-signal-safe helpers every step of the child shares: raw
// syscalls and plain loops over memory prepared before clone, nothing that
// allocates, locks or touches stdio.
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "child.h"

namespace berth {

unsigned cstrlen(const char* s) {
  unsigned n = 0;
  while (s[n]) n++;
  return n;
}

char* cstrcpy(char* dst, const char* src, char* end) {
  while (*src && dst < end - 1) *dst++ = *src++;
  *dst = '\0';
  return dst;
}

char* format_uint(char* dst, unsigned long v, char* end) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = char('0' + v % 10);
    v /= 10;
  } while (v && n < 24);
  while (n && dst < end - 1) *dst++ = tmp[--n];
  *dst = '\0';
  return dst;
}

void zero_bytes(void* p, unsigned long n) {
  char* d = static_cast<char*>(p);
  for (unsigned long i = 0; i < n; i++) d[i] = 0;
}

void init_msg(Msg* m, MsgKind kind) {
  zero(m);
  m->kind = kind;
}

int write_file(const char* path, const char* value, Step step, Failure* f) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    *f = {step, errno, SC_OPEN, path};
    return -1;
  }
  if (write_and_close(fd, value) < 0) {
    *f = {step, errno, SC_WRITE, path};
    return -1;
  }
  return 0;
}

int write_and_close(int fd, const char* value) {
  long n = write(fd, value, cstrlen(value));
  int saved = errno;
  close(fd);
  errno = saved;
  return n < 0 ? -1 : 0;
}

// With RESOLVE_IN_ROOT a path that walks ".." fails with EAGAIN when any
// mount or rename happened anywhere on the system meanwhile (the kernel cannot
// prove the walk stayed inside); it is meant to be retried. Other containers
// being set up at the same time make that common, so retry a bounded number of times.
int openat2_in_root(int dirfd, const char* path, int flags) {
  struct open_how how;
  zero(&how);
  how.flags = (uint64_t)flags;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  for (int attempt = 0;; attempt++) {
    int fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (fd >= 0 || (errno != EAGAIN && errno != EINTR) || attempt >= 256) return fd;
  }
}

int send_fd(int sync_fd, MsgKind kind, int fd) {
  Msg m;
  init_msg(&m, kind);
  struct iovec iov = {&m, sizeof m};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  zero(&control);
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  char* src = reinterpret_cast<char*>(&fd);
  char* dst = reinterpret_cast<char*>(CMSG_DATA(c));
  for (unsigned i = 0; i < sizeof(int); i++) dst[i] = src[i];
  return (int)sendmsg(sync_fd, &msg, MSG_NOSIGNAL);
}

}  // namespace berth
