// cgroup v1 manager, also used for hybrid hosts: one directory per v1 hierarchy (cpu,
// memory, pids, ...) plus, on hybrid hosts, one in the unified cgroup2 tree — the
// container joins all of them, as runc does, so controllers bound only to the unified
// tree (hugetlb on these machines) and cgroup2-only features (cgroup.kill) apply too.
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { native, type RemoveItem } from '../native/addon.js';
import { join } from 'node:path';
import { CgroupError } from '../errors.js';
import type { LinuxResources } from '../../types/oci.js';
import type { CgroupManager, CgroupStats, ChildPlacement } from './manager.js';
import { DEFAULT_PARENT } from './paths.js';
import type { CgroupHierarchies } from '../host/index.js';
import { applyWrites } from './apply.js';
import { mergeResources, v1Writes, v2ControllersNeeded } from './convert.js';
import { watchCounter } from './events.js';
import { parseCount, parseFlatKeyed, parsePids, pollUntil, readOptional, readOptionalSync, readText, writeText } from './fsio.js';
import { adoptedDirs, createDirs, enableSubtreeControllers, removeDirGroups } from './tree.js';
import { DEFAULT_FREEZE_TIMEOUT_MS, freezeV1, freezeV2, thawV1, thawV2 } from './freezer.js';

const KILL_TIMEOUT_MS = 10000;
const OOM_POLL_MS = 100;
// v1 reports "no limit" as the largest page-aligned signed 64-bit value.
const V1_UNLIMITED = 2 ** 62;

interface Hierarchy {
  mount: string;
  controllers: string[];
  /** The container's directory in this hierarchy. */
  path: string;
  created: string[];
}

/**
 * v1's OOM notification: an eventfd registered in cgroup.event_control for
 * memory.oom_control fires on every OOM in the cgroup (and when the cgroup is
 * removed). Returns a wake source for watchCounter, or null if it cannot be set up.
 */
function oomEventFd(memoryDir: string): ((wake: () => void) => () => void) | null {
  let efd = -1;
  let ofd = -1;
  try {
    efd = native.eventfd();
    ofd = openSync(join(memoryDir, 'memory.oom_control'), 'r');
    writeFileSync(join(memoryDir, 'cgroup.event_control'), `${efd} ${ofd}`);
  } catch {
    if (efd >= 0) native.close(efd);
    return null;
  } finally {
    // The registration holds its own reference to the control file.
    if (ofd >= 0) closeSync(ofd);
  }
  return (wake) => {
    const timers = new Set<NodeJS.Timeout>();
    const w = new native.FdWatch(efd, () => {
      native.readEventFd(efd);
      // The notification comes when the cgroup enters OOM, before the killer
      // has counted its kill: look again shortly after, too.
      wake();
      for (const ms of [20, 100, 500, 2000]) {
        const t = setTimeout(() => {
          timers.delete(t);
          wake();
        }, ms);
        t.unref();
        timers.add(t);
      }
    });
    w.unref(); // never keeps the process alive by itself
    return () => {
      for (const t of timers) clearTimeout(t);
      w.stop();
      native.close(efd);
    };
  };
}

export class CgroupV1Manager implements CgroupManager {
  readonly layout: 'v1' | 'hybrid';
  readonly unifiedPath: string | null;
  private readonly hierarchies: Hierarchy[] = [];
  private readonly unified: Hierarchy | null;
  private readonly byController = new Map<string, Hierarchy>();
  private applied: LinuxResources = {};
  private isCreated = false;
  private planned: Array<{ h: Hierarchy; path: string; sharedParent: boolean }> = [];

  constructor(layout: CgroupHierarchies, private readonly segments: string[]) {
    this.layout = layout.layout === 'v1' ? 'v1' : 'hybrid';
    const byMount = new Map<string, Hierarchy>();
    for (const [controller, mount] of Object.entries(layout.v1)) {
      let h = byMount.get(mount);
      if (!h) {
        h = { mount, controllers: [], path: join(mount, ...segments), created: [] };
        byMount.set(mount, h);
        this.hierarchies.push(h);
      }
      h.controllers.push(controller);
      this.byController.set(controller, h);
    }
    if (this.layout === 'hybrid' && layout.unifiedMount) {
      this.unified = { mount: layout.unifiedMount, controllers: [], path: join(layout.unifiedMount, ...segments), created: [] };
      this.byController.set('unified', this.unified);
      this.unifiedPath = this.unified.path;
    } else {
      this.unified = null;
      this.unifiedPath = null;
    }
  }

  get paths(): string[] {
    return this.all().map((h) => h.path);
  }

  get ownedPaths(): string[] {
    return this.owned().map((h) => h.path);
  }

  adoptRecorded(): void {
    for (const h of this.all()) h.created = adoptedDirs(h.mount, this.segments);
    this.isCreated = true;
  }

  private all(): Hierarchy[] {
    return this.unified ? [...this.hierarchies, this.unified] : [...this.hierarchies];
  }

  /** The hierarchies whose leaf this manager made: the only ones it may kill in or remove. */
  private owned(): Hierarchy[] {
    return this.all().filter((h) => h.created.includes(h.path));
  }

  private dir(controller: string): string | null {
    return this.byController.get(controller)?.path ?? null;
  }

  async create(resources: LinuxResources | undefined): Promise<void> {
    if (this.isCreated) throw new CgroupError({ step: 'create', message: 'create() called twice' });
    this.isCreated = true;
    try {
      // Hierarchies are independent: create them concurrently (startup latency),
      // but wait for every one to settle so a failure's cleanup sees all of them.
      const results = await Promise.allSettled(
        this.all().map(async (h) => {
          const isCpuset = h.controllers.includes('cpuset');
          h.created = await createDirs(h.mount, this.segments, isCpuset ? (d) => this.initCpuset(d) : undefined);
        }),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      await this.enableUnifiedControllers(resources);
      if (resources) await this.apply(resources);
    } catch (err) {
      await this.destroy().catch(() => undefined);
      throw err;
    }
  }

  async childPlacement(resources: LinuxResources | undefined, ownershipMarker?: string): Promise<ChildPlacement> {
    if (this.isCreated) throw new CgroupError({ step: 'create', message: 'create() called twice' });
    this.isCreated = true;
    // The child writes only after every mkdir succeeded, i.e. when every leaf is its own.
    const writes: ChildPlacement['writes'] = ownershipMarker ? [{ path: ownershipMarker, value: '1' }] : [];
    writes.push(...(await this.unifiedControllerWrites(resources)));
    if (resources) {
      for (const w of await this.writesFor(resources)) {
        const dir = this.dir(w.controller);
        if (dir === null) {
          if (w.optional) continue;
          throw new CgroupError({ step: 'apply', errno: 'ENOENT', message: `cannot set ${w.file}: the ${w.controller} cgroup controller is not available on this host` });
        }
        writes.push({ path: join(dir, w.file), value: w.value, ...(w.optional ? { optional: true } : {}) });
      }
      this.applied = mergeResources(this.applied, resources);
    }
    this.planned = [];
    const dirs: ChildPlacement['dirs'] = [];
    for (const h of this.all()) {
      for (let i = 1; i <= this.segments.length; i++) {
        const path = join(h.mount, ...this.segments.slice(0, i));
        dirs.push({ path, leaf: i === this.segments.length, cpuset: h.controllers.includes('cpuset') });
        this.planned.push({ h, path, sharedParent: i === 1 && this.segments.length === 2 && this.segments[0] === DEFAULT_PARENT });
      }
    }
    return { dirs, writes, procs: this.all().map((h) => join(h.path, 'cgroup.procs')) };
  }

  adoptChildCreated(created: string): void {
    this.planned.forEach((d, i) => {
      // berth's shared parent is removed by whichever container leaves it empty.
      if ((created[i] === '1' || d.sharedParent) && !d.h.created.includes(d.path)) d.h.created.push(d.path);
    });
  }

  /**
   * A new v1 cpuset cgroup starts with empty cpus/mems, and the kernel refuses to add tasks
   * to it (ENOSPC) until both are set: copy them from the parent (what runc does). Called
   * on directories we just created and on existing parents, where it only fills values
   * that are still empty (a parent another create has not seeded yet).
   */
  private async initCpuset(dir: string): Promise<void> {
    const parent = join(dir, '..');
    for (const f of ['cpuset.cpus', 'cpuset.mems']) {
      const own = (await readText(join(dir, f), 'cpuset-init')).trim();
      if (own !== '') continue;
      const value = (await readText(join(parent, f), 'cpuset-init')).trim();
      await writeText(join(dir, f), value, 'cpuset-init');
    }
  }

  /**
   * On hybrid hosts only controllers the resources actually use are enabled in the unified
   * tree's ancestors (hugetlb for hugepageLimits, prefixes of `unified` keys): the rest of
   * the machine uses v1 for everything else, and we change shared state as little as possible.
   */
  private async enableUnifiedControllers(resources: LinuxResources | undefined): Promise<void> {
    const u = this.unified;
    if (!u) return;
    const needed = this.unifiedControllersNeeded(resources);
    // Only what the resources need in the hybrid unified tree, and all of it must work.
    if (needed.size > 0) await enableSubtreeControllers(u.mount, this.segments, needed, needed);
  }

  /**
   * enableUnifiedControllers for a tree the child has yet to make: the root's
   * subtree_control is written now; the ancestors below it do not exist yet, so
   * the child enables the controllers in them (first among its writes, after its
   * mkdirs and before any limit file it needs).
   */
  private async unifiedControllerWrites(resources: LinuxResources | undefined): Promise<ChildPlacement['writes']> {
    const u = this.unified;
    if (!u) return [];
    const needed = this.unifiedControllersNeeded(resources);
    if (needed.size === 0) return [];
    await enableSubtreeControllers(u.mount, this.segments.slice(0, 1), needed, needed);
    const writes: ChildPlacement['writes'] = [];
    for (let i = 1; i < this.segments.length; i++) {
      const control = join(u.mount, ...this.segments.slice(0, i), 'cgroup.subtree_control');
      for (const c of needed) writes.push({ path: control, value: `+${c}` });
    }
    return writes;
  }

  private unifiedControllersNeeded(resources: LinuxResources | undefined): Set<string> {
    return v2ControllersNeeded({
      ...(resources?.hugepageLimits && !this.byController.has('hugetlb') ? { hugepageLimits: resources.hugepageLimits } : {}),
      ...(resources?.unified ? { unified: resources.unified } : {}),
    });
  }

  private async writesFor(update: LinuxResources) {
    const blkio = this.dir('blkio');
    // Kernels without CFQ only have the BFQ weight file.
    const bfqWeight = update.blockIO && blkio
      ? !(await access(join(blkio, 'blkio.weight')).then(() => true, () => false)) &&
        (await access(join(blkio, 'blkio.bfq.weight')).then(() => true, () => false))
      : false;
    return v1Writes(update, { bfqWeight, hugetlbV1: this.byController.has('hugetlb') });
  }

  private async apply(update: LinuxResources): Promise<void> {
    await applyWrites(await this.writesFor(update), (c) => this.dir(c), 'apply');
    this.applied = mergeResources(this.applied, update);
  }

  /** v1 cannot place a process at clone time; the launch path uses addProcess() before "go". */
  openIntoCgroupFd(): number {
    return -1;
  }

  async addProcess(pid: number): Promise<void> {
    // Concurrent writes: each v1 migration waits for an RCU grace period on the
    // global threadgroup rwsem, and overlapping writers share it.
    await Promise.all(this.all().map((h) => writeText(join(h.path, 'cgroup.procs'), String(pid), 'add-process')));
  }

  async update(resources: LinuxResources): Promise<void> {
    await this.enableUnifiedControllers(resources);
    await this.apply(resources);
  }

  async stats(): Promise<CgroupStats> {
    const read = (controller: string, f: string): Promise<string | null> => {
      const d = this.dir(controller);
      return d ? readOptional(join(d, f)) : Promise.resolve(null);
    };
    const [usage, usageUser, usageSys, cpuStat, memUsage, memMax, memLimit, memswUsage, oomControl, pidsCur, pidsMax, ioBytes, ioOps] =
      await Promise.all([
        read('cpuacct', 'cpuacct.usage'), read('cpuacct', 'cpuacct.usage_user'), read('cpuacct', 'cpuacct.usage_sys'),
        read('cpu', 'cpu.stat'), read('memory', 'memory.usage_in_bytes'), read('memory', 'memory.max_usage_in_bytes'),
        read('memory', 'memory.limit_in_bytes'), read('memory', 'memory.memsw.usage_in_bytes'), read('memory', 'memory.oom_control'),
        read('pids', 'pids.current'), read('pids', 'pids.max'),
        read('blkio', 'blkio.throttle.io_service_bytes_recursive'), read('blkio', 'blkio.throttle.io_serviced_recursive'),
      ]);
    const n = (v: string | null | undefined): number => parseCount(v) ?? 0;
    const cs = parseFlatKeyed(cpuStat);
    const current = n(memUsage);
    const limit = parseCount(memLimit);
    const oomKills = n(parseFlatKeyed(oomControl).get('oom_kill'));
    // blkio: "8:0 Read 123" lines per device plus a "Total" line; sum per direction.
    const sumOp = (text: string | null, op: string): number =>
      (text ?? '').split('\n').reduce((acc, line) => {
        const parts = line.trim().split(/\s+/);
        return parts.length === 3 && parts[1] === op ? acc + (Number(parts[2]) || 0) : acc;
      }, 0);
    return {
      cpu: {
        // cpuacct reports nanoseconds; the API (like v2's cpu.stat) speaks microseconds.
        usageUsec: Math.floor(n(usage) / 1000),
        userUsec: Math.floor(n(usageUser) / 1000),
        systemUsec: Math.floor(n(usageSys) / 1000),
        throttledUsec: Math.floor(n(cs.get('throttled_time')) / 1000),
        nrThrottled: n(cs.get('nr_throttled')),
      },
      memory: {
        current,
        peak: n(memMax),
        limit: limit === null || limit >= V1_UNLIMITED ? null : limit,
        swapCurrent: memswUsage === null ? 0 : Math.max(0, n(memswUsage) - current),
        // v1 has no count of OOM situations apart from kills; report the kills for both.
        oomEvents: oomKills,
        oomKills,
      },
      pids: { current: n(pidsCur), limit: parseCount(pidsMax) },
      io: { readBytes: sumOp(ioBytes, 'Read'), writeBytes: sumOp(ioBytes, 'Write'), readOps: sumOp(ioOps, 'Read'), writeOps: sumOp(ioOps, 'Write') },
    };
  }

  /** The v1 freezer, or (hybrid without one) the unified tree's core freezer. */
  async freeze(timeoutMs = DEFAULT_FREEZE_TIMEOUT_MS): Promise<void> {
    const freezer = this.dir('freezer');
    if (freezer) return freezeV1(freezer, timeoutMs);
    if (this.unified) return freezeV2(this.unified.path, timeoutMs);
    throw new CgroupError({ step: 'freeze', errno: 'ENOENT', message: 'no freezer controller on this host' });
  }

  async thaw(): Promise<void> {
    const freezer = this.dir('freezer');
    if (freezer) return thawV1(freezer);
    if (this.unified) return thawV2(this.unified.path);
    throw new CgroupError({ step: 'thaw', errno: 'ENOENT', message: 'no freezer controller on this host' });
  }

  /** Union of the processes in every hierarchy (they should agree, but a racing fork may not yet). */
  async pids(): Promise<number[]> {
    const all = new Set<number>();
    const lists = await Promise.all(this.all().map((h) => readOptional(join(h.path, 'cgroup.procs'))));
    for (const text of lists) for (const p of parsePids(text)) all.add(p);
    return [...all].sort((a, b) => a - b);
  }

  /**
   * Freeze, SIGKILL every process, thaw, wait until empty. Frozen tasks cannot fork, so
   * nothing escapes the kill list; they die as soon as they are thawed — which is
   * also how a paused container dies at all (the v1 freezer holds back even
   * SIGKILL). Repeats if a process appeared anyway (e.g. no freezer controller).
   * Only in the hierarchies this manager owns: a leaf a failed create found
   * existing holds someone else's processes.
   */
  async killAll(): Promise<void> {
    const owned = this.owned();
    if (owned.length === 0) return;
    const ownedPids = async (): Promise<number[]> => {
      const lists = await Promise.all(owned.map((h) => readOptional(join(h.path, 'cgroup.procs'))));
      return [...new Set(lists.flatMap(parsePids))];
    };
    // Nothing can enter an empty cgroup on its own (only a process inside could
    // fork into it): the common case after the init of a pid namespace exited.
    if ((await ownedPids()).length === 0) return;
    const freezer = this.byController.get('freezer') ?? this.unified;
    const canFreeze = freezer !== undefined && freezer !== null && owned.includes(freezer);
    const deadline = Date.now() + KILL_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const frozen = canFreeze && (await this.freeze().then(() => true, () => false));
      for (const pid of await ownedPids()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // ESRCH: it exited on its own.
        }
      }
      // Thawed even when this freeze failed: the cgroup may have been paused before.
      if (canFreeze) {
        try {
          await this.thaw();
        } catch (err) {
          if (frozen) throw err;
        }
      }
      if (await pollUntil(async () => (await ownedPids()).length === 0, Math.min(2000, Math.max(0, deadline - Date.now())), 10)) return;
    }
    throw new CgroupError({ step: 'kill', path: owned[0]!.path, errno: 'ETIMEDOUT', message: 'processes still in the container cgroup after SIGKILL' });
  }

  async oomKillCount(): Promise<number> {
    const memory = this.dir('memory');
    if (!memory) return 0;
    return Number(parseFlatKeyed(readOptionalSync(join(memory, 'memory.oom_control'))).get('oom_kill') ?? 0);
  }

  /**
   * memory.oom_control's oom_kill counter, polled every 100 ms (unref'd timer): v1 control
   * files do not send inotify events. The eventfd + cgroup.event_control mechanism would
   * be instant but needs native eventfd support; polling is enough for an 'oom' event.
   */
  watchOom(cb: () => void): () => void {
    const memory = this.dir('memory');
    if (!memory) return () => undefined;
    const control = join(memory, 'memory.oom_control');
    const notifier = oomEventFd(memory);
    // Polling is the fallback only: with many running containers, a timer each
    // would keep the thread pool busy (it showed in startup latency).
    return notifier ? watchCounter(control, 'oom_kill', cb, undefined, notifier) : watchCounter(control, 'oom_kill', cb, OOM_POLL_MS);
  }

  async destroy(after: RemoveItem[] = []): Promise<number[]> {
    // Every hierarchy's directories in one thread-pool job.
    const hierarchies = this.all();
    const errnos = await removeDirGroups(hierarchies.map((h) => ({ created: h.created, leaf: h.path })), 3000, after);
    for (const h of hierarchies) h.created = [];
    return errnos;
  }
}
