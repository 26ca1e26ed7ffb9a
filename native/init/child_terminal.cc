// process.terminal: a pty from the container's own /dev/pts (so `tty` prints a
// path that exists inside), the controlling terminal of the process's own
// session, on 0-2.
// The master goes to the parent over the sync socket (SCM_RIGHTS).
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "child.h"

namespace berth {

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
