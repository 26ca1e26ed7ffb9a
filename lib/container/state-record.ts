// What state.json holds: the OCI state plus what berth needs to find the
// container's processes and cgroups again from another process.
import type { ContainerState, ContainerStatus, NetworkAttachmentRecord, UserNetworkRecord, VolumeUseRecord } from '../../types/api.js';
import type { ResolvedConfig } from '../config/normalize.js';
import { ownStartTime } from '../state/state-dir.js';

export const OCI_VERSION = '1.2.0';

export interface InitRecord {
  /** ISO time the init was created. */
  created: string;
  /** /proc/<pid>/stat field 22 of the init: a recycled pid is never taken for it. */
  startTime: number | undefined;
  /** config.network: planned at the claim, filled in by the attach (lib/container/network.ts). */
  networks?: NetworkAttachmentRecord[];
  /** The volumes its mounts use (lib/container/volumes.ts), known from the claim on. */
  volumes?: VolumeUseRecord;
  /** config.network { mode: 'pasta' }: filled in by the attach (lib/container/user-network.ts). */
  userNetwork?: UserNetworkRecord;
}

/** `pid` is undefined only in the claim record ('creating': nothing spawned yet). */
export function stateRecord(config: ResolvedConfig, status: ContainerStatus, pid: number | undefined, init: InitRecord, cgroupPaths: string[], cgroupMarker?: string): ContainerState {
  const ownerStartTime = ownStartTime();
  return {
    ociVersion: OCI_VERSION,
    id: config.id,
    status,
    ...(pid !== undefined ? { pid } : {}),
    ...(init.startTime !== undefined ? { pidStartTime: init.startTime } : {}),
    ...(config.bundle ? { bundle: config.bundle } : {}),
    rootfs: config.rootfs,
    created: init.created,
    ownerPid: process.pid,
    ...(ownerStartTime !== undefined ? { ownerStartTime } : {}),
    annotations: config.annotations,
    cgroupPaths,
    ...(cgroupMarker !== undefined ? { cgroupMarker } : {}),
    ...(init.networks ? { networks: init.networks } : {}),
    ...(init.volumes ? { volumes: init.volumes } : {}),
    ...(init.userNetwork ? { userNetwork: init.userNetwork } : {}),
  };
}
