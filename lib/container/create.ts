// create: config -> validated config -> the state directory claimed -> the
// cgroup (v2: made here, the init is born in it; v1: the child places itself)
// -> the init spawned and set up, blocked before execve. Every failure removes
// what this attempt made, and only that.
import type { ContainerConfig } from '../../types/api.js';
import { type CgroupManager, createCgroupManager } from '../cgroups/index.js';
import { normalizeConfig } from '../config/normalize.js';
import { hostFacts, readHostCgroupInfo } from '../host/index.js';
import { CLONE_NS } from '../kernel/abi.js';
import { setupSlot } from '../launch/admission.js';
import { containerPlan } from '../launch/plan.js';
import { compileSeccomp } from '../seccomp/compile.js';
import { type Launch, spawnProcess } from '../launch/spawn.js';
import { native } from '../native/addon.js';
import { StateDir, processStartTime } from '../state/state-dir.js';
import { Container } from './container.js';
import { openOrThrow } from './exec.js';
import { type InitRecord, stateRecord } from './state-record.js';

export interface CreateOptions {
  /**
   * run(): the init execs as soon as it is set up, without start()'s round
   * trip; start() then only confirms the exec.
   */
  execAfterReady?: boolean;
  /**
   * run(): the parent ends of these stdio pipes are handed back as raw fds
   * (the caller reads and closes them) instead of becoming Node streams.
   */
  takeFds?: number[];
}

export interface Created {
  container: Container;
  /** The fds asked for with takeFds, in that order (null where stdio[i] was not a pipe). */
  fds: Array<number | null>;
}

/** µs on CLOCK_MONOTONIC, the clock the child's marks use. */
function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

function setupTimings(createdAt: number, spawnAt: number, marks: Array<[string, number]>, readyAt: number): Record<string, number> {
  const ms = (us: number) => Math.round((us - createdAt) / 10) / 100;
  const out: Record<string, number> = { spawn: ms(spawnAt) };
  for (const [name, us] of marks) out[name] = ms(us);
  out['ready-seen'] = ms(readyAt);
  return out;
}

export async function createInit(input: ContainerConfig, options: CreateOptions = {}): Promise<Created> {
  const createdAt = nowUs();
  // The setup slot first: a hundred creates called in one tick then do their
  // synchronous part (config checks, state claim, plan) a few at a time, as
  // slots free up, instead of all at once in the caller's tick.
  const release = await setupSlot();
  try {
    return await setUp(input, options, createdAt, release);
  } finally {
    release();
  }
}

async function setUp(input: ContainerConfig, options: CreateOptions, createdAt: number, release: () => void): Promise<Created> {
  const host = hostFacts();
  const config = await normalizeConfig(input, await readHostCgroupInfo());
  // Compiled (or found compiled) before the state dir is claimed: a profile
  // libseccomp refuses leaves nothing behind.
  const seccomp = config.seccomp && (await compileSeccomp(config.seccomp, 'linux.seccomp'));
  const execAfterReady = options.execAfterReady === true;
  const stateDir = new StateDir(config.stateRoot, config.id);
  await stateDir.claim();
  let cgroup: CgroupManager | null = null;
  let launch: Launch | null = null;
  let firstWrite: Promise<unknown> = Promise.resolve(null);
  const childOnlyFds: number[] = [];
  try {
    cgroup = createCgroupManager({ id: config.id, ...(config.cgroupsPath !== undefined ? { cgroupsPath: config.cgroupsPath } : {}) });
    // cgroup v2: the init is born in its cgroup (CLONE_INTO_CGROUP). v1 has no
    // such thing: the child joins (and limits) itself before anything else.
    const placement = await cgroup.childPlacement(config.resources);
    let cgroupFd = -1;
    if (!placement) {
      await cgroup.create(config.resources);
      cgroupFd = cgroup.openIntoCgroupFd();
      if (cgroupFd >= 0) childOnlyFds.push(cgroupFd);
    }
    const joins = config.namespaces
      .filter((n) => n.path !== undefined)
      .map((n) => {
        const fd = openOrThrow(n.path!, 'setns', `${n.type} namespace`);
        childOnlyFds.push(fd);
        return { fd, nstype: CLONE_NS[n.type] };
      });
    const spawnAt = nowUs();
    const record: InitRecord = { created: new Date().toISOString(), startTime: undefined };
    const madeCgroup = cgroup;
    launch = await spawnProcess({
      step: 'clone',
      stdio: config.process.stdio,
      plan: (fds) => containerPlan(config, { host, seccomp, fds, joins, cgroupFd, placement, execAfterReady }),
      childOnlyFds,
      forks: false,
      release,
      // state.json ('created') is written while the child sets itself up; a
      // failed setup waits for this write before removing the directory.
      onSpawned: (pid, startTime) => {
        record.startTime = startTime ?? processStartTime(pid);
        firstWrite = stateDir.write(stateRecord(config, 'created', pid, record, madeCgroup.paths)).then(() => null, (e: unknown) => e);
      },
      onReport: (r) => {
        if (r.cgroupCreated !== undefined) madeCgroup.adoptChildCreated(r.cgroupCreated);
      },
    });
    const readyAt = nowUs();
    const fds = (options.takeFds ?? []).map((i) => launch!.stdio.streams.takeFd(i));
    const container = new Container({
      config,
      host,
      stateDir,
      launch,
      cgroup,
      record,
      execAfterReady,
      firstWrite: firstWrite.then(() => {}),
      setupTimings: setupTimings(createdAt, spawnAt, launch.marks, readyAt),
    });
    await firstWrite;
    return { container, fds };
  } catch (err) {
    release();
    for (const fd of childOnlyFds.splice(0)) native.close(fd);
    if (launch) {
      launch.sync.close();
      launch.terminal?.destroy();
      await launch.proc.killAndReap();
      launch.stdio.destroyAll();
    }
    if (cgroup) await cgroup.killAll().then(() => cgroup!.destroy()).catch(() => {});
    await firstWrite;
    await stateDir.remove();
    throw err;
  }
}

export async function createContainer(config: ContainerConfig): Promise<Container> {
  return (await createInit(config)).container;
}
