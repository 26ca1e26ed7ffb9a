// HOME for a process whose env has none: the home directory of its uid in the
// container's /etc/passwd, else "/" — what runc (and so every engine's user)
// gives. Read after the container's root is in place (pivot_root, or the
// setns of an exec), so it is the container's file, never the host's.
// No allocation: one static buffer for the file, one for the variable.
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "child.h"

namespace berth {

namespace {

char g_passwd[64 * 1024];  // a larger file is read in part: entries past it are not found
char g_home[4096 + 6];     // "HOME=" + the path

// The unsigned decimal in [b, e), or -1 when it is not one.
long parse_uid(const char* b, const char* e) {
  if (b == e) return -1;
  long v = 0;
  for (const char* c = b; c < e; c++) {
    if (*c < '0' || *c > '9' || v > 0xffffffffL) return -1;
    v = v * 10 + (*c - '0');
  }
  return v;
}

// The home field of uid's line in buf[0..len), or nullptr; *home_len its length.
const char* find_home(const char* buf, long len, unsigned uid, long* home_len) {
  for (const char* line = buf; line < buf + len;) {
    const char* end = line;
    while (end < buf + len && *end != '\n') end++;
    // name:password:uid:gid:gecos:home:shell
    const char* field[7] = {};
    const char* field_end[7] = {};
    int n = 0;
    field[0] = line;
    for (const char* c = line; c <= end && n < 7; c++) {
      if (c == end || *c == ':') {
        field_end[n] = c;
        if (++n < 7) field[n] = c + 1;
      }
    }
    if (n >= 6 && parse_uid(field[2], field_end[2]) == (long)uid && field_end[5] > field[5]) {
      *home_len = field_end[5] - field[5];
      return field[5];
    }
    line = end + 1;
  }
  return nullptr;
}

}  // namespace

void lookup_home(unsigned uid) {
  const char* home = "/";
  long home_len = 1;
  int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd >= 0) {
    long len = 0;
    while (len < (long)sizeof g_passwd) {
      ssize_t r = read(fd, g_passwd + len, sizeof g_passwd - len);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      len += r;
    }
    close(fd);
    long found_len = 0;
    const char* found = find_home(g_passwd, len, uid, &found_len);
    if (found && found_len < (long)sizeof g_home - 6) {
      home = found;
      home_len = found_len;
    }
  }
  char* b = g_home;
  for (const char* c = "HOME="; *c; c++) *b++ = *c;
  for (long i = 0; i < home_len; i++) *b++ = home[i];
  *b = 0;
}

const char* home_env() { return g_home[0] ? g_home : nullptr; }

}  // namespace berth
