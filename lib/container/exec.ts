// exec: another process in a running container. The spawned process joins
// every namespace of the init (one setns through its pidfd) and its root, then
// forks the process that execs (a new pid namespace applies only to children).
import fs from 'node:fs';
import type { ProcessConfig } from '../../types/api.js';
import { callerFacts, inNewUserNamespace } from '../config/caller.js';
import { resolveExecProcess } from '../config/exec.js';
import { normalizeSeccomp } from '../config/seccomp.js';
import { checkNotifySupervisor } from '../config/seccomp-notify.js';
import { InvalidStateError, SetupError } from '../errors.js';
import { setupSlot } from '../launch/admission.js';
import type { PidHandle } from '../launch/channel.js';
import { execPlan } from '../launch/plan.js';
import { letExec, spawnProcess } from '../launch/spawn.js';
import { applyHostLimits } from '../launch/userns.js';
import { native } from '../native/addon.js';
import { compileSeccomp } from '../seccomp/compile.js';
import type { ContainerParts } from './parts.js';
import { listenerSink } from './notify.js';
import { ContainerProcess } from './process.js';

/**
 * Test seam: called with the host pid of an exec'd process while it sits in the
 * container, set up but not yet exec'd — the window CVE-2019-5736 lived in.
 */
const kBeforeExecStart = Symbol.for('berth.test.beforeExecStart');

export function openOrThrow(path: string, step: string, what: string): number {
  try {
    return fs.openSync(path, 'r');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new SetupError(step, `cannot open ${what} ${path}: ${e.code}`, {
      ...(e.code ? { errno: e.code } : {}),
      syscall: 'open',
      path,
    });
  }
}

/** What an exec needs of its container: a Container's parts, or what a ContainerRef rebuilt from the state dir. */
export type ExecTarget = Pick<ContainerParts, 'config' | 'cgroup' | 'host' | 'supervisors' | 'notifyEvents'> & { launch: { proc: { pid: number; fd: number } } };

/** How an OCI hook run in the container is exec'd (hooks-in-container.ts): this file, not a lookup of args[0]. */
export interface ExecHow {
  execPath?: string;
  /** A create hook runs inside a setup that holds a setup slot already: waiting for another would deadlock. */
  admitted?: boolean;
}

export async function execProcess(parts: ExecTarget, given: ProcessConfig, owner: object, how: ExecHow = {}): Promise<{ proc: PidHandle; handle: ContainerProcess }> {
  const { config, cgroup, host } = parts;
  // Entering the container's user namespace (setns) gives the process every
  // capability there, as making it gave the init: checked against that.
  const proc = resolveExecProcess(config.process, given, config.userns ? inNewUserNamespace(callerFacts()) : callerFacts());
  // The container's filter unless the exec brings its own (null: none). It is
  // installed by the exec'd process itself: a filter is not inherited from the init.
  const ownSeccomp = (given as { seccomp?: unknown }).seccomp;
  const profile = ownSeccomp === undefined ? config.seccomp : normalizeSeccomp(ownSeccomp, 'process.seccomp');
  if (ownSeccomp !== undefined) checkNotifySupervisor(profile, config.seccompNotify, 'process.seccomp', 'seccompNotify');
  const seccomp = profile && (await compileSeccomp(profile, ownSeccomp === undefined ? 'linux.seccomp' : 'process.seccomp'));
  const joinPidfd = parts.launch.proc.fd;
  if (joinPidfd < 0) throw new InvalidStateError('exec', 'stopped', config.id);
  const childOnlyFds: number[] = [];
  let release = () => {};
  let execPid: number | undefined;
  try {
    const joinRootFd = openOrThrow(`/proc/${parts.launch.proc.pid}/root`, 'join', 'the container root');
    childOnlyFds.push(joinRootFd);
    const cgroupFd = cgroup.openIntoCgroupFd();
    if (cgroupFd >= 0) childOnlyFds.push(cgroupFd);
    if (!how.admitted) release = await setupSlot();
    const launch = await spawnProcess({
      step: 'join',
      stdio: proc.stdio,
      plan: (fds) => execPlan(config, proc, { host, seccomp, fds, joinPidfd, joinRootFd, cgroupFd, ...how }),
      childOnlyFds,
      forks: true,
      release,
      onListener: listenerSink({
        config,
        profile,
        supervisors: parts.supervisors,
        onRequest: (req) => parts.notifyEvents.emit(req),
        process: () => ({ pid: execPid, status: 'running' }),
      }),
      onSpawned: (pid) => (execPid = pid),
      // In the container's user namespace the joiner could not raise its own limits.
      ...(config.userns ? { beforeContinue: (pid: number) => applyHostLimits(pid, proc) } : {}),
    });
    try {
      if (cgroupFd < 0) await cgroup.addProcess(launch.proc.pid);
      const hook = (owner as Record<symbol, ((pid: number) => Promise<void>) | undefined>)[kBeforeExecStart];
      if (hook) await hook(launch.proc.pid);
      await letExec(launch, true);
      launch.sync.close();
      await launch.joinerExited;
    } catch (err) {
      launch.sync.close();
      launch.terminal?.destroy();
      await launch.proc.killAndReap();
      launch.stdio.destroyAll();
      throw err;
    }
    const handle = new ContainerProcess(launch.proc, launch.stdio.streams, undefined, launch.terminal);
    launch.stdio.streams.materialize();
    return { proc: launch.proc, handle };
  } catch (err) {
    release();
    for (const fd of childOnlyFds.splice(0)) native.close(fd);
    throw err;
  }
}
