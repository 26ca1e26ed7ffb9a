// What a container is made of, as create.ts assembles it: shared by the
// Container class and the verbs in their own files (exec.ts), without either
// importing the other's module for it.
import type { SeccompRequest } from '../../types/api.js';
import type { CgroupManager } from '../cgroups/index.js';
import type { ResolvedConfig } from '../config/normalize.js';
import type { HostFacts } from '../host/index.js';
import type { Launch } from '../launch/spawn.js';
import type { NotifySupervisor } from '../seccomp/notify.js';
import type { StateDir } from '../state/state-dir.js';
import type { InitRecord } from './state-record.js';

/** Everything a container is made of, as create.ts assembled it. */
export interface ContainerParts {
  config: ResolvedConfig;
  host: HostFacts;
  stateDir: StateDir;
  launch: Launch;
  cgroup: CgroupManager;
  record: InitRecord;
  /** run(): the init execs right after setup; start() only confirms it and defers its state write. */
  execAfterReady: boolean;
  /** The 'created' state.json write, under way while setup finished. */
  firstWrite: Promise<void>;
  setupTimings: Record<string, number>;
  /** The seccomp notify supervisors of the init and of exec'd processes (closed by destroy()). */
  supervisors: Set<NotifySupervisor>;
  /** Where requests go as 'seccomp' events, once the Container exists. */
  notifyEvents: { emit(request: SeccompRequest): void };
}
