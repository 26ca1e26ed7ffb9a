// linux.devices (the nodes made in /dev) and the device cgroup rules that go
// with them.
import type { LinuxResources } from '../../types/oci.js';
import { ConfigError } from '../errors.js';
import { UINT32_ID_MAX, containerPath, int, optArray, optInt, optObject, str } from './check.js';
import { DEFAULT_DEVICES } from './defaults.js';
import type { ResolvedMount } from './mounts.js';

export interface ResolvedDevice {
  path: string;
  type: 'c' | 'b' | 'p';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

export function normalizeDevices(v: unknown, field: string): ResolvedDevice[] {
  return (optArray(v, field) ?? []).map((d, i) => {
    const f = `${field}[${i}]`;
    const o = optObject(d, f) ?? {};
    const devPath = containerPath(o.path, `${f}.path`);
    if (!devPath.startsWith('/dev/')) throw new ConfigError(`${f}.path`, `must be under /dev/, got "${devPath.slice(0, 64)}"`);
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

/**
 * The device cgroup rules (v1): the config's own (default: deny everything, as
 * `runc spec` writes), then what every container needs — the default device
 * nodes, the pty devices, mknod of any node — and the config's linux.devices.
 * runc and crun append the same allow list.
 */
export function withDeviceRules(resources: LinuxResources | undefined, devices: ResolvedDevice[]): LinuxResources {
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

// Filesystems whose directories take no mknod (EPERM): a node cannot be made in them.
const NO_NODES = new Set(['devpts', 'mqueue', 'proc', 'sysfs', 'cgroup', 'cgroup2']);

/**
 * Device nodes are made after the mounts: one at a mount point meets the
 * mounted directory (EEXIST), one inside devpts, mqueue, proc or sysfs a
 * filesystem without mknod.
 */
export function checkDeviceTargets(devices: ResolvedDevice[], mounts: ResolvedMount[], field: string): void {
  devices.forEach((d, i) => {
    let below: { m: ResolvedMount; j: number } | undefined;
    mounts.forEach((m, j) => {
      if (m.destination === d.path) throw new ConfigError(`${field}[${i}].path`, `${d.path} is the mount point of mounts[${j}]`);
      if (d.path.startsWith(`${m.destination === '/' ? '' : m.destination}/`) && (!below || m.destination.length >= below.m.destination.length)) below = { m, j };
    });
    if (below && !below.m.bind && NO_NODES.has(below.m.type ?? '')) {
      throw new ConfigError(`${field}[${i}].path`, `${d.path} is inside the ${below.m.type} mount of mounts[${below.j}], which cannot hold device nodes`);
    }
  });
}
