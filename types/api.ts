// The public contract of berth's API (besides the OCI shapes in ./oci.ts).
import type { LinuxSeccomp, Process, Spec } from './oci.js';

/** child_process conventions: a Node stream ('pipe'), the parent's own fd ('inherit'), /dev/null ('ignore'), or an fd. */
export type StdioOption = 'pipe' | 'inherit' | 'ignore' | number;

export interface ProcessConfig extends Process {
  /** [stdin, stdout, stderr, ...extra fds that become 3, 4, …]; one value applies to all three. Default 'pipe'. */
  stdio?: StdioOption | StdioOption[];
  /** exec() only: this process's own seccomp profile (null: none) instead of the container's linux.seccomp. */
  seccomp?: LinuxSeccomp | null;
}

export interface ContainerConfig extends Omit<Spec, 'process'> {
  /** Generated when absent: [A-Za-z0-9][A-Za-z0-9_.-]{0,127}. */
  id?: string;
  /** Shorthand for root.path. */
  rootfs?: string;
  /** An OCI bundle directory: its config.json is read and merged under this object. */
  bundle?: string;
  process?: ProcessConfig;
  /** Where state lives (default /run/berth, or $XDG_RUNTIME_DIR/berth when not root). */
  stateRoot?: string;
  /** Kill the container when the Node process dies (default true). */
  dieWithParent?: boolean;
}

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
  stdout: Buffer;
  stderr: Buffer;
}

export interface RunOptions {
  /** Written to the process's stdin, which is then closed. */
  input?: string | Buffer;
  /** Kills the container (SIGKILL) and rejects with an AbortError. */
  signal?: AbortSignal;
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
  ownerPid: number;
  annotations?: Record<string, string>;
  /** The container's cgroup directories (one per hierarchy). */
  cgroupPaths?: string[];
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
  /** Signals the container's init. */
  kill(signal?: NodeJS.Signals | number): Promise<void>;
  /** Kills what still runs and removes everything berth made for the container. */
  destroy(): Promise<void>;
}
