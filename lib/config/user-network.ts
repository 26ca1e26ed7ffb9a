// config.network { mode: 'pasta', ports?, hostLoopback? }: user-mode networking
// (Debian's passt package), what a rootless caller can have: pasta(1) puts a
// tap device in the container's network namespace with the host's addresses
// and routes, and carries its traffic through the host's own sockets, so no
// veth, bridge or NAT rule exists and no privilege is needed. Checked here,
// before anything exists; lib/container/user-network.ts starts and stops it.
import { ConfigError } from '../errors.js';
import { formatAddress, parseAddress } from '../network/subnet.js';
import { describe, isObject, optArray } from './check.js';
import type { ResolvedPortMapping } from './port-mapping.js';

export interface ResolvedUserNetwork {
  mode: 'pasta';
  /** The JSON path of the entry, for errors found while starting it. */
  field: string;
  /** Host port -> container port; hostPort 0: a free one, picked when the container is made. */
  ports: ResolvedPortMapping[];
  /** The container may reach the host's loopback services through its gateway address (pasta's --map-gw); default no. */
  hostLoopback: boolean;
}

const FIELDS = ['mode', 'ports', 'hostLoopback'];

function port(v: unknown, field: string, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > 65535) throw new ConfigError(field, `must be an integer ${min}..65535, got ${describe(v)}`);
  return v;
}

export function isUserNetworkEntry(v: unknown): boolean {
  return isObject(v) && v.mode !== undefined;
}

export function checkUserNetwork(v: Record<string, unknown>, field: string): ResolvedUserNetwork {
  for (const k of Object.keys(v)) if (!FIELDS.includes(k) && v[k] !== undefined) throw new ConfigError(`${field}.${k}`, `unknown field for user-mode networking (expected one of: ${FIELDS.join(', ')}; addresses, MACs and aliases are the host's under pasta)`);
  if (v.mode !== 'pasta') throw new ConfigError(`${field}.mode`, `must be "pasta" (user-mode networking with passt's pasta), got ${describe(v.mode)}`);
  if (v.hostLoopback !== undefined && typeof v.hostLoopback !== 'boolean') throw new ConfigError(`${field}.hostLoopback`, `must be a boolean, got ${describe(v.hostLoopback)}`);
  const seen = new Map<string, number>();
  const ports = (optArray(v.ports, `${field}.ports`) ?? []).map((p, i): ResolvedPortMapping => {
    const at = `${field}.ports[${i}]`;
    if (!isObject(p)) throw new ConfigError(at, 'must be an object { hostPort, containerPort, protocol?, hostIp? }');
    for (const k of Object.keys(p)) if (!['hostPort', 'containerPort', 'protocol', 'hostIp'].includes(k)) throw new ConfigError(`${at}.${k}`, 'unknown field (expected hostPort, containerPort, protocol, hostIp)');
    const hostPort = port(p.hostPort, `${at}.hostPort`, 0);
    const containerPort = port(p.containerPort, `${at}.containerPort`, 1);
    const protocol = p.protocol ?? 'tcp';
    if (protocol !== 'tcp' && protocol !== 'udp') throw new ConfigError(`${at}.protocol`, `must be "tcp" or "udp", got ${describe(protocol)}`);
    const hostIp = p.hostIp === undefined ? undefined : formatAddress(parseAddress(p.hostIp, `${at}.hostIp`));
    if (hostPort !== 0) {
      const key = `${protocol} ${hostIp ?? '*'} ${hostPort}`;
      const first = seen.get(key);
      if (first !== undefined) throw new ConfigError(`${at}.hostPort`, `${protocol} port ${hostPort} is mapped twice (also by ports[${first}])`);
      seen.set(key, i);
    }
    return { hostPort, containerPort, protocol, ...(hostIp !== undefined ? { hostIp } : {}) };
  });
  return { mode: 'pasta', field, ports, hostLoopback: v.hostLoopback === true };
}
