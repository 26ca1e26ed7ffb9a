// Volumes' public face (re-exported by lib/index.ts). acquireVolume and
// releaseVolume are for the container side (mounts of type 'volume'), and
// exported for engines that keep their own containers.
export {
  acquireVolume,
  createVolume,
  inspectVolume,
  listVolumes,
  releaseVolume,
  removeVolume,
  type AcquireVolumeOptions,
  type CreateVolumeOptions,
  type RemoveVolumeOptions,
  type VolumeInfo,
  type VolumeStoreOptions,
} from './volumes.js';
export { VOLUME_NAME_RE, volumeNameProblem } from './names.js';
