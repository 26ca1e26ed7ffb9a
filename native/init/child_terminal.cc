// process.terminal: a pty from the container's own /dev/pts (so `tty` prints a
// path that exists inside), the controlling terminal of the process's own
// session, on 0-2.
// The master goes to the parent over the sync socket (SCM_RIGHTS). A
// container's init also gets it at /dev/console, as runc does: programs that
// write to the console (init systems, getty, `echo > /dev/console`) reach the
// terminal the caller reads, not the host's console or nothing.
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "child.h"

namespace berth {

namespace {

// Binds the pty slave /dev/pts/<n> onto /dev/console (made as an empty file
// when missing; a symlink there is refused, so the bind cannot land elsewhere).
int bind_console(int master, Failure* f) {
  unsigned n = 0;
  if (ioctl(master, TIOCGPTN, &n) < 0) {
    *f = {STEP_TERMINAL, errno, SC_IOCTL, "TIOCGPTN"};
    return -1;
  }
  char pts[32] = "/dev/pts/";
  char digits[12];
  int len = 0;
  do digits[len++] = (char)('0' + n % 10);
  while ((n /= 10) && len < (int)sizeof digits);
  char* b = pts + 9;
  while (len) *b++ = digits[--len];
  *b = 0;
  static const char kConsole[] = "/dev/console";
  int made = open(kConsole, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (made >= 0) close(made);
  else if (errno != EEXIST) {
    *f = {STEP_TERMINAL, errno, SC_OPEN, kConsole};
    return -1;
  }
  int dest = open(kConsole, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (dest < 0 || fstat(dest, &st) < 0) {
    *f = {STEP_TERMINAL, errno, SC_OPEN, kConsole};
    return -1;
  }
  if (S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode)) {
    *f = {STEP_TERMINAL, ELOOP, SC_OPEN, kConsole};
    return -1;
  }
  int tree = sys_open_tree(AT_FDCWD, pts, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree < 0) {
    *f = {STEP_TERMINAL, errno, SC_OPEN_TREE, "/dev/pts"};
    return -1;
  }
  if (sys_move_mount(tree, "", dest, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
    *f = {STEP_TERMINAL, errno, SC_MOVE_MOUNT, kConsole};
    return -1;
  }
  close(tree);
  close(dest);
  return 0;
}

}  // namespace

int setup_terminal(const Plan* p, int sync_fd, Failure* f) {
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) {
    *f = {STEP_TERMINAL, errno, SC_OPEN, "/dev/ptmx"};
    return -1;
  }
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) {
    *f = {STEP_TERMINAL, errno, SC_IOCTL, "/dev/ptmx"};
    return -1;
  }
  // TIOCGPTPEER opens the peer of *this* master without a path lookup.
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (slave < 0) {
    *f = {STEP_TERMINAL, errno, SC_IOCTL, "TIOCGPTPEER"};
    return -1;
  }
  if (p->console_width && p->console_height) {
    struct winsize ws = {};
    ws.ws_col = p->console_width;
    ws.ws_row = p->console_height;
    if (ioctl(slave, TIOCSWINSZ, &ws) < 0) {
      *f = {STEP_TERMINAL, errno, SC_IOCTL, "TIOCSWINSZ"};
      return -1;
    }
  }
  // The user owns its terminal (devpts gives root:tty 0620).
  if (fchown(slave, p->uid, (gid_t)-1) < 0) {
    *f = {STEP_TERMINAL, errno, SC_FCHOWNAT, "/dev/pts"};
    return -1;
  }
  if (p->setup_rootfs && p->join_pidfd < 0 && bind_console(master, f) < 0) return -1;
  if (send_fd(sync_fd, MSG_PTY, master) < 0) {
    *f = {STEP_TERMINAL, errno, SC_SENDMSG, nullptr};
    return -1;
  }
  close(master);
  // The process leads a session of its own already (child_main): this makes
  // the pty that session's controlling terminal.
  if (ioctl(slave, TIOCSCTTY, 0) < 0) {
    *f = {STEP_TERMINAL, errno, SC_IOCTL, "TIOCSCTTY"};
    return -1;
  }
  for (int i = 0; i < 3; i++) {
    if (dup3(slave, i, 0) < 0) {
      *f = {STEP_TERMINAL, errno, SC_DUP, nullptr};
      return -1;
    }
  }
  if (slave > 2) close(slave);
  return 0;
}

}  // namespace berth
