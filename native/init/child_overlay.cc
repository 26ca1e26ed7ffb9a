// The overlay rootfs: the image's layers (read-only) under the container's
// writable layer, mounted at the plan's rootfs directory inside the child's
// own mount namespace — the host never sees the union, and it goes away with
// the namespace. fsopen/fsconfig so each layer is one parameter ("lowerdir+",
// Linux 6.8+: no page-size limit on the layer list, no escaping); on older
// kernels lib/ plans one mount(2) with the option string instead.
// The kernel's own words on a refusal ("overlayfs: upper fs does not support
// ...") are read from the fs context into the failure's detail.
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "child.h"

namespace berth {

namespace {

char g_fs_message[512];  // the kernel's message of a failed fsconfig, for the error

int sys_fsopen(const char* fs, unsigned flags) { return (int)syscall(SYS_fsopen, fs, flags); }
int sys_fsconfig(int fd, unsigned cmd, const char* key, const void* value, int aux) {
  return (int)syscall(SYS_fsconfig, fd, cmd, key, value, aux);
}
int sys_fsmount(int fd, unsigned flags, unsigned attrs) { return (int)syscall(SYS_fsmount, fd, flags, attrs); }

// "what: message" from the fs context's log (lines "e overlayfs: ..."), else `what`.
const char* kernel_message(int fsfd, const char* what) {
  char* b = g_fs_message;
  char* lim = g_fs_message + sizeof g_fs_message;
  b = cstrcpy(b, what, lim);
  char line[256];
  ssize_t n = read(fsfd, line, sizeof line - 1);
  if (n > 2) {
    line[n] = 0;
    b = cstrcpy(b, ": ", lim);
    cstrcpy(b, line + 2, lim);  // past the "e " severity
  }
  return g_fs_message;
}

int set_string(int fsfd, const char* key, const char* value, const char* what, Failure* f) {
  if (sys_fsconfig(fsfd, FSCONFIG_SET_STRING, key, value, 0) == 0) return 0;
  int err = errno;
  *f = {STEP_ROOTFS_OVERLAY, err, SC_FSCONFIG, kernel_message(fsfd, what)};
  return -1;
}

int set_flag(int fsfd, const char* key, Failure* f) {
  if (sys_fsconfig(fsfd, FSCONFIG_SET_FLAG, key, nullptr, 0) == 0) return 0;
  int err = errno;
  *f = {STEP_ROOTFS_OVERLAY, err, SC_FSCONFIG, kernel_message(fsfd, key)};
  return -1;
}

int configure(const Plan* p, int fsfd, Failure* f) {
  for (int i = 0; i < p->noverlay_lower; i++)
    if (set_string(fsfd, "lowerdir+", p->overlay_lower[i], p->overlay_lower[i], f) < 0) return -1;
  if (p->overlay_upper) {
    if (set_string(fsfd, "upperdir", p->overlay_upper, p->overlay_upper, f) < 0) return -1;
    if (set_string(fsfd, "workdir", p->overlay_work, p->overlay_work, f) < 0) return -1;
  }
  // index=off: no inode index across mounts (layers are shared by containers, and
  // a copied layer must not be refused as "already in use"); volatile: a throwaway
  // writable layer skips every sync.
  if (set_string(fsfd, "index", "off", "index=off", f) < 0) return -1;
  if (p->overlay_volatile && p->overlay_upper && set_flag(fsfd, "volatile", f) < 0) return -1;
  // In a user namespace overlay keeps its whiteouts and opaque marks as user.* xattrs.
  if (p->unshare_userns && set_flag(fsfd, "userxattr", f) < 0) return -1;
  if (sys_fsconfig(fsfd, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0) {
    int err = errno;
    *f = {STEP_ROOTFS_OVERLAY, err, SC_FSCONFIG, kernel_message(fsfd, "overlay")};
    return -1;
  }
  return 0;
}

}  // namespace

int mount_overlay_rootfs(const Plan* p, Failure* f) {
  if (p->overlay_data) {
    if (mount("overlay", p->rootfs, "overlay", 0, p->overlay_data) < 0) {
      *f = {STEP_ROOTFS_OVERLAY, errno, SC_MOUNT, p->rootfs};
      return -1;
    }
    return 0;
  }
  int fsfd = sys_fsopen("overlay", FSOPEN_CLOEXEC);
  if (fsfd < 0) {
    *f = {STEP_ROOTFS_OVERLAY, errno, SC_FSOPEN, "overlay"};
    return -1;
  }
  int rc = configure(p, fsfd, f);
  int mnt = rc < 0 ? -1 : sys_fsmount(fsfd, FSMOUNT_CLOEXEC, 0);
  if (rc == 0 && mnt < 0) {
    *f = {STEP_ROOTFS_OVERLAY, errno, SC_FSMOUNT, p->rootfs};
    rc = -1;
  }
  close(fsfd);
  if (rc < 0) return -1;
  if (sys_move_mount(mnt, "", AT_FDCWD, p->rootfs, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
    *f = {STEP_ROOTFS_OVERLAY, errno, SC_MOVE_MOUNT, p->rootfs};
    close(mnt);
    return -1;
  }
  close(mnt);
  return 0;
}

}  // namespace berth
