// create: config -> validated config -> the state directory claimed -> the
// cgroup (v2: made here, the init is born in it; v1: the child places itself)
// -> the init spawned and set up, blocked before execve. Every failure removes
// what this attempt made, and only that.
import type { ContainerConfig } from '../../types/api.js';
import { type CgroupManager, cgroupExistsError, cgroupManagerForContainer } from '../cgroups/index.js';
import { CgroupError } from '../errors.js';
import { normalizeConfig } from '../config/normalize.js';
import { hostFacts, readHostCgroupInfo } from '../host/index.js';
import { CLONE_NS } from '../kernel/abi.js';
import { setupSlot } from '../launch/admission.js';
import { containerPlan, idmappedTrees, initForks } from '../launch/plan.js';
import { compileSeccomp } from '../seccomp/compile.js';
import { type Launch, spawnProcess } from '../launch/spawn.js';
import { makeIdmappedTrees, writeIdMaps } from '../launch/userns.js';
import { makeLayerDirs } from '../launch/overlay.js';
import { holdImage, imageHold, releaseImage } from './image-hold.js';
import { native } from '../native/addon.js';
import { StateDir, processStartTime } from '../state/state-dir.js';
import type { SeccompRequest } from '../../types/api.js';
import type { NotifySupervisor } from '../seccomp/notify.js';
import { leaseRange, releaseRange } from '../state/userns-leases.js';
import { withLeasedRange } from '../config/userns.js';
import { Container } from './container.js';
import { openOrThrow } from './exec.js';
import { listenerSink } from './notify.js';
import { listenForStart, sendToConsoleSocket } from './detach.js';
import { hasCreateHooks, hasSetupHooks, runCreateHooks } from './hooks.js';
import { saveConfig } from './config-record.js';
import { type InitRecord, stateRecord } from './state-record.js';
import { attachNetworks, detachNetworks, plannedNetworks, withNameFiles } from './network.js';
import { dropVolumes, plannedVolumes, takeVolumes } from './volumes.js';
import { startUserNetwork, stopUserNetwork } from './user-network.js';

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
  let config = await normalizeConfig(input, await readHostCgroupInfo());
  // Compiled (or found compiled) before the state dir is claimed: a profile
  // libseccomp refuses leaves nothing behind.
  const seccomp = config.seccomp && (await compileSeccomp(config.seccomp, 'linux.seccomp'));
  // Hooks between setup and exec need the start() round trip run() skips.
  const execAfterReady = options.execAfterReady === true && !hasSetupHooks(config);
  const stateDir = new StateDir(config.stateRoot, config.id);
  const networks = plannedNetworks(config);
  const volumes = plannedVolumes(config);
  const record: InitRecord = { created: new Date().toISOString(), startTime: undefined, ...(networks ? { networks } : {}), ...(volumes ? { volumes } : {}) };
  // Touches nothing yet: its paths go into the claim record. (A read-only
  // cgroup tree: none, or refused here when the config needs one.)
  const cgroup: CgroupManager = cgroupManagerForContainer({
    id: config.id,
    ...(config.cgroupsPath !== undefined ? { cgroupsPath: config.cgroupsPath } : {}),
    ...(config.resourceFields ? { resourceFields: config.resourceFields } : {}),
    ownPidNamespace: config.namespaces.some((n) => n.type === 'pid' && n.path === undefined),
  });
  // Claimed with a 'creating' record: whatever point a crash stops this at,
  // the id is listed with the process that claimed it and can be removed. It
  // names the planned cgroups, which are the container's own only once the
  // marker file says so: the v1 child writes it after it made every leaf, the
  // v2 path below after create(). (state.json records only cgroups that are
  // the container's own: another process destroying it kills in and removes them.)
  await stateDir.claim(stateRecord(config, 'creating', undefined, record, cgroup.paths, stateDir.cgroupMarker), { cgroupMarker: true });
  // An overlay's writable layer is in the state dir: removed with it, on every path.
  // An image's layers are held in its store (removeImage refuses it) from here to destroy.
  try {
    if (config.layers) await makeLayerDirs(config.layers);
    if (config.image) await holdImage(imageHold(config.image), config.id, stateDir.dir);
    // Volumes: made when missing, held while the state dir exists, an empty one filled from the root filesystem.
    await takeVolumes(config, stateDir.dir);
    // /etc/hosts, /etc/hostname, /etc/resolv.conf of a container on a network: files here, bound in.
    config = await withNameFiles(config, stateDir.dir);
  } catch (err) {
    if (config.image) await releaseImage(config.image.store, config.id, stateDir.dir).catch(() => {});
    await dropVolumes(volumes, config.id);
    await stateDir.remove().catch(() => {});
    throw err;
  }
  let leased = false;
  let attached = false;
  let launch: Launch | null = null;
  let firstWrite: Promise<unknown> = Promise.resolve(null);
  let confirmed: Promise<unknown> = Promise.resolve();
  const childOnlyFds: number[] = [];
  const supervisors = new Set<NotifySupervisor>();
  // Requests can come during setup (a filter without no_new_privs goes on
  // before the identity steps): events only from when the Container exists.
  const notifyEvents = { emit: (_: SeccompRequest): void => {} };
  let initPid: number | undefined;
  let container: Container | null = null;
  let configSaved: Promise<void> = Promise.resolve();
  try {
    // Detached: the init waits for start() on the state dir's socket, from
    // whichever process; the resolved config is there for those processes.
    let startFd: number | undefined;
    if (config.detached) {
      startFd = listenForStart(stateDir.startSocket);
      childOnlyFds.push(startFd);
      configSaved = saveConfig(stateDir.configFile, config);
      configSaved.catch(() => {});
    }
    // userns 'auto': a host range of its own, leased once the id is claimed (the lease names the state dir).
    if (config.userns?.auto) {
      const lease = await leaseRange(config.stateRoot, config.id);
      leased = true;
      config = { ...config, userns: withLeasedRange(config.userns, lease.slot, lease.uid, lease.gid) };
    }
    // cgroup v2: the init is born in its cgroup (CLONE_INTO_CGROUP). v1 has no
    // such thing: the child joins (and limits) itself before anything else.
    const placement = await cgroup.childPlacement(config.resources, stateDir.cgroupMarker);
    let cgroupFd = -1;
    if (!placement) {
      await cgroup.create(config.resources);
      // Not awaited: the record written at spawn names them as owned anyway.
      confirmed = stateDir.confirmCgroups().catch(() => {});
      cgroupFd = cgroup.openIntoCgroupFd();
      if (cgroupFd >= 0) childOnlyFds.push(cgroupFd);
    }
    const joins = config.namespaces
      .filter((n) => n.path !== undefined && n.type !== 'user')
      .map((n) => {
        const fd = openOrThrow(n.path!, 'setns', `${n.type} namespace`);
        childOnlyFds.push(fd);
        return { fd, nstype: CLONE_NS[n.type] };
      });
    // A user namespace joined by path is entered after the host's part of the setup (lib/launch/plan.ts).
    const userPath = config.userns?.mode === 'join' ? config.namespaces.find((n) => n.type === 'user')!.path! : undefined;
    const userFd = userPath === undefined ? undefined : openOrThrow(userPath, 'setns', 'user namespace');
    if (userFd !== undefined) childOnlyFds.push(userFd);
    const userns = config.userns;
    const createHooks = hasCreateHooks(config);
    // The networks are attached in the create hooks' pause (before pivot_root, before the program).
    const attach = networks !== undefined || config.userNetwork !== undefined;
    const spawnAt = nowUs();
    // v2: made above. v1: the child is making them now (the claim's planned paths and marker hold).
    const recorded = placement ? { paths: cgroup.paths, marker: stateDir.cgroupMarker } : { paths: cgroup.ownedPaths, marker: undefined };
    launch = await spawnProcess({
      step: 'clone',
      stdio: config.process.stdio,
      plan: (fds) =>
        containerPlan(config, {
          host,
          seccomp,
          fds,
          joins,
          cgroupFd,
          placement,
          cgroupPaths: cgroup.paths,
          execAfterReady,
          // A rootless caller's pasta opens the init's /proc namespaces: dumpable for the pause (nothing of the container runs then; not with a joined pid namespace, whose processes could).
          hooksPause: config.userNetwork && process.geteuid?.() !== 0 && !config.namespaces.some((n) => n.type === 'pid' && n.path !== undefined) ? 2 : createHooks || attach,
          ...(userFd !== undefined ? { userFd } : {}),
          ...(startFd !== undefined ? { startFd } : {}),
        }),
      childOnlyFds,
      forks: initForks(config),
      release,
      // state.json ('created') is written while the child sets itself up; a
      // failed setup waits for this write before removing the directory.
      onSpawned: (pid, startTime) => {
        initPid = pid;
        record.startTime = startTime ?? processStartTime(pid);
        firstWrite = stateDir.write(stateRecord(config, 'created', pid, record, recorded.paths, recorded.marker)).then(() => null, (e: unknown) => e);
      },
      ...(userns?.mode === 'new'
        ? {
            writeMaps: async (pid: number) => {
              await writeIdMaps(pid, userns);
              return makeIdmappedTrees(pid, idmappedTrees(config));
            },
          }
        : {}),
      // prestart, createRuntime, createContainer, before the init's pivot_root: a failure fails create and takes everything down.
      // (Every container has a mount namespace: normalize refuses one without.)
      ...(createHooks || attach
        ? {
            runHooks: async (pid: number) => {
              if (attach) {
                if (config.userNetwork) record.userNetwork = await startUserNetwork(config, pid, stateDir.dir);
                else await attachNetworks(config, pid, record.networks!);
                attached = true;
                // What was made, recorded for a destroy from anywhere (the 'created' write may be under way: after it).
                if (initPid !== undefined) {
                  const write = () => stateDir.write(stateRecord(config, 'created', pid, record, recorded.paths, recorded.marker)).then(() => null, (e: unknown) => e);
                  firstWrite = firstWrite.then((e) => e ?? write());
                }
              }
              if (!createHooks) return;
              const fd = native.pidfdOpen(pid);
              try {
                await runCreateHooks({ config, cgroup, host, supervisors, notifyEvents, launch: { proc: { pid, fd } } }, pid);
              } finally {
                native.close(fd);
              }
            },
          }
        : {}),
      onReport: (r) => {
        if (r.cgroupCreated !== undefined) cgroup.adoptChildCreated(r.cgroupCreated);
      },
      onListener: listenerSink({
        config,
        profile: config.seccomp,
        supervisors,
        onRequest: (req) => notifyEvents.emit(req),
        process: () => ({ pid: launch?.proc.pid ?? initPid, status: container?.status ?? 'creating' }),
      }),
    });
    const readyAt = nowUs();
    await launch.joinerExited; // a pid namespace join: the first process exits right after the fork
    const fds = (options.takeFds ?? []).map((i) => launch!.stdio.streams.takeFd(i));
    if (config.consoleSocket && launch.terminal) {
      // The engine holds the terminal from now on; our copy of the master goes.
      sendToConsoleSocket(config.consoleSocket, launch.terminal.masterFd);
      launch.terminal.destroy();
      launch.terminal = null;
    }
    if (config.detached) {
      // Nothing more comes on it: the init takes its start() peer's connection instead.
      launch.sync.close();
      await configSaved;
    }
    container = new Container({
      config,
      host,
      stateDir,
      launch,
      cgroup,
      record,
      execAfterReady,
      firstWrite: firstWrite.then(() => {}),
      setupTimings: setupTimings(createdAt, spawnAt, launch.marks, readyAt),
      supervisors,
      notifyEvents,
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
    for (const s of [...supervisors]) s.close();
    // Only what this attempt made: killAll() and destroy() touch nothing a
    // create found existing. destroy() runs even when killAll() failed.
    await cgroup.killAll().catch(() => {});
    await cgroup.destroy().catch(() => {});
    await Promise.all([firstWrite, confirmed, configSaved.catch(() => {})]);
    if (attached) await detachNetworks(config.stateRoot, config.id, record.networks).catch(() => {});
    await stopUserNetwork(record.userNetwork);
    if (leased && config.userns?.slot !== undefined) await releaseRange(config.stateRoot, config.id, config.userns.slot).catch(() => {});
    if (config.image) await releaseImage(config.image.store, config.id, stateDir.dir).catch(() => {});
    await dropVolumes(volumes, config.id);
    await stateDir.remove().catch(() => {});
    throw collision(err);
  }
}

/** The child's "mkdirat <leaf>: EEXIST" (cgroup v1) said the way the v2 path says it. */
function collision(err: unknown): unknown {
  if (err instanceof CgroupError && err.errno === 'EEXIST' && err.syscall === 'mkdirat' && err.path) return cgroupExistsError(err.path);
  return err;
}

export async function createContainer(config: ContainerConfig): Promise<Container> {
  return (await createInit(config)).container;
}
