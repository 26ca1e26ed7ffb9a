// The public contract of berth's API (besides the OCI shapes in ./oci.ts).
import type { LinuxResources, LinuxSeccomp, Process, Spec, User } from './oci.js';

/** child_process conventions: a Node stream ('pipe'), the parent's own fd ('inherit'), /dev/null ('ignore'), or an fd. */
export type StdioOption = 'pipe' | 'inherit' | 'ignore' | number;

export interface ProcessConfig extends Omit<Process, 'args' | 'user'> {
  /** The program and its arguments. With `image`: optional (the image's Entrypoint + Cmd; given, they replace Cmd). */
  args?: string[];
  /** OCI ids; with `image` also "name", "uid", "name:group" or "uid:gid", resolved through the image's /etc/passwd and /etc/group. */
  user?: User | string;
  /** With `image` only: replaces the image's Entrypoint and drops its Cmd ([] or null: no Entrypoint). */
  entrypoint?: string[] | null;
  /** [stdin, stdout, stderr, ...extra fds that become 3, 4, …]; one value applies to all three. Default 'pipe'. */
  stdio?: StdioOption | StdioOption[];
  /** exec() only: this process's own seccomp profile (null: none) instead of the container's linux.seccomp. */
  seccomp?: LinuxSeccomp | null;
}

export interface RootfsConfig {
  path: string;
  /** A throwaway writable layer over `path` (default false: `path` itself, written to). */
  overlay?: boolean;
}

export interface ContainerConfig extends Omit<Spec, 'process'> {
  /** Generated when absent: [A-Za-z0-9][A-Za-z0-9_.-]{0,127}. */
  id?: string;
  /**
   * Shorthand for root.path; or `{ path, overlay: true }`: that directory
   * read-only under a throwaway writable layer (an overlay mounted only inside
   * the container; what the process writes goes with the container on destroy).
   */
  rootfs?: string | RootfsConfig;
  /**
   * A stored image (name, name:tag, or sha256:… id; importImage puts one in the
   * store) as the root: its layers under a throwaway writable layer, its config
   * as the process's defaults. Instead of rootfs / root.path / bundle.
   */
  image?: string;
  /** The image store's directory (default /var/lib/berth as root). */
  store?: string;
  /** An OCI bundle directory: its config.json is read and merged under this object. */
  bundle?: string;
  process?: ProcessConfig;
  /** Where state lives (default /run/berth, or $XDG_RUNTIME_DIR/berth when not root). */
  stateRoot?: string;
  /** Kill the container when the Node process dies (default true; false when detached). */
  dieWithParent?: boolean;
  /**
   * Outlives the process that made it (as `berth create` does): no parent-death
   * signal, its init reparented to the caller's subreaper once the creator
   * exits, and start()/exec()/… from any process through loadContainer(id).
   */
  detached?: boolean;
  /** A unix socket path the terminal's pty master is sent to (SCM_RIGHTS), as runc's --console-socket. */
  consoleSocket?: string;
  /**
   * Answers the container's SCMP_ACT_NOTIFY syscalls (linux.seccomp, and an
   * exec's own process.seccomp) in this process. Required by a profile with a
   * NOTIFY rule unless the profile has a listenerPath (an OCI agent answers then).
   */
  seccompNotify?: SeccompNotifyOptions;
  /**
   * 'auto': a new user namespace mapping container ids 0–65535 to a 65536-id host range leased for this
   * container alone (from /etc/subuid+subgid of user "berth", BERTH_USERNS_POOL, or 100000000 + 65536·k),
   * the rootfs idmapped (unless root.idmap is false); released on destroy.
   */
  userns?: 'auto';
  /**
   * The bridge networks (createNetwork, under the same stateRoot) the container
   * joins: one (its eth0) or several (eth0, eth1, … in order). Needs a network
   * namespace of its own. The container also gets /etc/hosts (its own names and
   * those of every container on its networks, kept current as they come and
   * go), /etc/hostname and /etc/resolv.conf, bound from its state directory,
   * unless its mounts put a file there.
   */
  network?: NetworkConfig | NetworkConfig[];
  /** /etc/resolv.conf of a container that joins a network (default: the host's, without nameservers the container cannot reach). */
  dns?: DnsConfig;
}

/** One network a container joins (config.network). */
export interface NetworkConfig {
  /** The network's name (createNetwork). */
  name: string;
  /** A fixed address from the network's subnet (default: the next free one). */
  ip?: string;
  /** A fixed address from a dual-stack network's IPv6 subnet. */
  ip6?: string;
  /** The container interface's MAC address (default: random). */
  mac?: string;
  /** More names the container answers to on this network, besides its hostname and id. */
  aliases?: string[];
  /** Host ports forwarded to the container (DNAT in the network's namespace). */
  ports?: PortMapping[];
  /** Both ends' MTU (default 1500). */
  mtu?: number;
}

export interface PortMapping {
  /** The port on the host side (the network's namespace); 0: a free one, reported in container.networks. */
  hostPort: number;
  containerPort: number;
  /** Default 'tcp'. */
  protocol?: 'tcp' | 'udp';
  /** Only this address of the host side (default: every address; 127.0.0.1 works too). */
  hostIp?: string;
}

export interface DnsConfig {
  nameservers?: string[];
  search?: string[];
  options?: string[];
}

/** A port mapping as it was made: one per address family of the container. */
export interface PublishedPortMapping {
  protocol: 'tcp' | 'udp';
  family: 4 | 6;
  /** undefined: every address of the family. */
  hostIp?: string;
  /** The port bound (hostPort 0 asked: the one picked). */
  hostPort: number;
  containerIp: string;
  containerPort: number;
}

/** A network a container is attached to (container.networks). */
export interface ContainerNetwork {
  /** The network's name. */
  name: string;
  /** The interface in the container (eth0, …). */
  interface: string;
  /** The host end of its veth, in the network's namespace. */
  hostInterface: string;
  /** Its addresses with their prefix ("10.88.0.2/16"). */
  addresses: string[];
  mac: string;
  ports: PublishedPortMapping[];
}

/** What state.json keeps of an attachment (a destroy from any process undoes it): the planned names first, the rest once made. */
export interface NetworkAttachmentRecord {
  name: string;
  interface: string;
  hostInterface: string;
  addresses?: string[];
  mac?: string;
  ports?: PublishedPortMapping[];
}

/** A syscall stopped by an SCMP_ACT_NOTIFY rule, waiting for the answer. */
export interface SeccompRequest {
  /** The kernel's cookie for this request (unique per listener). */
  id: bigint;
  /** The container whose process made the call. */
  containerId: string;
  /** Host pid of the calling thread. */
  pid: number;
  /** The syscall's name on `arch` (as libseccomp names it), or `syscall_<nr>` if it has none. */
  syscall: string;
  nr: number;
  /** OCI architecture name of the call (SCMP_ARCH_X86_64, SCMP_ARCH_X86 for int 0x80, …). */
  arch: string;
  /** The six raw arguments (pointers are addresses in the caller's memory). */
  args: bigint[];
  instructionPointer: bigint;
  /**
   * Whether the caller still waits for the answer (SECCOMP_IOCTL_NOTIF_ID_VALID):
   * check it after reading the caller's memory (/proc/<pid>/mem) and before trusting what was read.
   */
  isValid(): boolean;
}

/**
 * `allow`: the call proceeds as if unfiltered (SECCOMP_USER_NOTIF_FLAG_CONTINUE);
 * `errno`: it fails with that error (a name such as 'EACCES', or a number);
 * `value`: it returns that value without being made.
 */
export type SeccompResponse = { allow: true } | { errno: string | number } | { value: number | bigint };

export interface SeccompNotifyOptions {
  /** Called for each request; requests are concurrent and may be answered in any order. */
  handler(request: SeccompRequest): SeccompResponse | Promise<SeccompResponse>;
  /** An answer not given within this many ms denies the call with timeoutErrno (default 10000). */
  timeoutMs?: number;
  /** What a timed-out (or failed) handler answers: default 'EPERM'. */
  timeoutErrno?: string | number;
}

/**
 * OCI statuses. 'creating': the id is claimed and setup is under way in a live
 * process (listContainers shows it; destroy() from elsewhere refuses it). A
 * record whose creator or init is gone (or a zombie) reads 'stopped'.
 */
export type ContainerStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export interface ExitStatus {
  /** The exit code, or null when a signal ended the process. */
  exitCode: number | null;
  /** The signal's name (SIGKILL), or null. */
  signal: NodeJS.Signals | null;
  /** True when the kernel's OOM killer took a process of the container. */
  oomKilled?: boolean;
}

export interface RunResult extends ExitStatus {
  /** What the container wrote to stdout: its first RunOptions.maxOutputBytes bytes. */
  stdout: Buffer;
  /** What the container wrote to stderr: its first RunOptions.maxOutputBytes bytes. */
  stderr: Buffer;
  /** Which streams carried more than maxOutputBytes (the rest was read and dropped). */
  truncated: { stdout: boolean; stderr: boolean };
}

export interface RunOptions {
  /** Written to the process's stdin, which is then closed. */
  input?: string | Buffer;
  /** Kills the container (SIGKILL) and rejects with an AbortError. */
  signal?: AbortSignal;
  /**
   * The most bytes of each of stdout and stderr that run() keeps in memory; default 8 MiB
   * (8388608): room for the longest build or test log, while a container writing without
   * end costs at most that per stream. A non-negative integer, or Infinity to keep everything.
   */
  maxOutputBytes?: number;
  /**
   * When a stream passes maxOutputBytes: 'truncate' (default) keeps reading and dropping the
   * rest, so the container is never blocked on a full pipe and runs to its end; 'kill' kills
   * the container (SIGKILL: the result's signal). Either way `truncated` says which stream.
   */
  onOutputLimit?: 'truncate' | 'kill';
}

export interface WaitOptions {
  signal?: AbortSignal;
}

/** What state.json holds (OCI state plus what berth needs to find the process again). */
export interface ContainerState {
  ociVersion: string;
  id: string;
  status: ContainerStatus;
  pid?: number;
  /** /proc/<pid>/stat field 22: a recycled pid is never taken for the container. */
  pidStartTime?: number;
  bundle?: string;
  rootfs: string;
  created: string;
  /** The process that created the container (0 when unknown). */
  ownerPid: number;
  /** /proc/<ownerPid>/stat field 22: a 'creating' record of a recycled owner pid is not taken for live. */
  ownerStartTime?: number;
  annotations?: Record<string, string>;
  /**
   * The container's own cgroup directories (one per hierarchy): only those its
   * create made. Absent or empty while a cgroup v1 child is still placing itself.
   */
  cgroupPaths?: string[];
  /**
   * Set while a cgroup v1 child is still placing itself: `cgroupPaths` are then
   * the planned ones, the container's own only once this file (in the state
   * directory) reads "1".
   */
  cgroupMarker?: string;
  /** The networks it joins (config.network): what its create made, for a destroy from any process to undo. */
  networks?: NetworkAttachmentRecord[];
  /** The volumes its mounts use (mounts of type 'volume', the image's Volumes): released, and the anonymous ones removed, by destroy. */
  volumes?: VolumeUseRecord;
  /** User-mode networking: the pasta process its destroy ends. */
  userNetwork?: UserNetworkRecord;
}

/** User-mode networking (config.network { mode: 'pasta' }), as state.json records it: the pasta process destroy ends. */
export interface UserNetworkRecord {
  mode: 'pasta';
  /** pasta's background process and its start time (undefined until it ran). */
  pid?: number;
  startTime?: number;
  /** The tap device in the container (named after the host's upstream interface). */
  interface?: string;
  ports?: PublishedPortMapping[];
}

/** A container's volumes, as state.json records them. */
export interface VolumeUseRecord {
  /** The store they are in. */
  store: string;
  /** Named volumes it holds. */
  named: string[];
  /** Anonymous volumes made for it (removed with it). */
  anonymous: string[];
}

/**
 * What every handle on a container offers, whether this process made it
 * (`Container`, from createContainer) or found it (`ContainerRef`, from loadContainer).
 */
export interface ContainerHandle {
  readonly id: string;
  /** The OCI status as last seen by this handle. */
  readonly status: ContainerStatus;
  /** The OCI state record, current as of the call. */
  state(): Promise<ContainerState>;
  /** Lets the created init exec its program. */
  start(): Promise<unknown>;
  /** Another process in the running container. */
  exec(process: ProcessConfig): Promise<unknown>;
  /** Signals the container's init. */
  kill(signal?: NodeJS.Signals | number): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Changes resource limits of the live container. */
  update(resources: LinuxResources): Promise<void>;
  /** Host pids of the container's processes. */
  processes(): Promise<number[]>;
  /** Waits for the init to exit. */
  wait(): Promise<ExitStatus>;
  /** Bytes as the file `dest`, or (archive) a tar stream unpacked into the directory `dest`, resolved inside the container's root. */
  copyIn(dest: string, source: Buffer | string | NodeJS.ReadableStream, options?: CopyInOptions): Promise<void>;
  /** A tar stream of `path` in the container (or, format 'file', a regular file's bytes). */
  copyOut(path: string, options?: { format?: 'tar' | 'file' }): Promise<NodeJS.ReadableStream | Buffer>;
  /** Kills what still runs and removes everything berth made for the container. */
  destroy(): Promise<void>;
}

/** copyIn's options. */
export interface CopyInOptions {
  /** The source is a tar stream to unpack into the directory `dest` (default: the source is the bytes of the file `dest`). */
  archive?: boolean;
  /** A file's mode (default 0o644). Not for archives: their entries carry their own. */
  mode?: number;
  /** A file's owner, as ids in the container (default 0:0). */
  uid?: number;
  gid?: number;
}
