// cgroup v2 manager: one directory in the unified tree holds the container.
import { constants, openSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { CgroupError } from '../errors.js';
import { native, type RemoveItem } from '../native/addon.js';
import type { LinuxDeviceCgroup, LinuxResources } from '../../types/oci.js';
import type { CgroupManager, CgroupStats } from './manager.js';
import { applyWrites } from './apply.js';
import { mergeResources, v2ControllersNeeded, v2Writes } from './convert.js';
import { waitForKeyValue, watchCounter } from './events.js';
import { isErrno, parseCount, parseFlatKeyed, parsePids, readOptional, readOptionalSync, toCgroupError, writeText } from './fsio.js';
import { deviceFilter } from './device-filter.js';
import { MOVE_ENV, type MovePolicy, movePolicy } from './ci-layout.js';
import { adoptedDirs, createDirs, enableSubtreeControllers, removeDirs } from './tree.js';
import { DEFAULT_FREEZE_TIMEOUT_MS, freezeV2, thawV2 } from './freezer.js';

// Not in fs.constants. 0o10000000 on x86, arm, arm64, riscv, s390, ppc (the generic value).
const O_PATH = 0o10000000;

// Controllers a container may use; enabled top-down so the leaf has them all (what crun does).
const DOMAIN_CONTROLLERS = ['cpuset', 'cpu', 'io', 'memory', 'pids', 'hugetlb', 'rdma', 'misc'];

const KILL_TIMEOUT_MS = 10000;

export class CgroupV2Manager implements CgroupManager {
  readonly layout = 'v2' as const;
  readonly unifiedPath: string;
  private created: string[] = [];
  private applied: LinuxResources = {};
  private readonly segments: string[];
  /** The device program attached to the cgroup (v2 has no devices.allow), or -1. */
  private deviceProgramFd = -1;

  constructor(private readonly mount: string, segments: string[]) {
    this.segments = segments;
    this.unifiedPath = join(mount, ...segments);
  }

  get paths(): string[] {
    return [this.unifiedPath];
  }

  get ownedPaths(): string[] {
    return this.created.includes(this.unifiedPath) ? [this.unifiedPath] : [];
  }

  adoptRecorded(): void {
    this.created = adoptedDirs(this.mount, this.segments);
  }

  private file(name: string): string {
    return join(this.unifiedPath, name);
  }

  async create(resources: LinuxResources | undefined): Promise<void> {
    if (this.created.length > 0) throw new CgroupError({ step: 'create', path: this.unifiedPath, message: 'create() called twice' });
    // Read per create (a caller may set it for one container), checked before any mkdir.
    const policy = movePolicy(process.env[MOVE_ENV]);
    this.created = await createDirs(this.mount, this.segments);
    try {
      await this.enableControllers(v2ControllersNeeded(resources), policy);
      if (resources) await this.apply(resources);
    } catch (err) {
      await this.destroy().catch(() => undefined);
      throw err;
    }
  }

  /** The domain controllers in every ancestor; those the resources need must succeed. */
  private async enableControllers(needed: Set<string>, policy?: MovePolicy): Promise<void> {
    await enableSubtreeControllers(this.mount, this.segments, DOMAIN_CONTROLLERS, needed, policy);
  }

  private async apply(update: LinuxResources): Promise<void> {
    const merged = mergeResources(this.applied, update);
    const bfq = update.blockIO ? await access(this.file('io.bfq.weight')).then(() => true, () => false) : false;
    let writes;
    try {
      writes = v2Writes(update, merged, { bfq });
    } catch (err) {
      throw new CgroupError({ step: 'apply', path: this.unifiedPath, message: (err as Error).message });
    }
    if (update.devices) {
      this.enforceDevices(merged.devices ?? []);
      // The program is in force even if a write below fails: the next update builds on it.
      this.applied = { ...this.applied, devices: merged.devices };
    }
    await applyWrites(writes, () => this.unifiedPath, 'apply');
    this.applied = merged;
  }

  /**
   * Puts the program for `rules` in force on the cgroup. create() gets here
   * before the init is cloned into the cgroup, so nothing in the container
   * ever runs without it.
   */
  private enforceDevices(rules: LinuxDeviceCgroup[]): void {
    const insns = deviceFilter(rules);
    const old = this.deviceProgramFd;
    if (insns === null) {
      // Rules that allow everything need no program, and must not keep an older, stricter one.
      if (old >= 0) this.releaseDeviceProgram(true);
      return;
    }
    let fd: number;
    try {
      fd = native.loadDeviceProgram(insns);
    } catch (err) {
      throw toCgroupError('devices', err, this.unifiedPath, 'cannot load the device cgroup program');
    }
    try {
      if (old < 0) native.attachDeviceProgram(this.unifiedPath, fd, -1);
      else this.replaceDeviceProgram(old, fd);
    } catch (err) {
      native.close(fd);
      throw toCgroupError('devices', err, this.unifiedPath, 'cannot attach the device cgroup program');
    }
    if (old >= 0) native.close(old);
    this.deviceProgramFd = fd;
  }

  private replaceDeviceProgram(old: number, fd: number): void {
    try {
      native.attachDeviceProgram(this.unifiedPath, fd, old);
      return;
    } catch (err) {
      if (!isErrno(err, 'EINVAL')) throw err;
    }
    // No BPF_F_REPLACE before Linux 5.6: attach, then detach the old one. While
    // both are attached an access must pass both, so the window is never looser
    // than either rule set.
    native.attachDeviceProgram(this.unifiedPath, fd, -1);
    try {
      native.detachDeviceProgram(this.unifiedPath, old);
    } catch (err) {
      native.detachDeviceProgram(this.unifiedPath, fd);
      throw err;
    }
  }

  /**
   * Detaches the device program and closes its fd. `strict` is for update():
   * destroy() removes the cgroup right after, and that releases whatever is
   * still attached, so there a failed detach is no leak.
   */
  private releaseDeviceProgram(strict: boolean): void {
    const fd = this.deviceProgramFd;
    if (fd < 0) return;
    this.deviceProgramFd = -1;
    let failure: unknown = null;
    try {
      native.detachDeviceProgram(this.unifiedPath, fd);
    } catch (err) {
      // ENOENT: the cgroup is gone, and took its programs with it.
      if (strict && !isErrno(err, 'ENOENT')) failure = err;
    }
    native.close(fd);
    if (failure) throw toCgroupError('devices', failure, this.unifiedPath, 'cannot detach the device cgroup program');
  }

  /** v2 needs no child placement: the process is born in its cgroup. */
  async childPlacement(): Promise<null> {
    return null;
  }

  adoptChildCreated(): void {}

  openIntoCgroupFd(): number {
    if (this.created.length === 0) return -1;
    try {
      // libuv opens every fd with O_CLOEXEC, so it cannot leak into a container via exec.
      return openSync(this.unifiedPath, O_PATH | constants.O_DIRECTORY);
    } catch (err) {
      throw toCgroupError('open-cgroup', err, this.unifiedPath, 'cannot open the container cgroup');
    }
  }

  async addProcess(pid: number): Promise<void> {
    await writeText(this.file('cgroup.procs'), String(pid), 'add-process');
  }

  async update(resources: LinuxResources): Promise<void> {
    await this.enableControllers(v2ControllersNeeded(resources), movePolicy(process.env[MOVE_ENV]));
    await this.apply(resources);
  }

  async stats(): Promise<CgroupStats> {
    const read = (f: string): Promise<string | null> => readOptional(this.file(f));
    const [cpu, memCur, memPeak, memMax, swapCur, memEvents, pidsCur, pidsMax, io] = await Promise.all([
      read('cpu.stat'), read('memory.current'), read('memory.peak'), read('memory.max'), read('memory.swap.current'),
      read('memory.events'), read('pids.current'), read('pids.max'), read('io.stat'),
    ]);
    const cs = parseFlatKeyed(cpu);
    const ev = parseFlatKeyed(memEvents);
    const n = (v: string | undefined | null): number => parseCount(v) ?? 0;
    const ioTotals = { readBytes: 0, writeBytes: 0, readOps: 0, writeOps: 0 };
    // io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" per device.
    for (const line of (io ?? '').split('\n')) {
      for (const kv of line.split(' ').slice(1)) {
        const [k, v] = kv.split('=');
        const val = Number(v) || 0;
        if (k === 'rbytes') ioTotals.readBytes += val;
        else if (k === 'wbytes') ioTotals.writeBytes += val;
        else if (k === 'rios') ioTotals.readOps += val;
        else if (k === 'wios') ioTotals.writeOps += val;
      }
    }
    return {
      cpu: {
        usageUsec: n(cs.get('usage_usec')),
        userUsec: n(cs.get('user_usec')),
        systemUsec: n(cs.get('system_usec')),
        throttledUsec: n(cs.get('throttled_usec')),
        nrThrottled: n(cs.get('nr_throttled')),
      },
      memory: {
        current: n(memCur),
        peak: n(memPeak),
        limit: parseCount(memMax),
        swapCurrent: n(swapCur),
        oomEvents: n(ev.get('oom')),
        oomKills: n(ev.get('oom_kill')),
      },
      pids: { current: n(pidsCur), limit: parseCount(pidsMax) },
      io: ioTotals,
    };
  }

  freeze(timeoutMs = DEFAULT_FREEZE_TIMEOUT_MS): Promise<void> {
    return freezeV2(this.unifiedPath, timeoutMs);
  }

  thaw(): Promise<void> {
    return thawV2(this.unifiedPath);
  }

  async pids(): Promise<number[]> {
    return parsePids(await readOptional(this.file('cgroup.procs')));
  }

  /** cgroup.kill (5.14+) kills atomically, forks included; older kernels get freeze-kill-thaw. */
  async killAll(): Promise<void> {
    // A cgroup this manager did not make (a failed create found it existing) is someone else's.
    if (this.ownedPaths.length === 0) return;
    // Nothing to kill in a cgroup that is already removed.
    const events = await readOptional(this.file('cgroup.events'));
    if (events === null) return;
    // Empty (e.g. the init of a pid namespace already exited): nothing can enter on its own.
    if (/^populated 0$/m.test(events)) return;
    const killFile = this.file('cgroup.kill');
    const hasKill = await access(killFile).then(() => true, () => false);
    if (hasKill) {
      await writeText(killFile, '1', 'kill');
    } else {
      await this.freeze().catch(() => undefined);
      for (const pid of await this.pids()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // ESRCH: already gone.
        }
      }
      await this.thaw().catch(() => undefined);
    }
    if (!(await waitForKeyValue(this.file('cgroup.events'), 'populated', '0', KILL_TIMEOUT_MS))) {
      throw new CgroupError({ step: 'kill', path: this.file('cgroup.events'), errno: 'ETIMEDOUT', message: `processes still in ${this.unifiedPath} after SIGKILL` });
    }
  }

  async oomKillCount(): Promise<number> {
    return Number(parseFlatKeyed(readOptionalSync(this.file('memory.events'))).get('oom_kill') ?? 0);
  }

  watchOom(cb: () => void): () => void {
    return watchCounter(this.file('memory.events'), 'oom_kill', cb);
  }

  async destroy(after: RemoveItem[] = []): Promise<number[]> {
    this.releaseDeviceProgram(false);
    const errnos = await removeDirs(this.created, this.unifiedPath, 3000, after);
    this.created = [];
    return errnos;
  }
}
