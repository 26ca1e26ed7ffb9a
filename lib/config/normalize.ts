// config (user) -> ResolvedConfig: every field validated (a ConfigError names the
// JSON path of the first bad one), defaults filled in, paths resolved. Nothing
// on the system is changed here; a bad config leaves no trace.
import crypto from 'node:crypto';
import { accessSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ContainerConfig } from '../../types/api.js';
import type { LinuxNamespaceType, LinuxResources } from '../../types/oci.js';
import { ConfigError } from '../errors.js';
import type { HostCgroupInfo } from '../host/index.js';
import { cgroupSegments } from '../cgroups/paths.js';
import type { ResolvedSeccomp } from '../seccomp/profile.js';
import { defaultStateRoot } from '../state/state-dir.js';
import { absPath, isObject, optArray, optBool, optObject, optStr, str, strArray } from './check.js';
import { DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS, defaultMounts } from './defaults.js';
import { type ResolvedDevice, normalizeDevices, withDeviceRules } from './devices.js';
import { readBundle, validateId } from './identity.js';
import { type ResolvedMount, propagationFlag, resolveMount } from './mounts.js';
import { type ResolvedNamespace, normalizeNamespaces } from './namespaces.js';
import { type ResolvedProcess, normalizeProcess } from './process.js';
import { validateResources } from './resources.js';
import { resolveSeccomp } from './seccomp.js';
import { normalizeSysctl } from './sysctl.js';

export type { ResolvedCapabilities, ResolvedProcess } from './process.js';
export type { ResolvedNamespace } from './namespaces.js';
export type { ResolvedDevice } from './devices.js';
export type { ResolvedMount } from './mounts.js';
export type { ResolvedSeccomp, SeccompArg, SeccompRule } from '../seccomp/profile.js';

const HOSTNAME_PATTERN = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})?$/;


export interface ResolvedConfig {
  id: string;
  stateRoot: string;
  bundle?: string;
  rootfs: string;
  readonlyRoot: boolean;
  hostname?: string;
  domainname?: string;
  mounts: ResolvedMount[];
  namespaces: ResolvedNamespace[];
  process: ResolvedProcess;
  maskedPaths: string[];
  readonlyPaths: string[];
  sysctl: Record<string, string>;
  devices: ResolvedDevice[];
  rootfsPropagation: number;
  resources?: LinuxResources;
  cgroupsPath?: string;
  /** The filter every process of the container runs under (berth's default unless given); null: none. */
  seccomp: ResolvedSeccomp | null;
  annotations: Record<string, string>;
  dieWithParent: boolean;
}

/**
 * Reads a bundle if one is given and validates everything against the host's
 * cgroup facts (passed in); no side effects.
 */
export async function normalizeConfig(input: ContainerConfig, host: HostCgroupInfo): Promise<ResolvedConfig> {
  if (!isObject(input)) throw new ConfigError('$', 'config must be an object');
  let cfg: ContainerConfig = input;
  let bundle: string | undefined;
  if (input.bundle !== undefined) {
    bundle = path.resolve(str(input.bundle, 'bundle'));
    const spec = await readBundle(bundle);
    cfg = {
      ...(spec as ContainerConfig),
      ...input,
      process: { ...(spec.process ?? {}), ...(input.process ?? {}) } as ContainerConfig['process'],
      linux: { ...(spec.linux ?? {}), ...(input.linux ?? {}) },
    };
  }
  const id = cfg.id === undefined ? `berth-${crypto.randomBytes(6).toString('hex')}` : validateId(cfg.id);
  const root = optObject(cfg.root, 'root');
  const rootField = cfg.rootfs !== undefined ? 'rootfs' : 'root.path';
  let rootPath = cfg.rootfs !== undefined ? str(cfg.rootfs, 'rootfs') : optStr(root?.path, 'root.path');
  if (rootPath === undefined) throw new ConfigError('root.path', 'a root filesystem is required (rootfs or root.path)');
  rootPath = path.resolve(bundle ?? process.cwd(), rootPath);
  let rootfs: string;
  try {
    // Sync: a few µs of metadata lookups; a thread-pool round trip each costs more.
    rootfs = realpathSync.native(rootPath);
    if (!statSync(rootfs).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (err) {
    throw new ConfigError(rootField, `root filesystem ${rootPath}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  const linux = optObject(cfg.linux, 'linux') ?? {};
  // Fields berth cannot honour yet are refused, not ignored: a caller who asks
  // for a user namespace or hooks must not get a container without them.
  const unsupported: Array<[unknown, string, string]> = [
    [linux.uidMappings, 'linux.uidMappings', 'user namespaces are not supported yet'],
    [linux.gidMappings, 'linux.gidMappings', 'user namespaces are not supported yet'],
    [cfg.hooks && Object.values(cfg.hooks).some((h) => Array.isArray(h) && h.length > 0) ? cfg.hooks : undefined, 'hooks', 'OCI hooks are not supported yet'],
  ];
  for (const [value, field, why] of unsupported) {
    if (value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0)) throw new ConfigError(field, why);
  }
  const namespaces = normalizeNamespaces(linux.namespaces, 'linux.namespaces');
  const ownNs = (t: LinuxNamespaceType) => namespaces.some((n) => n.type === t && n.path === undefined);
  const hostname = optStr(cfg.hostname, 'hostname') ?? (ownNs('uts') ? id.slice(0, 63) : undefined);
  if (hostname !== undefined) {
    if (!HOSTNAME_PATTERN.test(hostname)) throw new ConfigError('hostname', `"${hostname}" is not a valid hostname`);
    if (!ownNs('uts')) throw new ConfigError('hostname', 'needs a new uts namespace');
  }
  const domainname = optStr(cfg.domainname, 'domainname');
  if (domainname !== undefined && !ownNs('uts')) throw new ConfigError('domainname', 'needs a new uts namespace');
  const mountsRaw = optArray(cfg.mounts, 'mounts') ?? defaultMounts();
  const mounts: ResolvedMount[] = [];
  for (let i = 0; i < mountsRaw.length; i++) mounts.push(resolveMount(mountsRaw[i], `mounts[${i}]`, bundle));
  for (const [i, n] of namespaces.entries()) {
    if (n.path === undefined) continue;
    try {
      accessSync(n.path);
    } catch (err) {
      throw new ConfigError(`linux.namespaces[${i}].path`, `${n.path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
  }
  const processCfg = normalizeProcess(cfg.process, 'process');
  if ((cfg.process as { seccomp?: unknown } | undefined)?.seccomp !== undefined) {
    throw new ConfigError('process.seccomp', "is for exec(): a container's own filter is linux.seccomp");
  }
  const seccomp = resolveSeccomp(linux.seccomp, 'linux.seccomp', { fromBundle: bundle !== undefined, bounding: processCfg.capabilities.bounding });
  const stateRoot = cfg.stateRoot === undefined ? defaultStateRoot() : absPath(cfg.stateRoot, 'stateRoot');
  const resourcesGiven = optObject(linux.resources, 'linux.resources') as LinuxResources | undefined;
  const devices = normalizeDevices(linux.devices, 'linux.devices');
  const resources = withDeviceRules(resourcesGiven, devices);
  const cgroupsPath = optStr(linux.cgroupsPath, 'linux.cgroupsPath');
  cgroupSegments(id, cgroupsPath); // a path that escapes the hierarchy is a ConfigError now
  validateResources(resources, host, 'linux.resources');
  const annotations = optObject(cfg.annotations, 'annotations') ?? {};
  for (const [k, v] of Object.entries(annotations)) str(v, `annotations.${k}`);
  return {
    id,
    stateRoot,
    ...(bundle !== undefined ? { bundle } : {}),
    rootfs,
    readonlyRoot: optBool(root?.readonly, 'root.readonly') ?? false,
    ...(hostname !== undefined ? { hostname } : {}),
    ...(domainname !== undefined ? { domainname } : {}),
    mounts,
    namespaces,
    process: processCfg,
    maskedPaths: linux.maskedPaths === undefined ? [...DEFAULT_MASKED_PATHS] : strArray(linux.maskedPaths, 'linux.maskedPaths').map((p, i) => absPath(p, `linux.maskedPaths[${i}]`)),
    readonlyPaths: linux.readonlyPaths === undefined ? [...DEFAULT_READONLY_PATHS] : strArray(linux.readonlyPaths, 'linux.readonlyPaths').map((p, i) => absPath(p, `linux.readonlyPaths[${i}]`)),
    sysctl: normalizeSysctl(linux.sysctl, 'linux.sysctl', namespaces),
    devices,
    rootfsPropagation: linux.rootfsPropagation === undefined ? 0 : propagationFlag(str(linux.rootfsPropagation, 'linux.rootfsPropagation'), 'linux.rootfsPropagation'),
    ...(resources !== undefined ? { resources } : {}),
    ...(cgroupsPath !== undefined ? { cgroupsPath } : {}),
    seccomp,
    annotations: annotations as Record<string, string>,
    dieWithParent: optBool(cfg.dieWithParent, 'dieWithParent') ?? true,
  };
}
