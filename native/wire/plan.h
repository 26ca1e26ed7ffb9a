// The launch plan as the child sees it: plain C data, built in the parent before
// clone3 (the child is a fork-style copy, so these pointers stay valid there and
// nothing needs to be allocated after clone).
#pragma once
#include <stdint.h>
#include <sys/types.h>

namespace berth {

enum MountKind : int { MOUNT_FS = 0, MOUNT_BIND = 1 };

struct MountSpec {
  const char* source;       // may be null for pseudo filesystems
  const char* destination;  // absolute, inside the rootfs
  const char* type;         // fs type (null for binds)
  const char* data;         // fs-specific options string, may be null
  unsigned long flags;      // MS_* for fresh filesystems
  uint64_t attr_set;        // MOUNT_ATTR_* for binds (ro, nosuid, nodev, noexec, ...)
  uint64_t propagation;     // MS_PRIVATE / MS_SHARED / ... or 0
  int kind;                 // MountKind
  int recursive;            // rbind
  int dest_is_file;         // bind of a non-directory: create a file, not a dir
  int tree;                 // >= 0: an idmapped tree the parent made, the tree'th fd sent with MSG_CONTINUE
};

struct DeviceSpec {
  const char* path;  // absolute inside the container
  mode_t mode;       // S_IFCHR|S_IFBLK|S_IFIFO | permission bits
  dev_t dev;
  uid_t uid;
  gid_t gid;
};

struct LinkSpec {
  const char* target;
  const char* path;
};

struct NsJoin {
  int fd;     // opened by the parent before clone
  int nstype; // CLONE_NEW*
};

struct CgroupDirSpec {
  const char* path;
  int leaf;    // the container's own cgroup: must not exist yet
  int cpuset;  // a v1 cpuset directory: seed cpus/mems
};

struct CgroupWriteSpec {
  const char* path;
  const char* value;
  int optional;  // a missing file is fine
};

struct RlimitSpec {
  int resource;
  uint64_t soft;
  uint64_t hard;
};

struct SysctlSpec {
  const char* path;  // /proc/sys/...
  const char* value;
};

enum { CAP_SET_BOUNDING = 0, CAP_SET_EFFECTIVE, CAP_SET_PERMITTED, CAP_SET_INHERITABLE, CAP_SET_AMBIENT, CAP_SET_COUNT };

struct Plan {
  uint64_t clone_flags;     // CLONE_NEW* created by clone3
  NsJoin joins[8];
  int njoins;
  int cgroup_fd;            // CLONE_INTO_CGROUP target, -1 for none

  // exec into a running container: join every namespace of its init through
  // the init's pidfd, take its root, then fork the process that execs (a new
  // pid namespace only applies to children).
  int join_pidfd;           // -1: not an exec
  int join_ns_flags;        // CLONE_NEW* to join with setns(pidfd)
  int join_root_fd;         // the init's /proc/<pid>/root, -1 for none

  // cgroup v1/hybrid: the child places itself (no CLONE_INTO_CGROUP there), then
  // makes its cgroup namespace, rooted at the container's cgroup.
  const CgroupDirSpec* cgroup_dirs;
  int ncgroup_dirs;
  const CgroupWriteSpec* cgroup_writes;
  int ncgroup_writes;
  const char* const* cgroup_procs;
  int ncgroup_procs;
  int unshare_cgroupns;

  int setup_rootfs;         // 0 when joining an existing mount namespace
  const char* rootfs;
  const char* const* overlay_lower;  // non-empty: the rootfs is an overlay of these (child_overlay.cc)
  int noverlay_lower;
  const char* overlay_upper;  // null: read-only overlay
  const char* overlay_work;
  int overlay_volatile;
  const char* overlay_data;  // non-null: mount(2) with this option string (no "lowerdir+")
  unsigned long rootfs_propagation;
  int readonly_root;
  const MountSpec* mounts;
  int nmounts;
  const DeviceSpec* devices;
  int ndevices;
  const LinkSpec* links;
  int nlinks;
  const char* const* masked;
  int nmasked;
  const char* const* readonly;
  int nreadonly;
  const SysctlSpec* sysctls;
  int nsysctls;

  const char* hostname;     // null: leave as is
  const char* domainname;
  int loopback_up;

  // the process
  char* const* argv;
  char* const* envp;
  const char* path_env;     // PATH used for the executable lookup
  int home_from_passwd;     // env has no HOME: add the uid's home from /etc/passwd (child_home.cc)
  const char* exec_path;    // non-null: execve this file (no lookup of argv[0])
  const char* cwd;
  uid_t uid;
  gid_t gid;
  const gid_t* groups;
  int ngroups;
  int set_groups;
  int umask;                // -1: leave as is
  int set_caps;
  uint64_t caps[CAP_SET_COUNT];
  int cap_last;             // /proc/sys/kernel/cap_last_cap
  int no_new_privs;
  // The seccomp filter: struct sock_filter[] in host byte order, compiled once
  // per profile in the parent (lib/seccomp); null: no filter. Installed with
  // these SECCOMP_FILTER_FLAG_* as the last step before execve (child_seccomp.cc).
  const void* seccomp_filter;
  uint64_t nseccomp_filter;  // bytes
  unsigned seccomp_flags;
  const RlimitSpec* rlimits;
  int nrlimits;
  int ioprio;               // ioprio_set value, -1: leave as is
  int has_oom_score_adj;
  int oom_score_adj;

  // The rest of the OCI Linux surface (native/init/child_attrs.cc, child_timens.cc).
  int fork_into_pidns;      // the init joined a pid namespace: fork so the process that execs is in it
  const char* time_offsets; // timens_offsets lines for a new time namespace, null for none
  int personality;          // personality(2) domain, -1: leave as is
  int sched_policy;         // sched_setattr, -1: leave as is
  uint64_t sched_flags;
  int sched_nice;
  int sched_priority;
  uint64_t sched_runtime;   // SCHED_DEADLINE, ns
  uint64_t sched_deadline;
  uint64_t sched_period;
  uint64_t cpu_affinity_initial[16];  // sched_setaffinity masks, lowest CPU first; none: leave as is
  int ncpu_affinity_initial;
  uint64_t cpu_affinity_final[16];
  int ncpu_affinity_final;
  int mempolicy_mode;       // set_mempolicy mode | flags, -1: leave as is
  uint64_t mempolicy_nodes[16];
  int nmempolicy_nodes;
  const char* apparmor_profile;  // null: none
  const char* selinux_label;

  int terminal;             // allocate a pty from the container's /dev/pts for 0-2
  unsigned short console_width;
  unsigned short console_height;

  const int* fds;           // parent fds that become 0..nfds-1 in the container
  int nfds;
  int parent_death_signal;  // 0: none
  int exec_after_ready;     // run(): exec right after READY, no MSG_GO
  int hooks_pause;          // stop before pivot_root for the create hooks (MSG_HOOKS, then CONTINUE); 2: dumpable meanwhile
  int start_fd;             // >= 0: detached: accept the start() peer on this listening socket after READY

  // User namespaces: an init unshares a new one after the host's part of its
  // setup (cgroups, rlimits), says MSG_USERNS, waits for MSG_CONTINUE (the
  // parent wrote the maps), becomes its root, then unshares unshare_flags.
  // An exec into one waits for MSG_CONTINUE (its rlimits) before anything.
  int unshare_userns;
  uint64_t unshare_flags;
  int user_fd;              // >= 0: join this user namespace (setns) where a new one would be made
  int wait_for_parent;
  int bind_devices;
  int rootfs_tree;          // >= 0: the rootfs is the parent's idmapped tree of that index         // device nodes bind-mounted from the host's (mknod is refused in a userns)
};

}  // namespace berth
