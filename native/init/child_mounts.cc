// Root filesystem setup in the child: make the mount tree private, bind the
// rootfs onto itself, attach every mount at a destination resolved *inside* the
// rootfs (openat2 RESOLVE_IN_ROOT: a symlink in the rootfs can never lead a
// mount out of it), create device nodes and links, write sysctls, mask and
// lock paths, pivot_root, then make the root read-only if asked.
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "child.h"

namespace berth {

int sys_open_tree(int dirfd, const char* path, unsigned flags) {
  return (int)syscall(SYS_open_tree, dirfd, path, flags);
}

int sys_move_mount(int from_dirfd, const char* from, int to_dirfd, const char* to, unsigned flags) {
  return (int)syscall(SYS_move_mount, from_dirfd, from, to_dirfd, to, flags);
}

namespace {

int sys_mount_setattr(int dirfd, const char* path, unsigned flags, struct mount_attr* attr) {
  return (int)syscall(SYS_mount_setattr, dirfd, path, flags, attr, sizeof *attr);
}

// Opens `path` (absolute, container view) relative to the rootfs, creating
// missing directories on the way and, if `last_is_file`, the last component as
// an empty file. Every lookup is confined to the rootfs. A dangling symlink on
// the way is followed *inside* the rootfs: its target is created there (depth
// bounded like the kernel's 40 link limit, but tighter: 8).
int open_in_root_depth(int rootfd, const char* path, int create, int last_is_file, Failure* f, Step step, const char* orig,
                       int depth) {
  char buf[4096];
  const char* s = path;
  while (*s == '/') s++;
  char* end = cstrcpy(buf, s, buf + sizeof buf);
  while (end > buf && end[-1] == '/') *--end = '\0';
  if (buf[0] == '\0') {
    int fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) *f = {step, errno, SC_DUP, orig};
    return fd;
  }
  int fd = openat2_in_root(rootfd, buf, O_PATH | O_CLOEXEC);
  if (fd >= 0 || errno != ENOENT || !create) {
    if (fd < 0) *f = {step, errno, SC_OPENAT2, orig};
    return fd;
  }
  // Walk the components, creating what is missing.
  int parent = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
  if (parent < 0) {
    *f = {step, errno, SC_DUP, orig};
    return -1;
  }
  char* comp = buf;
  for (;;) {
    char* slash = comp;
    while (*slash && *slash != '/') slash++;
    int last = (*slash == '\0');
    *slash = '\0';
    if (comp[0] != '\0') {
      int next = openat2_in_root(parent, comp, O_PATH | O_CLOEXEC);
      if (next < 0 && errno == ENOENT) {
        int rc;
        if (last && last_is_file) rc = mknodat(parent, comp, S_IFREG | 0644, 0);
        else rc = mkdirat(parent, comp, 0755);
        if (rc < 0 && errno != EEXIST) {
          *f = {step, errno, (last && last_is_file) ? SC_MKNODAT : SC_MKDIRAT, orig};
          close(parent);
          return -1;
        }
        next = openat2_in_root(parent, comp, O_PATH | O_CLOEXEC);
        if (next < 0 && errno == ENOENT && depth < 8) {
          // `comp` is a dangling symlink: rewrite the path through its target
          // (relative targets stay relative to the directory holding the link).
          char link[4096];
          long n = readlinkat(parent, comp, link, sizeof link - 1);
          if (n > 0) {
            link[n] = '\0';
            char next_path[4096];
            char* e = next_path;
            char* lim = next_path + sizeof next_path;
            if (link[0] != '/') {
              *e++ = '/';
              if (comp > buf) {
                comp[-1] = '\0';
                e = cstrcpy(e, buf, lim);
                comp[-1] = '/';
                e = cstrcpy(e, "/", lim);
              }
            }
            e = cstrcpy(e, link, lim);
            if (!last) {
              e = cstrcpy(e, "/", lim);
              e = cstrcpy(e, slash + 1, lim);
            }
            close(parent);
            return open_in_root_depth(rootfd, next_path, create, last_is_file, f, step, orig, depth + 1);
          }
          errno = ENOENT;
        }
      }
      if (next < 0) {
        *f = {step, errno, SC_OPENAT2, orig};
        close(parent);
        return -1;
      }
      close(parent);
      parent = next;
    }
    if (last) return parent;
    *slash = '/';
    comp = slash + 1;
  }
}

int open_in_root(int rootfd, const char* path, int create, int last_is_file, Failure* f, Step step) {
  return open_in_root_depth(rootfd, path, create, last_is_file, f, step, path, 0);
}

// "/proc/self/fd/N": a path that mount(2) resolves to exactly the opened inode.
void fd_path(char* buf, unsigned size, int fd) {
  char* e = cstrcpy(buf, "/proc/self/fd/", buf + size);
  format_uint(e, (unsigned long)fd, buf + size);
}

// The new mount API's bind: clone the mount at (dirfd, path) (recursively if
// asked), set its attributes while it is still detached, attach it onto
// destfd. Returns 0, or -1 with errno and *sc naming the syscall that failed.
int clone_onto(int dirfd, const char* path, int recursive, uint64_t attr_set, uint64_t propagation, int destfd,
               SyscallId* sc) {
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0) | (path[0] ? 0 : AT_EMPTY_PATH);
  int tree = sys_open_tree(dirfd, path, flags);
  if (tree < 0) return *sc = SC_OPEN_TREE, -1;
  int rc = 0;
  unsigned at = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
  if (attr_set) {
    struct mount_attr attr = {};
    attr.attr_set = attr_set;
    // An atime mode (noatime, strictatime) replaces the current one: the kernel
    // takes it only with the whole atime field cleared (EINVAL otherwise).
    if (attr_set & MOUNT_ATTR__ATIME) attr.attr_clr = MOUNT_ATTR__ATIME;
    rc = sys_mount_setattr(tree, "", at, &attr);
    if (rc < 0) *sc = SC_MOUNT_SETATTR;
  }
  if (rc == 0) {
    rc = sys_move_mount(tree, "", destfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
    if (rc < 0) *sc = SC_MOVE_MOUNT;
  }
  // Propagation once attached, by the classic call on the attached mount (the
  // tree fd is it now): mount_setattr refuses to make a bind clone shared (EINVAL).
  if (rc == 0 && propagation) {
    char target[64];
    fd_path(target, sizeof target, tree);
    rc = mount(nullptr, target, nullptr, (unsigned long)propagation | (recursive ? MS_REC : 0), nullptr);
    if (rc < 0) *sc = SC_MOUNT;
  }
  int saved = errno;
  close(tree);
  errno = saved;
  return rc;
}

int attach_bind(int destfd, const MountSpec* m, Failure* f) {
  SyscallId sc = SC_NONE;
  if (clone_onto(AT_FDCWD, m->source, m->recursive, m->attr_set, m->propagation, destfd, &sc) < 0) {
    *f = {STEP_MOUNT, errno, sc, sc == SC_OPEN_TREE ? m->source : m->destination};
    return -1;
  }
  return 0;
}

int attach_fs(int destfd, const MountSpec* m, Failure* f) {
  char target[64];
  fd_path(target, sizeof target, destfd);
  const char* source = m->source ? m->source : m->type;
  if (mount(source, target, m->type, m->flags, m->data) < 0) {
    *f = {STEP_MOUNT, errno, SC_MOUNT, m->destination};
    return -1;
  }
  return 0;
}

// An idmapped tree the parent made (attributes set, detached): only attached here.
int attach_tree(int tree_index, int destfd, const char* dest, Failure* f) {
  if (tree_index < 0 || tree_index >= g_ntrees) {
    *f = {STEP_MOUNT, EBADF, SC_MOVE_MOUNT, dest};
    return -1;
  }
  if (sys_move_mount(g_trees[tree_index], "", destfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
    *f = {STEP_MOUNT, errno, SC_MOVE_MOUNT, dest};
    return -1;
  }
  return 0;
}

int do_mounts(const Plan* p, int rootfd, Failure* f) {
  for (int i = 0; i < p->nmounts; i++) {
    const MountSpec* m = &p->mounts[i];
    int destfd = open_in_root(rootfd, m->destination, 1, m->dest_is_file, f, STEP_MOUNT);
    if (destfd < 0) return -1;
    int rc = m->tree >= 0 ? attach_tree(m->tree, destfd, m->destination, f)
             : m->kind == MOUNT_BIND ? attach_bind(destfd, m, f) : attach_fs(destfd, m, f);
    close(destfd);
    if (rc < 0) return -1;
  }
  return 0;
}

// Splits an absolute container path into a parent dirfd (created, inside the
// rootfs) and the last component.
int open_parent(int rootfd, const char* path, char* name, unsigned size, Failure* f, Step step) {
  char dir[4096];
  cstrcpy(dir, path, dir + sizeof dir);
  char* slash = nullptr;
  for (char* c = dir; *c; c++)
    if (*c == '/') slash = c;
  if (!slash || slash[1] == '\0') {
    *f = {step, EINVAL, SC_NONE, path};
    return -1;
  }
  cstrcpy(name, slash + 1, name + size);
  *slash = '\0';
  return open_in_root(rootfd, dir[0] ? dir : "/", 1, 0, f, step);
}

// In a user namespace mknod is refused: each node is the host's own, bound
// onto a file made for it (runc and crun do the same).
int bind_devices(const Plan* p, int rootfd, Failure* f) {
  for (int i = 0; i < p->ndevices; i++) {
    const DeviceSpec* d = &p->devices[i];
    int destfd = open_in_root(rootfd, d->path, 1, 1, f, STEP_DEVICES);
    if (destfd < 0) return -1;
    SyscallId sc = SC_NONE;
    int rc = clone_onto(AT_FDCWD, d->path, 0, 0, 0, destfd, &sc);
    int saved = errno;
    close(destfd);
    if (rc < 0) {
      *f = {STEP_DEVICES, saved, sc, d->path};
      return -1;
    }
  }
  return 0;
}

int make_devices(const Plan* p, int rootfd, Failure* f) {
  if (p->bind_devices) return bind_devices(p, rootfd, f);
  for (int i = 0; i < p->ndevices; i++) {
    const DeviceSpec* d = &p->devices[i];
    char name[256];
    int dirfd = open_parent(rootfd, d->path, name, sizeof name, f, STEP_DEVICES);
    if (dirfd < 0) return -1;
    unlinkat(dirfd, name, 0);  // a rootfs may ship a stale node or file there
    int rc = mknodat(dirfd, name, d->mode, d->dev);
    if (rc < 0) {
      *f = {STEP_DEVICES, errno, SC_MKNODAT, d->path};
      close(dirfd);
      return -1;
    }
    if ((d->uid || d->gid) && fchownat(dirfd, name, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0) {
      *f = {STEP_DEVICES, errno, SC_FCHOWNAT, d->path};
      close(dirfd);
      return -1;
    }
    close(dirfd);
  }
  return 0;
}

int make_links(const Plan* p, int rootfd, Failure* f) {
  for (int i = 0; i < p->nlinks; i++) {
    char name[256];
    int dirfd = open_parent(rootfd, p->links[i].path, name, sizeof name, f, STEP_SYMLINKS);
    if (dirfd < 0) return -1;
    int rc = symlinkat(p->links[i].target, dirfd, name);
    int saved = errno;
    close(dirfd);
    if (rc < 0 && saved != EEXIST) {
      *f = {STEP_SYMLINKS, saved, SC_SYMLINKAT, p->links[i].path};
      return -1;
    }
  }
  return 0;
}

// pivot_root(".", ".") stacks the old root on top of the new one; detaching it
// leaves only the container's tree. An initramfs root cannot be pivoted away
// from (EINVAL): then move the rootfs over / and chroot, as switch_root does.
int enter_root(const Plan* p, Failure* f) {
  if (chdir(p->rootfs) < 0) {
    *f = {STEP_PIVOT_ROOT, errno, SC_CHDIR, p->rootfs};
    return -1;
  }
  if (syscall(SYS_pivot_root, ".", ".") == 0) {
    // The old root must not propagate the detach to the host.
    if (mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0) {
      *f = {STEP_PIVOT_ROOT, errno, SC_MOUNT, "/"};
      return -1;
    }
    if (umount2(".", MNT_DETACH) < 0) {
      *f = {STEP_PIVOT_ROOT, errno, SC_UMOUNT2, "/"};
      return -1;
    }
  } else {
    if (errno != EINVAL) {
      *f = {STEP_PIVOT_ROOT, errno, SC_PIVOT_ROOT, p->rootfs};
      return -1;
    }
    if (mount(".", "/", nullptr, MS_MOVE, nullptr) < 0) {
      *f = {STEP_PIVOT_ROOT, errno, SC_MOUNT, p->rootfs};
      return -1;
    }
    if (chroot(".") < 0) {
      *f = {STEP_PIVOT_ROOT, errno, SC_CHROOT, p->rootfs};
      return -1;
    }
  }
  if (chdir("/") < 0) {
    *f = {STEP_PIVOT_ROOT, errno, SC_CHDIR, "/"};
    return -1;
  }
  return 0;
}

// A bind remount keeps the flags the kernel locked on the original mount.
unsigned long kept_flags(const char* path) {
  struct statvfs sv;
  if (statvfs(path, &sv) < 0) return 0;
  unsigned long keep = 0;
  if (sv.f_flag & ST_NOSUID) keep |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) keep |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) keep |= MS_NOEXEC;
  return keep;
}

// Masking and locking happen before pivot_root, on paths resolved inside the
// rootfs, while the host's /dev/null can still be cloned as a bind source.
int mask_paths(const Plan* p, int rootfd, Failure* f) {
  for (int i = 0; i < p->nmasked; i++) {
    const char* path = p->masked[i];
    int fd = open_in_root(rootfd, path, 0, 0, f, STEP_MASKED_PATHS);
    if (fd < 0) {
      if (f->err == ENOENT) continue;
      return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
      *f = {STEP_MASKED_PATHS, errno, SC_OPEN, path};
      close(fd);
      return -1;
    }
    int rc;
    SyscallId sc = SC_NONE;
    if (S_ISDIR(st.st_mode)) {
      char target[64];
      fd_path(target, sizeof target, fd);
      rc = mount("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0k");
      sc = SC_MOUNT;
    } else {
      rc = clone_onto(AT_FDCWD, "/dev/null", 0, 0, 0, fd, &sc);
    }
    int saved = errno;
    close(fd);
    if (rc < 0) {
      *f = {STEP_MASKED_PATHS, saved, sc, path};
      return -1;
    }
  }
  return 0;
}

int lock_paths(const Plan* p, int rootfd, Failure* f) {
  for (int i = 0; i < p->nreadonly; i++) {
    const char* path = p->readonly[i];
    int fd = open_in_root(rootfd, path, 0, 0, f, STEP_READONLY_PATHS);
    if (fd < 0) {
      if (f->err == ENOENT) continue;
      return -1;
    }
    SyscallId sc = SC_NONE;
    int rc = clone_onto(fd, "", 1, MOUNT_ATTR_RDONLY, 0, fd, &sc);
    int saved = errno;
    close(fd);
    if (rc < 0) {
      *f = {STEP_READONLY_PATHS, saved, sc, path};
      return -1;
    }
  }
  return 0;
}

// The requested propagation, applied to the container's own root once it is
// "/" and the host's tree is detached: 'shared' then means peers inside the
// container only. Applied to the tree before pivot_root it would be the host's
// mounts' propagation: a shared tree carries every container mount back to the
// host's peers (and makes pivot_root fail with EINVAL).
int apply_root_propagation(const Plan* p, Failure* f) {
  if (!p->rootfs_propagation) return 0;
  if (mount(nullptr, "/", nullptr, p->rootfs_propagation, nullptr) < 0) {
    *f = {STEP_MOUNT_PROPAGATION, errno, SC_MOUNT, "/"};
    return -1;
  }
  return 0;
}

}  // namespace

int setup_rootfs(const Plan* p, int sync_fd, Failure* f) {
  // Nothing we mount may propagate back to the host: the copy of its tree is
  // made private, or a slave when the container asked to share or receive
  // (the host's later mounts still reach it; nothing goes the other way).
  unsigned long host_side = (p->rootfs_propagation & (MS_SHARED | MS_SLAVE)) ? MS_SLAVE : MS_PRIVATE;
  if (mount(nullptr, "/", nullptr, MS_REC | host_side, nullptr) < 0) {
    *f = {STEP_MOUNT_PROPAGATION, errno, SC_MOUNT, "/"};
    return -1;
  }
  // pivot_root needs the new root to be a mount point (an idmapped rootfs is one: the parent's tree;
  // an overlay rootfs is one: mounted here).
  if (p->noverlay_lower > 0) {
    if (mount_overlay_rootfs(p, f) < 0) return -1;
  } else if (p->rootfs_tree >= 0) {
    int at = open(p->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (at < 0) {
      *f = {STEP_ROOTFS_BIND, errno, SC_OPEN, p->rootfs};
      return -1;
    }
    int rc = attach_tree(p->rootfs_tree, at, p->rootfs, f);
    close(at);
    if (rc < 0) {
      f->step = STEP_ROOTFS_BIND;
      return -1;
    }
  } else if (mount(p->rootfs, p->rootfs, nullptr, MS_BIND | MS_REC, nullptr) < 0) {
    *f = {STEP_ROOTFS_BIND, errno, SC_MOUNT, p->rootfs};
    return -1;
  }
  int rootfd = open(p->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) {
    *f = {STEP_ROOTFS_BIND, errno, SC_OPEN, p->rootfs};
    return -1;
  }
  int rc = do_mounts(p, rootfd, f);
  if (rc == 0) rc = make_devices(p, rootfd, f);
  if (rc == 0) rc = make_links(p, rootfd, f);
  if (rc == 0) rc = write_sysctls(p, rootfd, f);
  if (rc == 0) rc = mask_paths(p, rootfd, f);
  if (rc == 0) rc = lock_paths(p, rootfd, f);
  close(rootfd);
  if (rc < 0) return -1;
  // The create hooks run now: the container's mounts are made, the host's root is still ours.
  if (p->hooks_pause) pause_for_hooks(sync_fd, p->hooks_pause == 2);
  if (enter_root(p, f) < 0 || apply_root_propagation(p, f) < 0) return -1;
  if (p->readonly_root && mount(nullptr, "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | kept_flags("/"), nullptr) < 0) {
    *f = {STEP_READONLY_ROOT, errno, SC_MOUNT, "/"};
    return -1;
  }
  return 0;
}

}  // namespace berth
