// The addon, loaded once (prebuild first, local build second) with a typed face.
// Its types are the whole contract of the native layer; nothing else calls it untyped.
import { createRequire } from 'node:module';
import { packageRootOf } from '../package-root.js';
import type { NativeNetlink } from './netlink-types.js';

const require = createRequire(import.meta.url);
// Where node-gyp-build looks (prebuilds/, build/Release).
const packageRoot = packageRootOf(import.meta.url);

/** One unlink (dir: false) or rmdir for native removePaths; EBUSY retried for busyMs. */
export interface RemoveItem {
  path: string;
  dir: boolean;
  busyMs?: number;
}

export interface NativePlan {
  cloneFlags: number;
  joins: Array<{ fd: number; nstype: number }>;
  cgroupFd?: number;
  joinPidfd?: number;
  joinNsFlags?: number;
  joinRootFd?: number;
  cgroupDirs?: Array<{ path: string; leaf: boolean; cpuset: boolean }>;
  cgroupWrites?: Array<{ path: string; value: string; optional: boolean }>;
  cgroupProcs?: string[];
  unshareCgroupns?: boolean;
  setupRootfs: boolean;
  rootfs: string;
  rootfsPropagation: number;
  readonlyRoot: boolean;
  mounts: NativeMount[];
  devices: Array<{ path: string; mode: number; major: number; minor: number; uid: number; gid: number }>;
  links: Array<{ target: string; path: string }>;
  masked: string[];
  readonly: string[];
  sysctls: Array<{ path: string; value: string }>;
  hostname?: string;
  domainname?: string;
  loopbackUp: boolean;
  args: string[];
  env: string[];
  pathEnv: string;
  /** env has no HOME: the child adds the home of uid from the container's /etc/passwd, else "/". */
  homeFromPasswd?: boolean;
  /** An overlay rootfs mounted at `rootfs` (lib/launch/overlay.ts): layers top-most first. */
  overlayLower?: string[];
  overlayUpper?: string;
  overlayWork?: string;
  overlayVolatile?: boolean;
  /** Linux < 6.8: the mount(2) option string instead of one "lowerdir+" per layer. */
  overlayData?: string;
  cwd: string;
  uid: number;
  gid: number;
  groups: number[];
  setGroups: boolean;
  umask: number;
  setCaps: boolean;
  /** bounding, effective, permitted, inheritable, ambient */
  caps: [bigint, bigint, bigint, bigint, bigint];
  capLast: number;
  noNewPrivs: boolean;
  /** struct sock_filter[] (host byte order) installed right before execve; absent: no filter. */
  seccompFilter?: Buffer;
  /** SECCOMP_FILTER_FLAG_* for seccomp(SECCOMP_SET_MODE_FILTER). */
  seccompFlags?: number;
  rlimits: Array<{ resource: number; soft: bigint; hard: bigint }>;
  oomScoreAdj?: number;
  ioPriority?: number;
  /** The init joined a pid namespace by path: berth-init forks the process that execs into it. */
  forkIntoPidns?: boolean;
  /** /proc/self/timens_offsets lines: berth-init makes the time namespace itself, with these. */
  timeOffsets?: string;
  /** personality(2) domain; -1 or absent: unchanged. */
  personality?: number;
  /** sched_setattr(2); -1 or absent: unchanged. */
  schedPolicy?: number;
  schedFlags?: number;
  schedNice?: number;
  schedPriority?: number;
  schedRuntime?: number;
  schedDeadline?: number;
  schedPeriod?: number;
  /** sched_setaffinity masks (64-bit words, CPU 0 first): before the joins, and right before execve. */
  cpuAffinityInitial?: bigint[];
  cpuAffinityFinal?: bigint[];
  /** set_mempolicy mode | flags; -1 or absent: unchanged. */
  memoryPolicyMode?: number;
  memoryPolicyNodes?: bigint[];
  apparmorProfile?: string;
  selinuxLabel?: string;
  terminal: boolean;
  consoleWidth: number;
  consoleHeight: number;
  fds: number[];
  parentDeathSignal: number;
  /** run(): the process execs right after READY instead of waiting for MSG_GO. */
  execAfterReady?: boolean;
  /** Detached: the listening start socket berth-init accepts the start() peer on after READY. */
  startFd?: number;
  /** Stop before pivot_root (MSG_HOOKS) until CONTINUE: the create hooks run then. 2: dumpable meanwhile (see child.cc pause_for_hooks). */
  hooksPause?: boolean | 2;
  /** execve this file instead of looking up args[0] (an OCI hook's path). */
  execPath?: string;
  /** A new user namespace made by berth-init (MSG_USERNS, maps, MSG_CONTINUE), then the namespaces of unshareFlags. */
  unshareUserns?: boolean;
  unshareFlags?: number;
  /** A user namespace joined by path: setns at the point a new one would be made (fd closed by the parent after clone). */
  userFd?: number;
  /** exec into a user namespace: wait for MSG_CONTINUE first. */
  waitForParent?: boolean;
  /** Device nodes bound from the host's (mknod is refused in a user namespace). */
  bindDevices?: boolean;
  /** An idmapped rootfs: the index of its tree among the fds sent with MSG_CONTINUE. */
  rootfsTree?: number;
}

export interface NativeMount {
  source?: string;
  destination: string;
  type?: string;
  data?: string;
  flags: number;
  attrSet: number;
  propagation: number;
  kind: 0 | 1;
  recursive: boolean;
  destIsFile: boolean;
  /** An idmapped bind: the index of its tree among the fds sent with MSG_CONTINUE. */
  tree?: number;
}

export type ChildMessage =
  | { eof: true }
  | { eof?: undefined; kind: number; step: number; errno: number; syscall: number; detail: string; value: number; fd?: number };

/** What compileSeccomp() compiles: libseccomp's input, numbers resolved in TS. */
export interface NativeSeccompSpec {
  /** SECCOMP_RET_* value (errno in the low 16 bits). */
  defaultAction: number;
  /** For syscalls of an architecture the filter does not list. */
  badArchAction: number;
  /** libseccomp architecture names ('x86_64', 'x86', 'x32', 'aarch64', …), the native one first. */
  arches: string[];
  /** SCMP_FLTATR_CTL_OPTIMIZE 2: a binary tree of syscalls instead of a list. */
  binaryTree: boolean;
  rules: Array<{
    names: string[];
    action: number;
    args: Array<{ index: number; op: string; value: bigint; valueTwo: bigint }>;
  }>;
  /** Refuse before compiling when the program can be told to exceed this many instructions. */
  maxInstructions: number;
}

export interface NativeSeccompProgram {
  /** libseccomp's program: struct sock_filter[] in host byte order. */
  program: Buffer;
  /** The highest syscall number any rule names, per entry of `arches` (-1: none known there). */
  highest: number[];
  /** Names libseccomp does not know on any architecture (skipped). */
  unknown: string[];
}

export interface FdWatch {
  stop(): void;
  ref(): void;
  unref(): void;
}

export interface Native extends NativeNetlink {
  /** clone3 on a libuv worker thread (the event loop never waits for the kernel). */
  spawn(plan: Buffer): Promise<{ pid: number; pidfd: number; syncFd: number; startTime?: number; marks: { worker: number; clone: number; cloned: number } }>;
  pipe(): [number, number];
  close(fd: number): void;
  recvMessage(fd: number): ChildMessage | null;
  sendMessage(fd: number, kind: number): number;
  reap(pidfd: number): { exitCode: number | null; signal: number | null; coreDumped?: boolean } | null;
  pidfdSignal(pidfd: number, signal: number): number;
  pidfdOpen(pid: number): number;
  setWindowSize(fd: number, cols: number, rows: number): number;
  /** unlink/rmdir in order, in one thread-pool job; 0 or errno each. */
  removePaths(items: RemoveItem[]): Promise<number[]>;
  /** data to <path>.<pid>.tmp, renamed over path, in one thread-pool job; 0 or errno. */
  writeFileAtomic(path: string, data: string, mode: number): Promise<number>;
  /**
   * mkdir tmp (0700), write each [name, data] into it (0600), rename it onto
   * dest — one thread-pool job; on failure what it made is removed and the
   * failing syscall and path are said (errno 0 = claimed).
   */
  claimDir(tmp: string, dest: string, files: Array<[string, string]>): Promise<{ errno: number; syscall?: string; path?: string }>;
  eventfd(): number;
  readEventFd(fd: number): number;
  FdWatch: new (fd: number, cb: (status: number, events: number) => void) => FdWatch;
  /**
   * Reads a pipe to EOF on the event loop (at most 1 MiB per wakeup), keeping the first maxBytes
   * (Infinity: all) and reading and dropping the rest; onLimit is called once, when the first byte past
   * maxBytes arrives; cb once at the end (errno or 0, the bytes kept, whether any were dropped). Owns and closes the fd.
   */
  PipeCollector: new (
    fd: number,
    maxBytes: number,
    onLimit: (() => void) | null,
    cb: (errno: number, data: Buffer, truncated: boolean) => void,
  ) => { stop(): void };
  /**
   * The plan the child would run, decoded by the same C++ as spawn's: null if
   * the bytes do not decode. Strings null on the wire come back absent, the
   * defaulted numbers (cgroupFd, ioPriority, ...) with the value the child sees.
   * For tests and diagnosis; spawn never needs it.
   */
  decodePlan(plan: Buffer): NativePlan | null;
  /** bpf(BPF_PROG_LOAD) of a BPF_PROG_TYPE_CGROUP_DEVICE program (struct bpf_insn bytes); an O_CLOEXEC fd the caller closes. */
  loadDeviceProgram(insns: Buffer): number;
  /** bpf(BPF_PROG_ATTACH, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI) to a cgroup directory; replaceFd >= 0 adds BPF_F_REPLACE of that program. */
  attachDeviceProgram(cgroupPath: string, progFd: number, replaceFd: number): void;
  /** bpf(BPF_PROG_DETACH) of that program from the cgroup. */
  detachDeviceProgram(cgroupPath: string, progFd: number): void;
  /** Ids of the device programs attached to the cgroup itself (bpf(BPF_PROG_QUERY)). */
  queryDevicePrograms(cgroupPath: string): number[];
  /**
   * libseccomp compiles a profile on a libuv worker thread. Rejects with an
   * Error carrying errno/code and, when a rule or an architecture was refused,
   * `rule` and `name` (indexes into spec.rules / the names) or `arch`; a program
   * that cannot fit in maxInstructions rejects with `tooLarge` (the lower bound).
   */
  compileSeccomp(spec: NativeSeccompSpec): Promise<NativeSeccompProgram>;
  /**
   * SECCOMP_IOCTL_NOTIF_RECV if a request is pending (never blocks): null when
   * none is (or its target died first), { hup: true } once no process uses the filter.
   */
  notifRecv(fd: number): NativeNotification | { hup: true } | null;
  /** SECCOMP_IOCTL_NOTIF_SEND: error is a negative errno (or 0), flags SECCOMP_USER_NOTIF_FLAG_*; 0 or errno (ENOENT: the target is gone). */
  notifSend(fd: number, id: bigint, error: number, value: bigint | number, flags: number): number;
  /** SECCOMP_IOCTL_NOTIF_ID_VALID: the request's target still waits. */
  notifIdValid(fd: number, id: bigint): boolean;
  /** libseccomp's name for syscall nr on that architecture (its name: 'x86_64', 'x86', …), or null. */
  resolveSyscall(arch: string, nr: number): string | null;
  /** Connects to the unix socket at path and sends payload with fd (SCM_RIGHTS) in one message; throws with code/syscall/path. */
  sendListener(path: string, fd: number, payload: string): void;
  /** recvmsg(MSG_DONTWAIT) with fds (SCM_RIGHTS, CLOEXEC, the caller's to close): null when nothing is there yet. */
  recvWithFds(fd: number): { data: Buffer; fds: number[] } | { eof: true } | null;
  /** mknod(2): the overlay whiteout (a 0:0 character device) and a layer's device nodes. Throws with code/syscall/path. */
  mknod(path: string, mode: number, major: number, minor: number): void;
  /** lsetxattr(2) on the path itself (a symlink is not followed). */
  lsetxattr(path: string, name: string, value: Buffer): void;
  /** Every extended attribute of the path itself (llistxattr + lgetxattr); {} where the file system has none. */
  lgetxattrs(path: string): Record<string, Buffer>;
  /** openat2(dirfd, path, flags | O_CLOEXEC) with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: never leaves dirfd's tree. Throws with code/syscall/path. */
  openInRoot(dirfd: number, path: string, flags: number): number;
  /** An overlay (lowers top-most first, upper, work; index=off) as a detached mount: its root's fd, attached nowhere, gone with the fd. */
  overlayMountFd(lowers: string[], upper: string, work: string, lowerdirPlus: boolean): number;
  /** prlimit64(pid, resource, {soft, hard}): 0 or errno (a userns init's rlimits, set from the host's side). */
  prlimit(pid: number, resource: number, soft: bigint, hard: bigint): number;
  /**
   * open_tree(OPEN_TREE_CLONE) of a host path, then mount_setattr: the attributes
   * and propagation (recursively with `recursive`), and MOUNT_ATTR_IDMAP with the
   * user namespace fd (recursively with `idmapRecursive`). A detached mount's fd; throws with errno/syscall.
   */
  idmappedTree(path: string, usernsFd: number, recursive: boolean, attrSet: number, propagation: number, idmapRecursive: boolean): number;
  /** A message of `kind` with these fds (SCM_RIGHTS): 0 or errno. */
  sendFds(fd: number, kind: number, fds: number[]): number;
  /** flock(LOCK_EX | LOCK_NB), or LOCK_UN with unlock: 0 or errno (EWOULDBLOCK/EAGAIN: held). */
  tryLock(fd: number, unlock?: boolean): number;
  /** A listening unix socket made at path (seqpacket unless 'stream'); CLOEXEC. */
  listenUnix(path: string, type?: 'seqpacket' | 'stream'): number;
  /** A unix socket connected to path; throws ECONNREFUSED when nobody listens. */
  connectUnix(path: string, type?: 'seqpacket' | 'stream'): number;
  /** One SCM_RIGHTS message carrying fd with `name` as its data (runc's console socket form): 0 or errno. */
  sendFdNamed(sock: number, fd: number, name: string): number;
  /** prctl(PR_SET_CHILD_SUBREAPER). */
  setChildSubreaper(on?: boolean): void;
}

/** struct seccomp_notif, as notifRecv returns it. */
export interface NativeNotification {
  id: bigint;
  pid: number;
  nr: number;
  /** AUDIT_ARCH_* of the call. */
  arch: number;
  instructionPointer: bigint;
  args: bigint[];
}

export const native: Native = require('node-gyp-build')(packageRoot);
