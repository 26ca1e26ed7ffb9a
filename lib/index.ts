// berth: Linux containers for Node.js.
export { Container, createContainer } from './container.js';
export { ContainerProcess } from './process.js';
export { run } from './run.js';
export { ContainerRef, listContainers, loadContainer } from './registry.js';
export type { RegistryOptions } from './registry.js';
export { Terminal } from './terminal.js';
export {
  AbortError,
  BerthError,
  CgroupError,
  ConfigError,
  ContainerExistsError,
  ContainerNotFoundError,
  ExecutableNotFoundError,
  InvalidStateError,
  SetupError,
} from './errors.js';
export {
  DEFAULT_CAPABILITIES,
  DEFAULT_MASKED_PATHS,
  DEFAULT_NAMESPACES,
  DEFAULT_READONLY_PATHS,
} from './config/defaults.js';
export type * from '../types/api.js';
export type * from '../types/oci.js';
