// The wire between lib/ (TypeScript, in the Node process) and native/ (the
// addon and berth-init), described once. native/wire/generate.js writes both
// sides from it: the C++ enums and plan decoder, the TS tables and plan
// encoder. The generated files are checked in (tsc and node-gyp need no extra
// step); the native build and test/unit/wire-generated.test.js fail when one of
// them no longer matches this file. Edit here, then `node native/wire/generate.js`.

// The sync socket's message kinds. Numbers are explicit: a removed kind keeps
// its number retired (6 was one), so an old peer is never misread.
export const messages = [
  { name: 'READY', value: 1, doc: 'child: set up, waiting for go (state "created")' },
  { name: 'ERROR', value: 2, doc: "child: a step failed; it _exit()s after sending" },
  { name: 'GO', value: 3, doc: 'parent: exec now' },
  { name: 'PID', value: 4, doc: "exec's first child: the host pid of the process it forked into the container" },
  { name: 'PTY', value: 5, doc: "child: the terminal's master, passed with SCM_RIGHTS" },
  { name: 'CGROUP_CREATED', value: 7, doc: "child (cgroup v1): which cgroup directories it made ('1'/'0' each)" },
  { name: 'SECCOMP_LISTENER', value: 8, doc: "child: the seccomp notify listener, passed with SCM_RIGHTS, right before execve" },
  { name: 'CONTINUE', value: 9, doc: "parent: the user namespace's maps are written (exec into one: the rlimits set); go on" },
  { name: 'USERNS', value: 10, doc: "child: its new user namespace exists; the parent writes the maps, then CONTINUE" },
  { name: 'HOOKS', value: 11, doc: "child: the rootfs is mounted, before pivot_root; the parent runs the create hooks, then CONTINUE" },
];

// The setup steps a failure names, numbered in this order: [C enumerator, the
// name BerthError.step carries].
export const steps = [
  ['NONE', 'none'],
  ['SIGNALS', 'signals'],
  ['SETNS', 'setns'],
  ['FDS', 'fds'],
  ['RLIMITS', 'rlimits'],
  ['OOM_SCORE', 'oom-score-adj'],
  ['MOUNT_PROPAGATION', 'mount-propagation'],
  ['ROOTFS_BIND', 'rootfs-bind'],
  ['ROOTFS_OVERLAY', 'rootfs-overlay'],
  ['MOUNT', 'mount'],
  ['DEVICES', 'devices'],
  ['SYMLINKS', 'symlinks'],
  ['PIVOT_ROOT', 'pivot-root'],
  ['MASKED_PATHS', 'masked-paths'],
  ['READONLY_PATHS', 'readonly-paths'],
  ['READONLY_ROOT', 'readonly-root'],
  ['HOSTNAME', 'hostname'],
  ['LOOPBACK', 'loopback'],
  ['SYSCTL', 'sysctl'],
  ['CWD', 'cwd'],
  ['GROUPS', 'groups'],
  ['USER', 'user'],
  ['CAPABILITIES', 'capabilities'],
  ['NO_NEW_PRIVS', 'no-new-privileges'],
  ['PARENT_DEATH', 'parent-death-signal'],
  ['SYNC', 'sync'],
  ['EXEC', 'exec'],
  ['JOIN', 'join'],
  ['TERMINAL', 'terminal'],
  ['IO_PRIORITY', 'io-priority'],
  ['CGROUPNS', 'cgroup-namespace'],
  ['CGROUP', 'cgroup'],
  ['SESSION', 'session'],
  ['TIME_NAMESPACE', 'time-namespace'],
  ['PERSONALITY', 'personality'],
  ['SCHEDULER', 'scheduler'],
  ['CPU_AFFINITY', 'cpu-affinity'],
  ['MEMORY_POLICY', 'memory-policy'],
  ['LSM_LABEL', 'lsm-label'],
  ['SECCOMP', 'seccomp'],
  ['USER_NAMESPACE', 'user-namespace'],
];

// The syscall a failure names, numbered in this order: [C enumerator, the name
// BerthError.syscall carries ('' for none)].
export const syscalls = [
  ['NONE', ''],
  ['MOUNT', 'mount'],
  ['OPEN_TREE', 'open_tree'],
  ['MOUNT_SETATTR', 'mount_setattr'],
  ['MOVE_MOUNT', 'move_mount'],
  ['OPENAT2', 'openat2'],
  ['MKDIRAT', 'mkdirat'],
  ['MKNODAT', 'mknodat'],
  ['SYMLINKAT', 'symlinkat'],
  ['PIVOT_ROOT', 'pivot_root'],
  ['CHROOT', 'chroot'],
  ['CHDIR', 'chdir'],
  ['UMOUNT2', 'umount2'],
  ['SETNS', 'setns'],
  ['SETHOSTNAME', 'sethostname'],
  ['SETDOMAINNAME', 'setdomainname'],
  ['SOCKET', 'socket'],
  ['IOCTL', 'ioctl'],
  ['WRITE', 'write'],
  ['READ', 'read'],
  ['SETGROUPS', 'setgroups'],
  ['SETRESGID', 'setresgid'],
  ['SETRESUID', 'setresuid'],
  ['CAPSET', 'capset'],
  ['PRCTL', 'prctl'],
  ['PRLIMIT', 'prlimit64'],
  ['EXECVE', 'execve'],
  ['DUP', 'dup3'],
  ['CLOSE_RANGE', 'close_range'],
  ['OPEN', 'open'],
  ['SIGACTION', 'sigaction'],
  ['FCHOWNAT', 'fchownat'],
  ['CLONE3', 'clone3'],
  ['FCHDIR', 'fchdir'],
  ['SETSID', 'setsid'],
  ['SENDMSG', 'sendmsg'],
  ['IOPRIO_SET', 'ioprio_set'],
  ['UNSHARE', 'unshare'],
  ['KEYCTL', 'keyctl'],
  ['SCHED_SETATTR', 'sched_setattr'],
  ['SCHED_SETAFFINITY', 'sched_setaffinity'],
  ['SET_MEMPOLICY', 'set_mempolicy'],
  ['PERSONALITY', 'personality'],
  ['SECCOMP', 'seccomp'],
  ['MMAP', 'mmap'],
  ['FSOPEN', 'fsopen'],
  ['FSCONFIG', 'fsconfig'],
  ['FSMOUNT', 'fsmount'],
];

// The launch plan (NativePlan in lib/native/addon.ts -> struct Plan in
// native/wire/plan.h), as one flat buffer: no pointers, so the same bytes are
// decoded by the addon before clone3 and again by berth-init after its exec.
//
// Encoding: a magic word ("berth" + version), the fields in this order, the
// magic again. Every integer is 8 bytes little-endian (negative numbers in
// two's complement, as C's (uint64_t)(int64_t)); a string is its UTF-8 length
// and bytes, the length all ones for null; an array is its count then its items.
//
// A field: `ts` is the NativePlan property, `c` the Plan member; `type` is
//   'int'    a number, boolean or bigint; `default` (a TS expression) when the property is absent
//   'str'    a string that must be there (the decoder refuses null)
//   'str?'   a string or null: absent is null, and with `emptyIsNull` so is ''
//   'bytes'  a Buffer or absent, copied as it is (its length, then the bytes;
//            absent travels as null): the C side has a pointer and n<c>, its length
//   'array'  `of` is 'int', 'str' or a list of fields (a struct); `max`/`min`
//            bound the count on both sides; `terminated`: the C array ends with
//            a null pointer instead of having an n<c> count; `inline`: a fixed C
//            array of `max` with its count in n<c>; `fixed`: exactly that many
//            ints, no count on the wire
// `value` (a TS expression of `$`, the object, reading the properties in
// `reads`) replaces `ts` where one wire field comes from something else.
// Bump `version` whenever the layout changes: the generator refuses a new
// layout under an old version, so a plan from another build is refused, never misread.
export const plan = {
  version: 12,
  magic: 'berth',
  fields: [
    { ts: 'cloneFlags', c: 'clone_flags', type: 'int' },
    {
      ts: 'joins', c: 'joins', type: 'array', inline: true, max: 8,
      of: [
        { ts: 'fd', c: 'fd', type: 'int' },
        { ts: 'nstype', c: 'nstype', type: 'int' },
      ],
    },
    { ts: 'cgroupFd', c: 'cgroup_fd', type: 'int', default: '-1' },
    { ts: 'joinPidfd', c: 'join_pidfd', type: 'int', default: '-1' },
    { ts: 'joinNsFlags', c: 'join_ns_flags', type: 'int', default: '0' },
    { ts: 'joinRootFd', c: 'join_root_fd', type: 'int', default: '-1' },
    {
      ts: 'cgroupDirs', c: 'cgroup_dirs', type: 'array', default: '[]',
      of: [
        { ts: 'path', c: 'path', type: 'str' },
        { ts: 'leaf', c: 'leaf', type: 'int' },
        { ts: 'cpuset', c: 'cpuset', type: 'int' },
      ],
    },
    {
      ts: 'cgroupWrites', c: 'cgroup_writes', type: 'array', default: '[]',
      of: [
        { ts: 'path', c: 'path', type: 'str' },
        { ts: 'value', c: 'value', type: 'str' },
        { ts: 'optional', c: 'optional', type: 'int' },
      ],
    },
    { ts: 'cgroupProcs', c: 'cgroup_procs', type: 'array', of: 'str', default: '[]' },
    { ts: 'unshareCgroupns', c: 'unshare_cgroupns', type: 'int', default: 'false' },
    { ts: 'setupRootfs', c: 'setup_rootfs', type: 'int' },
    { ts: 'rootfs', c: 'rootfs', type: 'str' },
    // An overlay rootfs (lib/launch/overlay.ts): mounted at `rootfs` (an empty
    // directory) in the child's mount namespace instead of binding it. Layers
    // top-most first, each a fsconfig "lowerdir+" (Linux 6.8+); with
    // overlayData set (older kernels) one mount(2) with that option string.
    { ts: 'overlayLower', c: 'overlay_lower', type: 'array', of: 'str', default: '[]' },
    { ts: 'overlayUpper', c: 'overlay_upper', type: 'str?', emptyIsNull: true },
    { ts: 'overlayWork', c: 'overlay_work', type: 'str?', emptyIsNull: true },
    { ts: 'overlayVolatile', c: 'overlay_volatile', type: 'int', default: 'false' },
    { ts: 'overlayData', c: 'overlay_data', type: 'str?', emptyIsNull: true },
    { ts: 'rootfsPropagation', c: 'rootfs_propagation', type: 'int' },
    { ts: 'readonlyRoot', c: 'readonly_root', type: 'int' },
    {
      ts: 'mounts', c: 'mounts', type: 'array',
      of: [
        { ts: 'source', c: 'source', type: 'str?', emptyIsNull: true },
        { ts: 'destination', c: 'destination', type: 'str' },
        { ts: 'type', c: 'type', type: 'str?', emptyIsNull: true },
        { ts: 'data', c: 'data', type: 'str?', emptyIsNull: true },
        { ts: 'flags', c: 'flags', type: 'int' },
        { ts: 'attrSet', c: 'attr_set', type: 'int' },
        { ts: 'propagation', c: 'propagation', type: 'int' },
        { ts: 'kind', c: 'kind', type: 'int' },
        { ts: 'recursive', c: 'recursive', type: 'int' },
        { ts: 'destIsFile', c: 'dest_is_file', type: 'int' },
        { ts: 'tree', c: 'tree', type: 'int', default: '-1' },
      ],
    },
    {
      ts: 'devices', c: 'devices', type: 'array',
      of: [
        { ts: 'path', c: 'path', type: 'str' },
        { ts: 'mode', c: 'mode', type: 'int' },
        { c: 'dev', type: 'int', reads: ['major', 'minor'], value: 'makedev($.major, $.minor)' },
        { ts: 'uid', c: 'uid', type: 'int' },
        { ts: 'gid', c: 'gid', type: 'int' },
      ],
    },
    {
      ts: 'links', c: 'links', type: 'array',
      of: [
        { ts: 'target', c: 'target', type: 'str' },
        { ts: 'path', c: 'path', type: 'str' },
      ],
    },
    { ts: 'masked', c: 'masked', type: 'array', of: 'str' },
    { ts: 'readonly', c: 'readonly', type: 'array', of: 'str' },
    {
      ts: 'sysctls', c: 'sysctls', type: 'array',
      of: [
        { ts: 'path', c: 'path', type: 'str' },
        { ts: 'value', c: 'value', type: 'str' },
      ],
    },
    { ts: 'hostname', c: 'hostname', type: 'str?' },
    { ts: 'domainname', c: 'domainname', type: 'str?' },
    { ts: 'loopbackUp', c: 'loopback_up', type: 'int' },
    { ts: 'args', c: 'argv', type: 'array', of: 'str', min: 1, terminated: true },
    { ts: 'env', c: 'envp', type: 'array', of: 'str', terminated: true },
    { ts: 'pathEnv', c: 'path_env', type: 'str' },
    // env has no HOME: the child adds the user's home from the container's
    // /etc/passwd (or /), as runc does (native/init/child_home.cc).
    { ts: 'homeFromPasswd', c: 'home_from_passwd', type: 'int', default: 'false' },
    // OCI hooks run in the container (lib/container/hooks-in-container.ts):
    // the file is the hook's path, not looked up from args[0] (which may differ).
    { ts: 'execPath', c: 'exec_path', type: 'str?', emptyIsNull: true },
    { ts: 'cwd', c: 'cwd', type: 'str?', emptyIsNull: true },
    { ts: 'uid', c: 'uid', type: 'int' },
    { ts: 'gid', c: 'gid', type: 'int' },
    { ts: 'groups', c: 'groups', type: 'array', of: 'int' },
    { ts: 'setGroups', c: 'set_groups', type: 'int' },
    { ts: 'umask', c: 'umask', type: 'int' },
    { ts: 'setCaps', c: 'set_caps', type: 'int' },
    { ts: 'caps', c: 'caps', type: 'array', of: 'int', fixed: 5 },
    { ts: 'capLast', c: 'cap_last', type: 'int' },
    { ts: 'noNewPrivs', c: 'no_new_privs', type: 'int' },
    { ts: 'seccompFilter', c: 'seccomp_filter', type: 'bytes' },
    { ts: 'seccompFlags', c: 'seccomp_flags', type: 'int', default: '0' },
    {
      ts: 'rlimits', c: 'rlimits', type: 'array',
      of: [
        { ts: 'resource', c: 'resource', type: 'int' },
        { ts: 'soft', c: 'soft', type: 'int' },
        { ts: 'hard', c: 'hard', type: 'int' },
      ],
    },
    { ts: 'ioPriority', c: 'ioprio', type: 'int', default: '-1' },
    { c: 'has_oom_score_adj', type: 'int', reads: ['oomScoreAdj'], value: '$.oomScoreAdj !== undefined' },
    { ts: 'oomScoreAdj', c: 'oom_score_adj', type: 'int', default: '0' },
    // The rest of the OCI Linux surface (lib/config: namespaces.ts, time.ts,
    // personality.ts, scheduler.ts, cpu-affinity.ts, memory-policy.ts, lsm.ts).
    { ts: 'forkIntoPidns', c: 'fork_into_pidns', type: 'int', default: 'false' },
    { ts: 'timeOffsets', c: 'time_offsets', type: 'str?', emptyIsNull: true },
    { ts: 'personality', c: 'personality', type: 'int', default: '-1' },
    { ts: 'schedPolicy', c: 'sched_policy', type: 'int', default: '-1' },
    { ts: 'schedFlags', c: 'sched_flags', type: 'int', default: '0' },
    { ts: 'schedNice', c: 'sched_nice', type: 'int', default: '0' },
    { ts: 'schedPriority', c: 'sched_priority', type: 'int', default: '0' },
    { ts: 'schedRuntime', c: 'sched_runtime', type: 'int', default: '0' },
    { ts: 'schedDeadline', c: 'sched_deadline', type: 'int', default: '0' },
    { ts: 'schedPeriod', c: 'sched_period', type: 'int', default: '0' },
    { ts: 'cpuAffinityInitial', c: 'cpu_affinity_initial', type: 'array', of: 'int', inline: true, max: 16, default: '[]' },
    { ts: 'cpuAffinityFinal', c: 'cpu_affinity_final', type: 'array', of: 'int', inline: true, max: 16, default: '[]' },
    { ts: 'memoryPolicyMode', c: 'mempolicy_mode', type: 'int', default: '-1' },
    { ts: 'memoryPolicyNodes', c: 'mempolicy_nodes', type: 'array', of: 'int', inline: true, max: 16, default: '[]' },
    { ts: 'apparmorProfile', c: 'apparmor_profile', type: 'str?', emptyIsNull: true },
    { ts: 'selinuxLabel', c: 'selinux_label', type: 'str?', emptyIsNull: true },
    { ts: 'terminal', c: 'terminal', type: 'int' },
    { ts: 'consoleWidth', c: 'console_width', type: 'int' },
    { ts: 'consoleHeight', c: 'console_height', type: 'int' },
    { ts: 'fds', c: 'fds', type: 'array', of: 'int', max: 64 },
    { ts: 'parentDeathSignal', c: 'parent_death_signal', type: 'int' },
    { ts: 'execAfterReady', c: 'exec_after_ready', type: 'int', default: 'false' },
    // A detached init (lib/container/detach.ts): after READY it accepts one
    // connection on this listening socket (the state dir's start.sock) and
    // waits for GO there: start() can come from any process, later.
    { ts: 'startFd', c: 'start_fd', type: 'int', default: '-1' },
    // prestart/createRuntime/createContainer hooks: stop before pivot_root
    // (MSG_HOOKS) until the parent ran them (lib/container/hooks.ts); 2: the
    // init is dumpable during the pause (a rootless caller's pasta opens its namespaces).
    { ts: 'hooksPause', c: 'hooks_pause', type: 'int', default: 'false' },
    // User namespaces (lib/config/userns.ts). An init with a new one makes it
    // itself (unshareUserns) once the host's part of its setup is done, waits
    // for its maps, becomes its root and then makes the other namespaces
    // (unshareFlags), so they are the new user namespace's. An exec into one
    // waits for the parent (waitForParent) before its first step.
    { ts: 'unshareUserns', c: 'unshare_userns', type: 'int', default: 'false' },
    { ts: 'unshareFlags', c: 'unshare_flags', type: 'int', default: '0' },
    { ts: 'userFd', c: 'user_fd', type: 'int', default: '-1' },
    { ts: 'waitForParent', c: 'wait_for_parent', type: 'int', default: 'false' },
    { ts: 'bindDevices', c: 'bind_devices', type: 'int', default: 'false' },
    { ts: 'rootfsTree', c: 'rootfs_tree', type: 'int', default: '-1' },
  ],
};
