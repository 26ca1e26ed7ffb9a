// linux.namespaces: which namespaces are new, which are joined by path.
import type { LinuxNamespaceType } from '../../types/oci.js';
import { ConfigError } from '../errors.js';
import { kernelHasNamespace } from '../host/index.js';
import { CLONE_NS } from '../kernel/abi.js';
import { absPath, optArray, optObject, str } from './check.js';
import { DEFAULT_NAMESPACES } from './defaults.js';

export interface ResolvedNamespace {
  type: LinuxNamespaceType;
  path?: string;
}

export function normalizeNamespaces(v: unknown, field: string): ResolvedNamespace[] {
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
    // A joined one exists already (its path is checked with the others); a new one needs the kernel's support.
    if (nsPath === undefined && !kernelHasNamespace(type)) throw new ConfigError(`${f}.type`, `this kernel has no ${type} namespaces`);
    return nsPath === undefined ? { type } : { type, path: nsPath };
  });
}

/** True when the config makes a new namespace of this type (not joined by path). */
export function ownsNamespace(namespaces: ResolvedNamespace[], type: LinuxNamespaceType): boolean {
  return namespaces.some((n) => n.type === type && n.path === undefined);
}
