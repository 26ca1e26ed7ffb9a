// Where a process's seccomp notify listener goes: to the in-process
// supervisor that runs the config's seccompNotify.handler, or, for a profile
// with a listenerPath, to that OCI agent (the fd and the container process
// state, as runc sends them), after which berth keeps no copy.
import type { ContainerStatus, SeccompRequest } from '../../types/api.js';
import type { ResolvedConfig } from '../config/normalize.js';
import { SetupError } from '../errors.js';
import type { ListenerSink } from '../launch/channel.js';
import { native } from '../native/addon.js';
import { NotifySupervisor } from '../seccomp/notify.js';
import { type ResolvedSeccomp, notifies } from '../seccomp/profile.js';
import { OCI_VERSION } from './state-record.js';

export interface ListenerTarget {
  config: ResolvedConfig;
  /** The profile the process installs. */
  profile: ResolvedSeccomp | null;
  /** The container's live supervisors: each joins on start and leaves when it closes. */
  supervisors: Set<NotifySupervisor>;
  /** The 'seccomp' event. */
  onRequest(request: SeccompRequest): void;
  /** For the agent: the pid of the process that installed the filter, and the container's status. */
  process(): { pid: number | undefined; status: ContainerStatus };
}

/** The runtime-spec's "container process state" (config-linux.md, seccomp): what an agent at listenerPath reads. */
export function containerProcessState(config: ResolvedConfig, metadata: string | undefined, pid: number | undefined, status: ContainerStatus) {
  return {
    ociVersion: OCI_VERSION,
    fds: ['seccompFd'],
    ...(pid !== undefined ? { pid } : {}),
    ...(metadata !== undefined ? { metadata } : {}),
    state: {
      ociVersion: OCI_VERSION,
      id: config.id,
      status,
      ...(pid !== undefined ? { pid } : {}),
      bundle: config.bundle ?? '',
      annotations: config.annotations,
    },
  };
}

/** The sink for a process that installs `profile`, or undefined when it has no NOTIFY rule. */
export function listenerSink(t: ListenerTarget): ListenerSink | undefined {
  const { config, profile } = t;
  if (!notifies(profile)) return undefined;
  const agent = profile!.listenerPath;
  if (agent !== undefined) {
    return (fd) => {
      const { pid, status } = t.process();
      try {
        native.sendListener(agent, fd, JSON.stringify(containerProcessState(config, profile!.listenerMetadata, pid, status)));
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        throw new SetupError('seccomp', `cannot hand the seccomp notify listener to the agent at ${agent}: ${e.code ?? e.message}`, {
          ...(e.code ? { errno: e.code } : {}),
          syscall: e.syscall ?? 'sendmsg',
          path: agent,
          cause: err,
        });
      } finally {
        native.close(fd);
      }
    };
  }
  // config checks made sure of a handler (checkNotifySupervisor).
  const notify = config.seccompNotify!;
  return (fd) => {
    const supervisor: NotifySupervisor = new NotifySupervisor(fd, {
      ...notify,
      containerId: config.id,
      onRequest: t.onRequest,
      onClose: () => t.supervisors.delete(supervisor),
    });
    t.supervisors.add(supervisor);
  };
}
