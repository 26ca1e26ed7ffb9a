// berth: Linux containers for Node.js. Everything a caller can name is exported
// here; the layers below (config, host, native, cgroups, state, launch) are not API.
export { Container, type ContainerEvents } from './container/container.js';
export { createContainer } from './container/create.js';
export { ContainerProcess, type ContainerProcessEvents } from './container/process.js';
export { DEFAULT_MAX_OUTPUT_BYTES, run } from './container/run.js';
export { ContainerRef, listContainers, loadContainer, type RefExecOptions, type RegistryOptions } from './container/registry.js';
export { Terminal, type WindowSize } from './launch/terminal.js';
export type { CgroupStats } from './cgroups/manager.js';
export type {
  IdMapping,
  HookName,
  MemoryPolicyFlag,
  MemoryPolicyMode,
  ResolvedCapabilities,
  ResolvedConfig,
  ResolvedCpuAffinity,
  ResolvedDevice,
  ResolvedHook,
  ResolvedHooks,
  ResolvedMemoryPolicy,
  ResolvedIdmap,
  ResolvedImage,
  ResolvedLayers,
  ResolvedMount,
  ResolvedNamespace,
  ResolvedDns,
  ResolvedNames,
  ResolvedNetworkAttachment,
  ResolvedPortMapping,
  ResolvedUserNetwork,
  ResolvedPersonality,
  ResolvedProcess,
  ResolvedRlimit,
  ResolvedScheduler,
  ResolvedTimeOffset,
  ResolvedTimeOffsets,
  ResolvedUserns,
  SchedulerFlag,
  SchedulerPolicy,
  ResolvedSeccomp,
  ResolvedNotify,
  SeccompArg,
  SeccompRule,
} from './config/normalize.js';
export { type Features, features } from './features.js';
export type { ExposedPort } from './image/container-defaults.js';
export {
  exportImage,
  importImage,
  inspectImage,
  listImages,
  removeImage,
  type ExportOptions,
  type ExportResult,
  type ImageConfig,
  type ImageInfo,
  type ImportOptions,
  type ImportProgress,
  type RemoveResult,
  type StoreOptions,
  commitContainer,
  type CommitChanges,
  type CommitLayerOptions,
} from './image/index.js';
export type { CommitOptions } from './container/commit.js';
export type { CopyInOptions } from '../types/api.js';
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
} from './volume/index.js';
export {
  createNetwork,
  inspectNetwork,
  listNetworks,
  removeNetwork,
  type CreateNetworkOptions,
  type NetworkInfo,
  type NetworkStoreOptions,
} from './network/networks.js';
export { NetworkError, type NetworkErrorCode } from './network/errors.js';
export {
  AbortError,
  BerthError,
  CgroupError,
  ConfigError,
  ContainerExistsError,
  ContainerNotFoundError,
  ExecutableNotFoundError,
  HookError,
  ImageError,
  InvalidStateError,
  SetupError,
  VolumeError,
  CopyError,
  type ErrorDetail,
} from './errors.js';
export {
  DEFAULT_CAPABILITIES,
  DEFAULT_MASKED_PATHS,
  DEFAULT_NAMESPACES,
  DEFAULT_READONLY_PATHS,
  defaultMounts,
} from './config/defaults.js';
export type * from '../types/api.js';
export type * from '../types/oci.js';
