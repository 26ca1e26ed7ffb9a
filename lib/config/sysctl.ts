// linux.sysctl: only keys namespaced for this container; a key that would
// change the host is refused.
import { ConfigError } from '../errors.js';
import { optObject, str } from './check.js';
import type { ResolvedMount } from './mounts.js';
import { type ResolvedNamespace, ownsNamespace } from './namespaces.js';

export function normalizeSysctl(v: unknown, field: string, namespaces: ResolvedNamespace[], mounts: ResolvedMount[]): Record<string, string> {
  const o = optObject(v, field) ?? {};
  const out: Record<string, string> = {};
  // In a new mount namespace the child writes them through the container's own
  // /proc (its namespaces' view); without a proc mount there they are not there (ENOENT).
  if (Object.keys(o).length > 0 && ownsNamespace(namespaces, 'mount') && !mounts.some((m) => m.destination === '/proc' && m.type === 'proc' && !m.bind)) {
    throw new ConfigError(field, 'needs proc mounted at /proc in the container (the sysctls are written there)');
  }
  for (const [k, val] of Object.entries(o)) {
    if (!/^[A-Za-z0-9_]+([./][A-Za-z0-9_-]+)*$/.test(k)) throw new ConfigError(`${field}.${k}`, 'is not a sysctl name');
    const isNet = k.startsWith('net.');
    const isIpc = k.startsWith('kernel.msg') || k.startsWith('kernel.sem') || k.startsWith('kernel.shm') || k.startsWith('fs.mqueue.');
    const own = (t: 'network' | 'ipc') => ownsNamespace(namespaces, t);
    if (!((isNet && own('network')) || (isIpc && own('ipc')) || k === 'kernel.domainname' || k === 'kernel.hostname')) {
      throw new ConfigError(`${field}.${k}`, 'is not namespaced for this container (it would change the host)');
    }
    out[k] = str(val, `${field}.${k}`);
  }
  return out;
}
