// linux.namespaces: which namespaces are new, which are joined by path.
import fs from 'node:fs';
import type { LinuxNamespaceType } from '../../types/oci.js';
import { ConfigError } from '../errors.js';
import { kernelHasNamespace } from '../host/index.js';
import { CLONE_NS } from '../kernel/abi.js';
import { absPath, lookup, optArray, optObject, str } from './check.js';
import { DEFAULT_NAMESPACES } from './defaults.js';

export interface ResolvedNamespace {
  type: LinuxNamespaceType;
  path?: string;
}

// nsfs names each namespace inode "<name>:[<inode>]"; /proc/self/fd/N of an
// open namespace file reads back that name, whatever path reached the file
// (/proc/<pid>/ns/net, a bind mount of it like /run/netns/x, pid_for_children).
const NSFS_NAME: Record<LinuxNamespaceType, string> = {
  mount: 'mnt', network: 'net', pid: 'pid', ipc: 'ipc', uts: 'uts', user: 'user', cgroup: 'cgroup', time: 'time',
};

function nsfsDevice(): number | undefined {
  try {
    return fs.statSync('/proc/self/ns/net').dev;
  } catch {
    return undefined;
  }
}

/**
 * setns(2) takes only a namespace file of the given type (EINVAL otherwise).
 * Every namespace file is an inode of the one nsfs, so a stat that shows
 * another device rules the path out without opening it (a FIFO or a device
 * must not be opened just to be judged); the type comes from the nsfs name of
 * the opened file. Without /proc neither can be asked: the kernel decides.
 */
function checkNamespaceFile(nsPath: string, type: LinuxNamespaceType, field: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(nsPath);
  } catch (err) {
    throw new ConfigError(field, `${nsPath}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  const nsfs = nsfsDevice();
  if (nsfs === undefined) return;
  const notNs = `${nsPath} is not a namespace file (a /proc/<pid>/ns/* file or a bind mount of one)`;
  if (st.dev !== nsfs) throw new ConfigError(field, notNs);
  let fd: number;
  try {
    fd = fs.openSync(nsPath, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
  } catch (err) {
    throw new ConfigError(field, `${nsPath}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  let name: string;
  try {
    name = fs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return; // cannot tell: the kernel decides
  } finally {
    fs.closeSync(fd);
  }
  const m = /^([a-z_]+):\[\d+\]$/.exec(name);
  if (!m) throw new ConfigError(field, notNs);
  if (m[1] !== NSFS_NAME[type]) throw new ConfigError(field, `${nsPath} is a "${m[1]}" namespace, not ${type} ("${NSFS_NAME[type]}")`);
}

/** literal: a bundle's list, where absent means none (Go's omitempty drops an empty one). */
export function normalizeNamespaces(v: unknown, field: string, { literal = false }: { literal?: boolean } = {}): ResolvedNamespace[] {
  if (v === undefined) return literal ? [] : DEFAULT_NAMESPACES.map((type) => ({ type }));
  const list = optArray(v, field) ?? [];
  const seen = new Set<string>();
  return list.map((n, i) => {
    const f = `${field}[${i}]`;
    const o = optObject(n, f) ?? {};
    const type = str(o.type, `${f}.type`) as LinuxNamespaceType;
    if (lookup(CLONE_NS, type) === undefined) throw new ConfigError(`${f}.type`, `unknown namespace type "${type.slice(0, 64)}"`);
    if (seen.has(type)) throw new ConfigError(`${f}.type`, `namespace "${type}" is listed twice`);
    seen.add(type);
    const nsPath = o.path === undefined ? undefined : absPath(o.path, `${f}.path`);
    if (nsPath !== undefined) checkNamespaceFile(nsPath, type, `${f}.path`);
    // A joined one exists already (its path is checked with the others); a new one needs the kernel's support.
    if (nsPath === undefined && !kernelHasNamespace(type)) throw new ConfigError(`${f}.type`, `this kernel has no ${type} namespaces`);
    return nsPath === undefined ? { type } : { type, path: nsPath };
  });
}

/** True when the config makes a new namespace of this type (not joined by path). */
export function ownsNamespace(namespaces: ResolvedNamespace[], type: LinuxNamespaceType): boolean {
  return namespaces.some((n) => n.type === type && n.path === undefined);
}
