// config (user) -> ResolvedConfig: every field validated (a ConfigError names the
// JSON path of the first bad one), defaults filled in, paths resolved. Nothing
// on the system is changed here; a bad config leaves no trace.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import { accessSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ContainerConfig, StdioOption } from '../../types/api.js';
import type { LinuxNamespaceType, LinuxResources, Spec } from '../../types/oci.js';
import { ConfigError } from '../errors.js';
import { CAPABILITIES, CLONE_NS, DEFAULT_PATH, RLIMITS } from '../launch/constants.js';
import { UINT32_ID_MAX, absPath, int, isObject, optArray, optBool, optInt, optObject, optStr, str, strArray } from './check.js';
import {
  DEFAULT_CAPABILITIES,
  DEFAULT_DEVICES,
  DEFAULT_MASKED_PATHS,
  DEFAULT_NAMESPACES,
  DEFAULT_READONLY_PATHS,
  DEFAULT_RLIMITS,
  DEFAULT_STATE_ROOT,
  defaultMounts,
} from './defaults.js';
import { type ResolvedMount, propagationFlag, resolveMount } from './mounts.js';
import { cgroupSegments } from '../cgroups/paths.js';
import { checkResources } from '../cgroups/validate.js';

export interface ResolvedCapabilities {
  bounding: string[];
  effective: string[];
  permitted: string[];
  inheritable: string[];
  ambient: string[];
}

export interface ResolvedProcess {
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  additionalGids: number[];
  umask: number;
  capabilities: ResolvedCapabilities;
  rlimits: Array<{ type: string; soft: number; hard: number }>;
  noNewPrivileges: boolean;
  oomScoreAdj?: number;
  /** ioprio_set value: class << 13 | level. */
  ioPriority?: number;
  terminal: boolean;
  consoleSize?: { width: number; height: number };
  stdio: StdioOption[];
}

export interface ResolvedNamespace {
  type: LinuxNamespaceType;
  path?: string;
}

export interface ResolvedDevice {
  path: string;
  type: 'c' | 'b' | 'p';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

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
  annotations: Record<string, string>;
  dieWithParent: boolean;
}

const IOPRIO_CLASSES: Record<string, number> = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 };

export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const HOSTNAME_PATTERN = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})?$/;

export function validateId(id: unknown, field = 'id'): string {
  const s = str(id, field);
  if (!ID_PATTERN.test(s)) throw new ConfigError(field, `"${s}" is not a valid container id (${ID_PATTERN.source})`);
  return s;
}

export function defaultStateRoot(): string {
  if (process.getuid?.() === 0) return DEFAULT_STATE_ROOT;
  return path.join(process.env.XDG_RUNTIME_DIR ?? `/run/user/${process.getuid?.()}`, 'berth');
}

async function readBundle(bundle: string): Promise<Spec> {
  const file = path.join(bundle, 'config.json');
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError('bundle', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  try {
    return JSON.parse(text) as Spec;
  } catch (err) {
    throw new ConfigError('bundle', `${file} is not valid JSON: ${(err as Error).message}`);
  }
}

export function normalizeEnv(v: unknown, field: string): string[] {
  if (v === undefined) return [];
  if (Array.isArray(v)) {
    return v.map((e, i) => {
      const s = str(e, `${field}[${i}]`);
      if (!s.includes('=') || s.startsWith('=')) throw new ConfigError(`${field}[${i}]`, `"${s}" is not KEY=VALUE`);
      return s;
    });
  }
  if (!isObject(v)) throw new ConfigError(field, 'must be an array of KEY=VALUE strings or an object');
  return Object.entries(v).map(([k, val]) => {
    if (k === '' || k.includes('=') || k.includes('\0')) throw new ConfigError(`${field}.${k}`, 'is not a valid variable name');
    return `${k}=${str(val, `${field}.${k}`)}`;
  });
}

function capList(v: unknown, field: string, fallback: readonly string[]): string[] {
  if (v === undefined) return [...fallback];
  return strArray(v, field).map((c, i) => {
    const name = c.toUpperCase().startsWith('CAP_') ? c.toUpperCase() : `CAP_${c.toUpperCase()}`;
    if (!(CAPABILITIES as readonly string[]).includes(name)) throw new ConfigError(`${field}[${i}]`, `unknown capability "${c}"`);
    return name;
  });
}

function normalizeStdio(v: unknown, field: string): StdioOption[] {
  const one = (x: unknown, f: string): StdioOption => {
    if (x === 'pipe' || x === 'inherit' || x === 'ignore') return x;
    if (typeof x === 'number' && Number.isInteger(x) && x >= 0) return x;
    throw new ConfigError(f, "must be 'pipe', 'inherit', 'ignore' or a file descriptor");
  };
  if (v === undefined) return ['pipe', 'pipe', 'pipe'];
  if (!Array.isArray(v)) {
    const s = one(v, field);
    return [s, s, s];
  }
  if (v.length > 64) throw new ConfigError(field, 'at most 64 entries');
  const out = v.map((x, i) => {
    const s = one(x, `${field}[${i}]`);
    if (s === 'pipe' && i > 2) throw new ConfigError(`${field}[${i}]`, "'pipe' is only available for 0, 1 and 2 (pass an fd)");
    return s;
  });
  while (out.length < 3) out.push('pipe');
  return out;
}

export function normalizeProcess(raw: unknown, field: string): ResolvedProcess {
  const p = optObject(raw, field) ?? {};
  const args = strArray(p.args, `${field}.args`);
  if (args.length === 0) throw new ConfigError(`${field}.args`, 'must name the program to run');
  if (args[0] === '') throw new ConfigError(`${field}.args[0]`, 'must not be empty');
  const env = normalizeEnv(p.env, `${field}.env`);
  if (!env.some((e) => e.startsWith('PATH='))) env.unshift(`PATH=${DEFAULT_PATH}`);
  const terminal = optBool(p.terminal, `${field}.terminal`) ?? false;
  const size = optObject(p.consoleSize, `${field}.consoleSize`);
  const consoleSize = size && {
    width: int(size.width, `${field}.consoleSize.width`, 1, 0xffff),
    height: int(size.height, `${field}.consoleSize.height`, 1, 0xffff),
  };
  if (consoleSize && !terminal) throw new ConfigError(`${field}.consoleSize`, 'needs terminal: true');
  const stdio = normalizeStdio((p as { stdio?: unknown }).stdio, `${field}.stdio`);
  // The terminal becomes 0-2; extra fds (3+) still pass through.
  if (terminal) stdio.splice(0, 3, 'ignore', 'ignore', 'ignore');
  if (terminal && !env.some((e) => e.startsWith('TERM='))) env.push('TERM=xterm');
  const user = optObject(p.user, `${field}.user`) ?? {};
  if (user.username !== undefined) throw new ConfigError(`${field}.user.username`, 'is not supported (use numeric uid/gid)');
  const caps = optObject(p.capabilities, `${field}.capabilities`);
  const capabilities: ResolvedCapabilities = {
    bounding: capList(caps?.bounding, `${field}.capabilities.bounding`, DEFAULT_CAPABILITIES),
    effective: capList(caps?.effective, `${field}.capabilities.effective`, caps ? [] : DEFAULT_CAPABILITIES),
    permitted: capList(caps?.permitted, `${field}.capabilities.permitted`, caps ? [] : DEFAULT_CAPABILITIES),
    inheritable: capList(caps?.inheritable, `${field}.capabilities.inheritable`, []),
    ambient: capList(caps?.ambient, `${field}.capabilities.ambient`, []),
  };
  // The kernel only raises an ambient capability that is also permitted and
  // inheritable; runc and crun skip the others (`runc spec` lists ambient caps
  // with no inheritable set), and so does berth.
  capabilities.ambient = capabilities.ambient.filter((c) => capabilities.permitted.includes(c) && capabilities.inheritable.includes(c));
  const rlimitsRaw = optArray(p.rlimits, `${field}.rlimits`);
  const rlimits = (rlimitsRaw ?? DEFAULT_RLIMITS).map((r, i) => {
    const f = `${field}.rlimits[${i}]`;
    const o = optObject(r, f) ?? {};
    const type = str(o.type, `${f}.type`);
    if (!(type in RLIMITS)) throw new ConfigError(`${f}.type`, `unknown rlimit "${type}"`);
    const soft = int(o.soft, `${f}.soft`, 0, Number.MAX_SAFE_INTEGER);
    const hard = int(o.hard, `${f}.hard`, 0, Number.MAX_SAFE_INTEGER);
    if (soft > hard) throw new ConfigError(`${f}.soft`, `soft limit ${soft} exceeds hard limit ${hard}`);
    return { type, soft, hard };
  });
  const cwd = p.cwd === undefined ? '/' : absPath(p.cwd, `${field}.cwd`);
  const oomScoreAdj = optInt(p.oomScoreAdj, `${field}.oomScoreAdj`, -1000, 1000);
  const io = optObject(p.ioPriority, `${field}.ioPriority`);
  let ioPriority: number | undefined;
  if (io) {
    const cls = IOPRIO_CLASSES[str(io.class, `${field}.ioPriority.class`)];
    if (cls === undefined) throw new ConfigError(`${field}.ioPriority.class`, `must be one of ${Object.keys(IOPRIO_CLASSES).join(', ')}`);
    ioPriority = (cls << 13) | int(io.priority, `${field}.ioPriority.priority`, 0, 7);
  }
  return {
    args,
    env,
    cwd,
    uid: optInt(user.uid, `${field}.user.uid`, 0, UINT32_ID_MAX) ?? 0,
    gid: optInt(user.gid, `${field}.user.gid`, 0, UINT32_ID_MAX) ?? 0,
    additionalGids: (optArray(user.additionalGids, `${field}.user.additionalGids`) ?? []).map((g, i) =>
      int(g, `${field}.user.additionalGids[${i}]`, 0, UINT32_ID_MAX),
    ),
    umask: optInt(user.umask, `${field}.user.umask`, 0, 0o777) ?? 0o022,
    capabilities,
    rlimits,
    noNewPrivileges: optBool(p.noNewPrivileges, `${field}.noNewPrivileges`) ?? true,
    ...(oomScoreAdj !== undefined ? { oomScoreAdj } : {}),
    ...(ioPriority !== undefined ? { ioPriority } : {}),
    terminal,
    ...(consoleSize ? { consoleSize } : {}),
    stdio,
  };
}

function normalizeNamespaces(v: unknown, field: string): ResolvedNamespace[] {
  if (v === undefined) return DEFAULT_NAMESPACES.map((type) => ({ type }));
  const list = optArray(v, field) ?? [];
  const seen = new Set<string>();
  return list.map((n, i) => {
    const f = `${field}[${i}]`;
    const o = optObject(n, f) ?? {};
    const type = str(o.type, `${f}.type`) as LinuxNamespaceType;
    if (!(type in CLONE_NS)) throw new ConfigError(`${f}.type`, `unknown namespace type "${type}"`);
    if (type === 'user') throw new ConfigError(`${f}.type`, 'user namespaces are not supported yet');
    if (seen.has(type)) throw new ConfigError(`${f}.type`, `namespace "${type}" is listed twice`);
    seen.add(type);
    const nsPath = o.path === undefined ? undefined : absPath(o.path, `${f}.path`);
    if (nsPath !== undefined && type === 'pid') throw new ConfigError(`${f}.path`, 'joining a pid namespace is not supported yet');
    return nsPath === undefined ? { type } : { type, path: nsPath };
  });
}

function normalizeDevices(v: unknown, field: string): ResolvedDevice[] {
  return (optArray(v, field) ?? []).map((d, i) => {
    const f = `${field}[${i}]`;
    const o = optObject(d, f) ?? {};
    const devPath = absPath(o.path, `${f}.path`);
    if (!devPath.startsWith('/dev/')) throw new ConfigError(`${f}.path`, 'must be under /dev');
    const type = str(o.type, `${f}.type`);
    if (type !== 'c' && type !== 'b' && type !== 'p' && type !== 'u') throw new ConfigError(`${f}.type`, `unknown device type "${type}"`);
    return {
      path: devPath,
      type: type === 'u' ? 'c' : type,
      major: type === 'p' ? 0 : int(o.major, `${f}.major`, 0, 0xfff),
      minor: type === 'p' ? 0 : int(o.minor, `${f}.minor`, 0, 0xfffff),
      fileMode: optInt(o.fileMode, `${f}.fileMode`, 0, 0o7777) ?? 0o666,
      uid: optInt(o.uid, `${f}.uid`, 0, UINT32_ID_MAX) ?? 0,
      gid: optInt(o.gid, `${f}.gid`, 0, UINT32_ID_MAX) ?? 0,
    };
  });
}

function normalizeSysctl(v: unknown, field: string, namespaces: ResolvedNamespace[]): Record<string, string> {
  const o = optObject(v, field) ?? {};
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(o)) {
    if (!/^[A-Za-z0-9_]+([./][A-Za-z0-9_-]+)*$/.test(k)) throw new ConfigError(`${field}.${k}`, 'is not a sysctl name');
    const isNet = k.startsWith('net.');
    const isIpc = k.startsWith('kernel.msg') || k.startsWith('kernel.sem') || k.startsWith('kernel.shm') || k.startsWith('fs.mqueue.');
    const own = (t: LinuxNamespaceType) => namespaces.some((n) => n.type === t && n.path === undefined);
    if (!((isNet && own('network')) || (isIpc && own('ipc')) || k === 'kernel.domainname' || k === 'kernel.hostname')) {
      throw new ConfigError(`${field}.${k}`, 'is not namespaced for this container (it would change the host)');
    }
    out[k] = str(val, `${field}.${k}`);
  }
  return out;
}

/**
 * The device cgroup rules (v1): the config's own (default: deny everything, as
 * `runc spec` writes), then what every container needs — the default device
 * nodes, the pty devices, mknod of any node — and the config's linux.devices.
 * runc and crun append the same allow list.
 */
function withDeviceRules(resources: LinuxResources | undefined, devices: ResolvedDevice[]): LinuxResources {
  const own = resources?.devices ?? [{ allow: false, access: 'rwm' }];
  const allow = (type: string, major: number | null, minor: number | null, access = 'rwm') => ({ allow: true, type, major, minor, access });
  return {
    ...resources,
    devices: [
      ...own,
      allow('c', null, null, 'm'),
      allow('b', null, null, 'm'),
      ...DEFAULT_DEVICES.map((d) => allow('c', d.major, d.minor)),
      allow('c', 5, 1), // /dev/console
      allow('c', 5, 2), // /dev/ptmx
      allow('c', 136, null), // /dev/pts/*
      ...devices.filter((d) => d.type !== 'p').map((d) => allow(d.type, d.major, d.minor)),
    ],
  };
}

/** Reads a bundle if one is given and validates everything; no side effects. */
export async function normalizeConfig(input: ContainerConfig): Promise<ResolvedConfig> {
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
  // for a seccomp filter or a user namespace must not get a container without one.
  const unsupported: Array<[unknown, string, string]> = [
    [linux.seccomp, 'linux.seccomp', 'seccomp filters are not supported yet'],
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
  const stateRoot = cfg.stateRoot === undefined ? defaultStateRoot() : absPath(cfg.stateRoot, 'stateRoot');
  const resourcesGiven = optObject(linux.resources, 'linux.resources') as LinuxResources | undefined;
  const devices = normalizeDevices(linux.devices, 'linux.devices');
  const resources = withDeviceRules(resourcesGiven, devices);
  const cgroupsPath = optStr(linux.cgroupsPath, 'linux.cgroupsPath');
  cgroupSegments(id, cgroupsPath); // a path that escapes the hierarchy is a ConfigError now
  await checkResources(resources, 'linux.resources');
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
    annotations: annotations as Record<string, string>,
    dieWithParent: optBool(cfg.dieWithParent, 'dieWithParent') ?? true,
  };
}
