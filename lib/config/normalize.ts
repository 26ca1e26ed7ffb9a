// config (user) -> ResolvedConfig: every field validated (a ConfigError names the
// JSON path of the first bad one), defaults filled in, paths resolved. Nothing
// on the system is changed here; a bad config leaves no trace.
import { normalizeDetach } from './detach.js';
import crypto from 'node:crypto';
import path from 'node:path';
import type { ContainerConfig } from '../../types/api.js';
import type { LinuxNamespaceType, LinuxResources } from '../../types/oci.js';
import { ConfigError } from '../errors.js';
import type { HostCgroupInfo } from '../host/index.js';
import { MS } from '../kernel/abi.js';
import { cgroupSegments } from '../cgroups/paths.js';
import type { ResolvedSeccomp } from '../seccomp/profile.js';
import { defaultStateRoot } from '../state/state-dir.js';
import { type CallerFacts, callerFacts, inNewUserNamespace } from './caller.js';
import { absPath, containerPath, hostPath, isObject, optArray, optBool, optObject, optStr, plainJson, str, strArray } from './check.js';
import { DEFAULT_CGROUP_MOUNT, DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS, defaultMounts } from './defaults.js';
import { type ResolvedDevice, checkDeviceTargets, normalizeDevices, withDeviceRules } from './devices.js';
import { type ResolvedHooks, normalizeHooks } from './hooks.js';
import { readBundle, validateId } from './identity.js';
import { type ResolvedMount, propagationFlag, resolveMount } from './mounts.js';
import { resolveVolumeMount, volumeStoreOf, withImageVolumes } from './volume-mounts.js';
import { type ResolvedImage, normalizeImage } from './image.js';
import { type ResolvedLayers, normalizeRootfs } from './rootfs.js';
import { type ResolvedUserns, checkIdmaps, fitMountsToMaps, normalizeUserns } from './userns.js';
import { type ResolvedNamespace, normalizeNamespaces } from './namespaces.js';
import { type ResolvedNames, type ResolvedNetworkAttachment, normalizeNetwork } from './network.js';
import type { ResolvedUserNetwork } from './user-network.js';
import { type ResolvedProcess, normalizeProcess } from './process.js';
import { validateResources, withoutNullLimits } from './resources.js';
import { resolveSeccomp } from './seccomp.js';
import { checkNotifySupervisor, normalizeSeccompNotify } from './seccomp-notify.js';
import type { ResolvedNotify } from '../seccomp/notify.js';
import { normalizeSysctl } from './sysctl.js';
import { lsmSetting } from './lsm.js';
import { type ResolvedMemoryPolicy, normalizeMemoryPolicy } from './memory-policy.js';
import { type ResolvedPersonality, normalizePersonality } from './personality.js';
import { type ResolvedTimeOffsets, normalizeTimeOffsets } from './time.js';

export type { ResolvedCapabilities, ResolvedProcess } from './process.js';
export type { ResolvedRlimit } from './rlimits.js';
export type { ResolvedNamespace } from './namespaces.js';
export type { ResolvedDns, ResolvedNames, ResolvedNetworkAttachment, ResolvedPortMapping } from './network.js';
export type { ResolvedUserNetwork } from './user-network.js';
export type { ResolvedDevice } from './devices.js';
export type { HookName, ResolvedHook, ResolvedHooks } from './hooks.js';
export type { ResolvedIdmap, ResolvedMount } from './mounts.js';
export type { ResolvedCpuAffinity } from './cpu-affinity.js';
export type { MemoryPolicyFlag, MemoryPolicyMode, ResolvedMemoryPolicy } from './memory-policy.js';
export type { ResolvedPersonality } from './personality.js';
export type { ResolvedScheduler, SchedulerFlag, SchedulerPolicy } from './scheduler.js';
export type { ResolvedTimeOffset, ResolvedTimeOffsets } from './time.js';
export type { IdMapping, ResolvedUserns } from './userns.js';
export type { ResolvedLayers } from './rootfs.js';
export type { ResolvedImage } from './image.js';
export type { ResolvedSeccomp, SeccompArg, SeccompRule } from '../seccomp/profile.js';
export type { ResolvedNotify } from '../seccomp/notify.js';

const HOSTNAME_PATTERN = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})?$/;
/** __NEW_UTS_LEN: sethostname/setdomainname refuse longer names (EINVAL). */
const UTS_NAME_MAX = 64;


export interface ResolvedConfig {
  id: string;
  stateRoot: string;
  bundle?: string;
  rootfs: string;
  /** An overlay rootfs (lib/config/rootfs.ts): `rootfs` is then its mount point in `layers.dir`. */
  layers?: ResolvedLayers;
  /** config.image: the image (and store) the rootfs's layers come from (lib/config/image.ts). */
  image?: ResolvedImage;
  /** The store the volume mounts' volumes are in (set when a mount is one: mounts[i].volume). */
  volumeStore?: string;
  readonlyRoot: boolean;
  /** root.idmap: the rootfs is an idmapped mount with the container's maps (host root's files are the container root's). */
  rootfsIdmap?: boolean;
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
  /**
   * The JSON paths of the linux.resources fields the caller set (berth's own
   * default device rules are not among them): what needs a cgroup of the
   * container's own, where the cgroup tree is read-only or cannot hand down controllers.
   */
  resourceFields?: string[];
  cgroupsPath?: string;
  /** The filter every process of the container runs under (berth's default unless given); null: none. */
  seccomp: ResolvedSeccomp | null;
  /** Answers the NOTIFY rules of linux.seccomp (and of an exec's own profile) in this process. */
  seccompNotify?: ResolvedNotify;
  annotations: Record<string, string>;
  /** OCI hooks, every kind present (empty when none): run by lib/hooks/run.ts at their lifecycle points. */
  hooks: ResolvedHooks;
  dieWithParent: boolean;
  /** Outlives its creator: no parent-death signal, started through the state dir's start socket (lib/container/detach.ts). */
  detached: boolean;
  /** The pty master goes to this unix socket (runc's --console-socket). */
  consoleSocket?: string;
  timeOffsets?: ResolvedTimeOffsets;
  /** A user namespace: new (with the maps the parent writes) or joined by path. */
  userns?: ResolvedUserns;
  personality?: ResolvedPersonality;
  memoryPolicy?: ResolvedMemoryPolicy;
  /** SELinux context of the container's own filesystems (context= mount option). */
  mountLabel?: string;
  /** config.network: the bridge networks it joins, in order (eth0, eth1, …; lib/config/network.ts). */
  network?: ResolvedNetworkAttachment[];
  /** config.network { mode: 'pasta' }: user-mode networking (lib/config/user-network.ts). */
  userNetwork?: ResolvedUserNetwork;
  /** The /etc files berth writes in the state dir and binds in (a container that joins a network). */
  names?: ResolvedNames;
}

/**
 * The mount(2) flags for the container's root, applied after pivot_root: the
 * r-variants to every mount of the container (MS_REC), the others to its root.
 * Without a mount namespace of its own the root would be the host's.
 */
function rootfsPropagation(value: unknown, ownMountNs: boolean, field: string): number {
  if (value === undefined) return 0;
  const name = str(value, field);
  const flag = propagationFlag(name, field) | (name.startsWith('r') ? MS.REC : 0);
  if (!ownMountNs) throw new ConfigError(field, "needs a new mount namespace (it would change the host's mounts)");
  return flag;
}

const PLATFORM_SECTIONS: Array<[string, string]> = [
  ['windows', 'is for Windows containers; berth runs Linux containers'],
  ['solaris', 'is for Solaris zones; berth runs Linux containers'],
  ['zos', 'is for z/OS; berth runs Linux containers'],
  ['vm', 'is for VM-based runtimes (a hypervisor and guest kernel); berth runs containers on the host kernel'],
];

/**
 * OCI fields berth does not implement, refused rather than ignored (a caller
 * who asks for them must not get a container without them). An empty object
 * asks for nothing and passes, as null does.
 */
function refuseUnimplemented(cfg: Record<string, unknown>, linux: Record<string, unknown>): void {
  const asks = (v: unknown): boolean => v !== undefined && v !== null && !(isObject(v) && Object.keys(v).length === 0);
  for (const [section, why] of PLATFORM_SECTIONS) if (asks(cfg[section])) throw new ConfigError(section, why);
  const proc = isObject(cfg.process) ? cfg.process : {};
  if (proc.commandLine !== undefined) throw new ConfigError('process.commandLine', 'is Windows-only; on Linux the command is process.args');
  if (asks(linux.intelRdt)) throw new ConfigError('linux.intelRdt', 'Intel RDT (resctrl) is not supported by berth');
  if (asks(linux.netDevices)) throw new ConfigError('linux.netDevices', 'moving host network devices into the container is not supported by berth');
}

/**
 * Reads a bundle if one is given and validates everything against the host's
 * cgroup facts and what the kernel will hold the child to (`caller`: this
 * process's credentials and limits, read when absent); no side effects.
 */
export async function normalizeConfig(given: ContainerConfig, host: HostCgroupInfo, caller: CallerFacts = callerFacts()): Promise<ResolvedConfig> {
  if (!isObject(given)) throw new ConfigError('$', 'config must be an object');
  // From here on the checks read a plain copy: nothing the caller's object
  // does later (getters, proxies, mutation) can differ from what was checked.
  // seccompNotify holds a function: taken aside, the rest must be JSON data.
  const { seccompNotify: notifyGiven, ...data } = given;
  const input = plainJson(data, '') as ContainerConfig;
  let cfg: ContainerConfig = input;
  let bundle: string | undefined;
  if (input.bundle !== undefined) {
    bundle = path.resolve(hostPath(input.bundle, 'bundle'));
    optObject(input.process, 'process');
    optObject(input.linux, 'linux');
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
  const stateRoot = cfg.stateRoot === undefined ? defaultStateRoot() : absPath(cfg.stateRoot, 'stateRoot');
  const fromImage = cfg.image !== undefined ? normalizeImage(cfg as Parameters<typeof normalizeImage>[0], { id, stateRoot }) : undefined;
  if (fromImage) cfg = { ...cfg, process: fromImage.process };
  else if (isObject(cfg.process) && (cfg.process as { entrypoint?: unknown }).entrypoint !== undefined) {
    throw new ConfigError('process.entrypoint', "is an image's Entrypoint override: it needs image");
  }
  const { rootfs, layers } = fromImage ?? normalizeRootfs(cfg as { rootfs?: unknown; root?: { path?: unknown } }, bundle ?? process.cwd(), { id, stateRoot });
  const linux = optObject(cfg.linux, 'linux') ?? {};
  refuseUnimplemented(cfg as unknown as Record<string, unknown>, linux);
  const namespaces = normalizeNamespaces(linux.namespaces, 'linux.namespaces', { literal: bundle !== undefined });
  // Without one the child has nowhere to mount or pivot into, and the process
  // would run in the host's filesystem with rootfs ignored (runc refuses the
  // same config for its masked paths). The namespace list is the field to fix:
  // berth always needs a rootfs.
  if (!namespaces.some((n) => n.type === 'mount')) {
    throw new ConfigError('linux.namespaces', 'has no mount namespace, which the root filesystem, mounts and masked paths need: add { type: "mount" }');
  }
  const ownNs = (t: LinuxNamespaceType) => namespaces.some((n) => n.type === t && n.path === undefined);
  const hasNs = (t: LinuxNamespaceType) => namespaces.some((n) => n.type === t);
  // The default hostname is the id as a hostname can spell it: ids may hold '_',
  // hostnames may not (an id the caller may use must not make a field they never set invalid).
  const hostname = optStr(cfg.hostname, 'hostname') ?? (ownNs('uts') ? id.slice(0, 63).replace(/_/g, '-') : undefined);
  if (hostname !== undefined) {
    if (!HOSTNAME_PATTERN.test(hostname)) throw new ConfigError('hostname', `"${hostname.slice(0, 80)}" is not a valid hostname`);
    // A joined uts namespace is the container's too: its name is set there, as runc does.
    if (!hasNs('uts')) throw new ConfigError('hostname', 'needs a uts namespace (new or joined)');
  }
  const domainname = optStr(cfg.domainname, 'domainname');
  if (domainname !== undefined && !hasNs('uts')) throw new ConfigError('domainname', 'needs a uts namespace (new or joined)');
  if (domainname !== undefined && Buffer.byteLength(domainname) > UTS_NAME_MAX) {
    throw new ConfigError('domainname', `is ${Buffer.byteLength(domainname)} bytes; the kernel takes at most ${UTS_NAME_MAX}`);
  }
  // A caller that is not root gets a user namespace, with itself as the
  // container's root: the kernel makes the other namespaces only inside one.
  const rootless = caller.euid !== 0;
  if (rootless && cfg.userns === undefined && !namespaces.some((n) => n.type === 'user')) namespaces.push({ type: 'user' });
  const mountsRaw = optArray(cfg.mounts, 'mounts');
  // With a cgroup namespace of its own the container also sees its cgroup at
  // /sys/fs/cgroup, read-only, as runc's default spec mounts it: what a Node,
  // JVM or Go runtime inside reads to size itself to its limits. (The plan
  // mounts it on a pure v2 host; v1 hierarchies inside are not done yet.)
  // Not where /sys is the host's, bound (a user namespace without a network
  // namespace of its own, plan.ts): its /sys/fs/cgroup is already there.
  const hostSys = (cfg.userns !== undefined || namespaces.some((n) => n.type === 'user')) && !ownNs('network');
  const mountsGiven = mountsRaw ?? [...defaultMounts(), ...(ownNs('cgroup') && !hostSys ? [DEFAULT_CGROUP_MOUNT] : [])];
  const mounts: ResolvedMount[] = [];
  const storeDir = optStr(cfg.store, 'store');
  if (storeDir !== undefined && !path.isAbsolute(storeDir)) throw new ConfigError('store', `must be an absolute path, got "${storeDir.slice(0, 80)}"`);
  const volumeStore = volumeStoreOf(fromImage?.image.store ?? storeDir);
  for (let i = 0; i < mountsGiven.length; i++) {
    const m = mountsGiven[i] as { type?: unknown } | null;
    mounts.push(isObject(m) && m.type === 'volume' ? resolveVolumeMount(m as Record<string, unknown>, `mounts[${i}]`, volumeStore) : resolveMount(m, `mounts[${i}]`, bundle));
  }
  // The image's Volumes: anonymous volumes, unless a mount is already there.
  if (fromImage && fromImage.image.volumes.length > 0) mounts.splice(0, mounts.length, ...withImageVolumes(mounts, fromImage.image.volumes, volumeStore));
  // In a user namespace of its own the child holds every capability there.
  const newUserns = cfg.userns !== undefined || namespaces.some((n) => n.type === 'user' && n.path === undefined);
  // A bundle's config.json is taken literally (engines say what they want): no no_new_privs unless it asks.
  const processCfg = normalizeProcess(cfg.process, 'process', newUserns ? inNewUserNamespace(caller) : caller, { literal: bundle !== undefined });
  if ((cfg.process as { seccomp?: unknown } | undefined)?.seccomp !== undefined) {
    throw new ConfigError('process.seccomp', "is for exec(): a container's own filter is linux.seccomp");
  }
  const seccomp = resolveSeccomp(linux.seccomp, 'linux.seccomp', { fromBundle: bundle !== undefined, bounding: processCfg.capabilities.bounding });
  const seccompNotify = normalizeSeccompNotify(notifyGiven, 'seccompNotify');
  checkNotifySupervisor(seccomp, seccompNotify, 'linux.seccomp', 'seccompNotify');
  const resourcesGiven = optObject(linux.resources, 'linux.resources') as LinuxResources | undefined;
  const devices = normalizeDevices(linux.devices, 'linux.devices');
  checkDeviceTargets(devices, mounts, 'linux.devices');
  // Validated before the device rules are appended: a non-array `devices` is
  // the caller's to fix, named as such.
  validateResources(resourcesGiven, host, 'linux.resources');
  // A rootless caller has no device cgroup: loading the v2 device program
  // needs CAP_BPF or CAP_SYS_ADMIN in the initial namespace, and a v1 devices
  // cgroup is root's. Nor can a node be made in its user namespace: the
  // container's devices are binds of the host's, guarded by their own modes.
  // So, as runc and crun rootless, no default rules; given ones are refused.
  if (rootless && resourcesGiven?.devices !== undefined && resourcesGiven.devices !== null) {
    throw new ConfigError('linux.resources.devices', `device cgroup rules need a device program or devices cgroup, which uid ${caller.euid} cannot have (the container's devices are binds of the host's nodes, guarded by their modes): leave them out`);
  }
  const resources = rootless ? resourcesGiven : withDeviceRules(resourcesGiven, devices);
  const cgroupsPath = optStr(linux.cgroupsPath, 'linux.cgroupsPath');
  cgroupSegments(id, cgroupsPath); // a path that escapes the hierarchy is a ConfigError now
  validateResources(resources, host, 'linux.resources', () => undefined); // warned above already
  const limits = withoutNullLimits(resources);
  const resourceFields = givenFields(withoutNullLimits(resourcesGiven), 'linux.resources');
  const userns = normalizeUserns({
    auto: cfg.userns,
    uidMappings: linux.uidMappings,
    gidMappings: linux.gidMappings,
    namespaces,
    user: processCfg,
    ...(rootless ? { rootless: { uid: caller.euid, gid: caller.egid } } : {}),
  });
  fitMountsToMaps(mounts, userns, mountsRaw === undefined);
  // 'auto' idmaps the rootfs unless told not to: a rootfs owned by host root is then usable as is.
  const rootfsIdmap = optBool((root as { idmap?: unknown } | undefined)?.idmap, 'root.idmap') ?? (userns?.auto === true && !layers);
  // Layers owned by host root would show as nobody's in a new user namespace (an
  // idmapped overlay of idmapped layers is not built yet): refused, not half-working.
  if (layers && newUserns) throw new ConfigError('rootfs.overlay', 'an overlay rootfs in a new user namespace is not supported yet');
  checkIdmaps(userns, mounts, rootfsIdmap);
  const timeOffsets = normalizeTimeOffsets(linux.timeOffsets, 'linux.timeOffsets', namespaces);
  const personality = normalizePersonality(linux.personality, 'linux.personality');
  const memoryPolicy = normalizeMemoryPolicy(linux.memoryPolicy, 'linux.memoryPolicy');
  const mountLabel = lsmSetting(linux.mountLabel, 'linux.mountLabel', 'selinux');
  const annotations = optObject(cfg.annotations, 'annotations') ?? {};
  for (const [k, v] of Object.entries(annotations)) str(v, `annotations.${k}`);
  const hooks = normalizeHooks(cfg.hooks, 'hooks');
  const networks = normalizeNetwork(cfg, { id, stateRoot, ownNetworkNs: ownNs('network'), euid: caller.euid, hostname, mountDestinations: mounts.map((m) => m.destination), usernsMode: userns?.mode });
  return {
    id,
    stateRoot,
    ...(bundle !== undefined ? { bundle } : {}),
    rootfs,
    ...(layers ? { layers } : {}),
    ...(fromImage ? { image: fromImage.image } : {}),
    ...(mounts.some((m) => m.volume) ? { volumeStore } : {}),
    readonlyRoot: optBool(root?.readonly, 'root.readonly') ?? false,
    ...(rootfsIdmap ? { rootfsIdmap } : {}),
    ...(hostname !== undefined ? { hostname } : {}),
    ...(domainname !== undefined ? { domainname } : {}),
    mounts,
    namespaces,
    process: processCfg,
    maskedPaths: linux.maskedPaths === undefined ? [...DEFAULT_MASKED_PATHS] : strArray(linux.maskedPaths, 'linux.maskedPaths').map((p, i) => containerPath(p, `linux.maskedPaths[${i}]`)),
    readonlyPaths: linux.readonlyPaths === undefined ? [...DEFAULT_READONLY_PATHS] : strArray(linux.readonlyPaths, 'linux.readonlyPaths').map((p, i) => containerPath(p, `linux.readonlyPaths[${i}]`)),
    sysctl: normalizeSysctl(linux.sysctl, 'linux.sysctl', namespaces, mounts),
    devices,
    rootfsPropagation: rootfsPropagation(linux.rootfsPropagation, hasNs('mount'), 'linux.rootfsPropagation'),
    ...(limits !== undefined ? { resources: limits } : {}),
    ...(resourceFields.length > 0 ? { resourceFields } : {}),
    ...(cgroupsPath !== undefined ? { cgroupsPath } : {}),
    seccomp,
    ...(seccompNotify ? { seccompNotify } : {}),
    annotations: annotations as Record<string, string>,
    hooks,
    ...normalizeDetach(cfg, { terminal: processCfg.terminal, notifyHandler: seccompNotify !== undefined }),
    ...(timeOffsets ? { timeOffsets } : {}),
    ...(userns ? { userns } : {}),
    ...(personality ? { personality } : {}),
    ...(memoryPolicy ? { memoryPolicy } : {}),
    ...(mountLabel !== undefined ? { mountLabel } : {}),
    ...networks,
  };
}

/** `linux.resources.memory`, … for each field of `resources` that says something (an empty object or array does not). */
function givenFields(resources: LinuxResources | undefined, at: string): string[] {
  const says = (v: unknown): boolean =>
    v !== undefined && v !== null && (Array.isArray(v) ? v.length > 0 : typeof v !== 'object' || Object.values(v).some(says));
  return Object.entries(resources ?? {})
    .filter(([, v]) => says(v))
    .map(([k]) => `${at}.${k}`);
}
