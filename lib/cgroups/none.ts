// The manager of a container that runs without a cgroup of its own: the
// cgroup tree is read-only (a CI job container), or a rootless caller has no
// subtree delegated to it, and the container asked for no resources. Nothing is created, recorded or removed; the container stays
// in the caller's cgroup (limited by whatever limits the job has). Ending it
// relies on its pid namespace: the init's death ends every process in it
// (index.ts only picks this manager for a container with a pid namespace of
// its own). What needs a cgroup (stats, pause, update, the process list)
// rejects, saying why, rather than answering with zeros.
import type { LinuxResources } from '../../types/oci.js';
import type { CgroupLayout } from '../host/index.js';
import type { RemoveItem } from '../native/addon.js';
import { native } from '../native/addon.js';
import { CgroupError } from '../errors.js';
import type { CgroupManager, CgroupStats } from './manager.js';

export class NoCgroupManager implements CgroupManager {
  readonly unifiedPath = null;
  readonly paths: string[] = [];
  readonly ownedPaths: string[] = [];

  /**
   * `readOnly`: the hierarchy that made a cgroup impossible; `why`: how, for
   * the messages ('is read-only', or a rootless caller's 'is not writable by uid N').
   */
  constructor(
    readonly layout: CgroupLayout,
    readonly readOnly: string,
    private readonly why: { errno: string; says: string } = { errno: 'EROFS', says: 'is read-only' },
  ) {}

  private refuse(step: string, doing: string): CgroupError {
    return new CgroupError({
      step,
      path: this.readOnly,
      errno: this.why.errno,
      message: `cannot ${doing}: the container runs without a cgroup (the cgroup hierarchy ${this.readOnly} ${this.why.says})`,
    });
  }

  adoptRecorded(): void {}
  async create(): Promise<void> {}
  openIntoCgroupFd(): number {
    return -1;
  }
  async childPlacement(): Promise<null> {
    return null;
  }
  adoptChildCreated(): void {}
  /** exec(): the process stays in the caller's cgroup, as the init did. */
  async addProcess(): Promise<void> {}
  async update(_resources: LinuxResources): Promise<void> {
    throw this.refuse('update', 'update its resources');
  }
  async stats(): Promise<CgroupStats> {
    throw this.refuse('stats', 'read its cgroup stats');
  }
  async freeze(): Promise<void> {
    throw this.refuse('freeze', 'pause it (the freezer is a cgroup\'s)');
  }
  async thaw(): Promise<void> {
    throw this.refuse('thaw', 'resume it');
  }
  async pids(): Promise<number[]> {
    throw this.refuse('pids', 'list its processes');
  }
  /** Nothing of its own to kill in: the pid namespace's end does it (destroy() kills the init). */
  async killAll(): Promise<void> {}
  async oomKillCount(): Promise<number> {
    return 0;
  }
  watchOom(): () => void {
    return () => {};
  }
  /** No directories; `after` (the state directory's files) still goes, in one job as the others do it. */
  async destroy(after: RemoveItem[] = []): Promise<number[]> {
    return after.length === 0 ? [] : native.removePaths(after);
  }
}
