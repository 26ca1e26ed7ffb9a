// config.network (and config.dns): the bridge networks a container joins,
// checked before anything exists. Each refusal is a ConfigError naming the
// JSON path (`network[1].ports[0].hostPort`): an unknown network (its record
// is read under the container's stateRoot), an address outside the network's
// subnet or of the other family, a network joined twice, a bad MAC, MTU or
// alias, ports on an internal network, a container without a network
// namespace of its own, a caller that is not root.
//
// What the container side then does with it is lib/container/network.ts; the
// names a container is given (/etc/hosts, /etc/hostname, /etc/resolv.conf,
// bound from files in its state directory) are decided here too: a container
// that joins a network gets them, unless its mounts already put a file at
// that path.
import { createHash } from 'node:crypto';
import { ConfigError } from '../errors.js';
import { resolvePortRules } from '../network/nat.js';
import { networkNameProblem, readNetwork } from '../network/networks.js';
import { parseMac } from '../network/rtnetlink.js';
import { checkHostAddress, formatAddress, parseAddress, parseSubnet } from '../network/subnet.js';
import { describe, isObject, optArray } from './check.js';
import { type ResolvedUserNetwork, checkUserNetwork, isUserNetworkEntry } from './user-network.js';

import type { ResolvedPortMapping } from './port-mapping.js';
export type { ResolvedPortMapping } from './port-mapping.js';

/** One network the container joins, checked: what lib/container/network.ts attaches. */
export interface ResolvedNetworkAttachment {
  /** The network's name (its record is under the container's stateRoot). */
  name: string;
  /** The JSON path of this entry ('network' or 'network[1]'), for errors found while attaching. */
  field: string;
  /** The interface in the container: eth0, eth1, … in the order given. */
  interface: string;
  /** The host end of the veth, in the network's namespace: "vb" + 13 hex digits of a hash of the container id and the network name. */
  hostInterface: string;
  /** A fixed address from the network's subnet; default: the next free one. */
  ip?: string;
  /** A fixed address from a dual-stack network's IPv6 subnet. */
  ip6?: string;
  /** The container end's MAC (unicast); default: the kernel's random one. */
  mac?: string;
  /** Both ends' MTU; default: the kernel's (1500). */
  mtu?: number;
  /** More names the container answers to on this network (its hostname and id always). */
  aliases: string[];
  ports: ResolvedPortMapping[];
}

export interface ResolvedDns {
  nameservers: string[];
  search: string[];
  options: string[];
}

/** Which of /etc/hosts, /etc/hostname, /etc/resolv.conf berth writes (in the state dir) and binds into the container. */
export interface ResolvedNames {
  hosts: boolean;
  hostname: boolean;
  resolvConf: boolean;
  /** config.dns: resolv.conf says this instead of what the host's says. */
  dns?: ResolvedDns;
}

export interface NetworkContext {
  id: string;
  stateRoot: string;
  /** The container has a network namespace of its own (new, not joined by path). */
  ownNetworkNs: boolean;
  /** The caller's effective uid. */
  euid: number;
  /** The container's hostname (undefined: it has none of its own). */
  hostname: string | undefined;
  /** Mount destinations the config has (normalized container paths). */
  mountDestinations: readonly string[];
  /** The container's user namespace: new (maps written by berth), joined by path, or none. */
  usernsMode?: 'new' | 'join' | undefined;
}

const FIELDS = ['name', 'ip', 'ip6', 'mac', 'aliases', 'ports', 'mtu'];
const DNS_FIELDS = ['nameservers', 'search', 'options'];
/** A name /etc/hosts can hold (no whitespace, no '#'): DNS labels of letters, digits, '-', '_', at most 63 bytes each, 253 in all. */
const NAME_LABEL = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
const RESOLV_OPTION = /^[A-Za-z0-9_][A-Za-z0-9_:.+-]{0,63}$/;

/** The host end of the veth for container `id` on `network`: at most 15 bytes (IFNAMSIZ), the same in every process. */
export function hostInterfaceName(id: string, network: string): string {
  return `vb${createHash('sha256').update(`${id}\0${network}`).digest('hex').slice(0, 13)}`;
}

/** Why `name` cannot be a host name in /etc/hosts (an alias, a search domain), or undefined. */
export function hostNameProblem(name: string): string | undefined {
  if (name.length === 0 || name.length > 253) return 'must be 1-253 characters';
  for (const label of name.split('.')) {
    if (!NAME_LABEL.test(label)) return `"${name.slice(0, 80)}" is not a host name (dot-separated labels of letters, digits, "-" and "_", 1-63 each, not starting or ending with "-")`;
  }
  return undefined;
}

function nameList(v: unknown, field: string): string[] {
  const list = optArray(v, field) ?? [];
  const seen = new Set<string>();
  return list.map((x, i) => {
    const at = `${field}[${i}]`;
    if (typeof x !== 'string') throw new ConfigError(at, `must be a string, got ${describe(x)}`);
    const problem = hostNameProblem(x);
    if (problem) throw new ConfigError(at, problem);
    if (seen.has(x.toLowerCase())) throw new ConfigError(at, `"${x}" is in the list twice`);
    seen.add(x.toLowerCase());
    return x;
  });
}

function checkEntry(v: unknown, field: string, index: number, ctx: NetworkContext): ResolvedNetworkAttachment {
  if (!isObject(v)) throw new ConfigError(field, 'must be an object { name, ip?, ip6?, mac?, aliases?, ports?, mtu? }');
  for (const k of Object.keys(v)) if (!FIELDS.includes(k) && v[k] !== undefined) throw new ConfigError(`${field}.${k}`, `unknown field (expected one of: ${FIELDS.join(', ')})`);
  const problem = networkNameProblem(v.name);
  if (problem) throw new ConfigError(`${field}.name`, v.name === undefined ? 'is required: the name of a network made with createNetwork' : problem);
  const name = v.name as string;
  const net = readNetwork(name, { stateRoot: ctx.stateRoot });
  if (!net) throw new ConfigError(`${field}.name`, `there is no network "${name}" in ${ctx.stateRoot}/networks (createNetwork makes one; a container joins networks of its own stateRoot)`);
  if (net.orphaned) throw new ConfigError(`${field}.name`, `network "${name}" lives in a network namespace that is gone (inode ${net.netnsInode}): removeNetwork it`);
  const subnet = parseSubnet(net.subnet, 'subnet');
  const gateway = parseAddress(net.gateway, 'gateway');
  let ip: string | undefined;
  if (v.ip !== undefined) {
    const a = parseAddress(v.ip, `${field}.ip`);
    checkHostAddress(subnet, a, gateway, `${field}.ip`);
    ip = formatAddress(a);
  }
  let ip6: string | undefined;
  if (v.ip6 !== undefined) {
    if (!net.ipv6) throw new ConfigError(`${field}.ip6`, `network "${name}" has no IPv6 subnet besides ${net.subnet} (give ip instead)`);
    const a = parseAddress(v.ip6, `${field}.ip6`, 6);
    checkHostAddress(parseSubnet(net.ipv6.subnet, 'ipv6.subnet'), a, parseAddress(net.ipv6.gateway, 'ipv6.gateway'), `${field}.ip6`);
    ip6 = formatAddress(a);
  }
  let mac: string | undefined;
  if (v.mac !== undefined) {
    const b = typeof v.mac === 'string' ? parseMac(v.mac) : undefined;
    if (!b) throw new ConfigError(`${field}.mac`, `must be a MAC address "aa:bb:cc:dd:ee:ff", got ${describe(v.mac)}`);
    if ((b[0]! & 1) !== 0) throw new ConfigError(`${field}.mac`, `${v.mac} is a multicast address (the first byte is odd): an interface needs a unicast one`);
    if (b.every((x) => x === 0)) throw new ConfigError(`${field}.mac`, '00:00:00:00:00:00 is no interface address');
    mac = (v.mac as string).toLowerCase();
  }
  let mtu: number | undefined;
  if (v.mtu !== undefined) {
    if (typeof v.mtu !== 'number' || !Number.isInteger(v.mtu) || v.mtu < 68 || v.mtu > 65535) throw new ConfigError(`${field}.mtu`, `must be an integer 68..65535, got ${describe(v.mtu)}`);
    mtu = v.mtu;
  }
  const aliases = nameList(v.aliases, `${field}.aliases`);
  let ports: ResolvedPortMapping[] = [];
  if (v.ports !== undefined) {
    // Checked against stand-ins of the addresses the container will have (the
    // gateway's stand in for them): each field's range, protocol, a hostIp of a
    // family the network has, and two mappings of the list that clash.
    const v4 = subnet.family === 4 ? net.gateway : undefined;
    const v6 = subnet.family === 6 ? net.gateway : net.ipv6?.gateway;
    resolvePortRules(v.ports, { ...(v4 ? { ipv4: v4 } : {}), ...(v6 ? { ipv6: v6 } : {}) }, `${field}.ports`);
    ports = (v.ports as Array<Record<string, unknown>>).map((p) => ({
      hostPort: p.hostPort as number,
      containerPort: p.containerPort as number,
      protocol: (p.protocol ?? 'tcp') as 'tcp' | 'udp',
      ...(p.hostIp !== undefined ? { hostIp: formatAddress(parseAddress(p.hostIp, 'hostIp')) } : {}),
    }));
    if (ports.length > 0 && net.internal) {
      throw new ConfigError(`${field}.ports`, `network "${name}" is internal: no traffic reaches it from outside, so no port can be published on it`);
    }
  }
  return {
    name,
    field,
    interface: `eth${index}`,
    hostInterface: hostInterfaceName(ctx.id, name),
    ...(ip !== undefined ? { ip } : {}),
    ...(ip6 !== undefined ? { ip6 } : {}),
    ...(mac !== undefined ? { mac } : {}),
    ...(mtu !== undefined ? { mtu } : {}),
    aliases,
    ports,
  };
}

function normalizeDns(v: unknown): ResolvedDns | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) throw new ConfigError('dns', 'must be an object { nameservers?, search?, options? }');
  for (const k of Object.keys(v)) if (!DNS_FIELDS.includes(k)) throw new ConfigError(`dns.${k}`, `unknown field (expected one of: ${DNS_FIELDS.join(', ')})`);
  const nameservers = (optArray(v.nameservers, 'dns.nameservers') ?? []).map((x, i) => formatAddress(parseAddress(x, `dns.nameservers[${i}]`)));
  const search = nameList(v.search, 'dns.search');
  const options = (optArray(v.options, 'dns.options') ?? []).map((x, i) => {
    if (typeof x !== 'string' || !RESOLV_OPTION.test(x)) throw new ConfigError(`dns.options[${i}]`, `must be a resolv.conf option such as "ndots:2" or "edns0", got ${describe(x)}`);
    return x;
  });
  return { nameservers, search, options };
}

/**
 * config.network and config.dns checked (see the top of this file): the
 * attachments in order (eth0, eth1, …) and the names files, or nothing when
 * the container joins no network.
 */
export function normalizeNetwork(cfg: { network?: unknown; dns?: unknown }, ctx: NetworkContext): { network?: ResolvedNetworkAttachment[]; userNetwork?: ResolvedUserNetwork; names?: ResolvedNames } {
  const dns = normalizeDns(cfg.dns);
  if (cfg.network === undefined || cfg.network === null || (Array.isArray(cfg.network) && cfg.network.length === 0)) {
    if (dns) throw new ConfigError('dns', 'is for a container that joins a network (config.network)');
    return {};
  }
  const list = Array.isArray(cfg.network) ? cfg.network : [cfg.network];
  const at = (i: number) => (Array.isArray(cfg.network) ? `network[${i}]` : 'network');
  if (!ctx.ownNetworkNs) {
    throw new ConfigError('network', 'needs a network namespace of its own: linux.namespaces must have { type: "network" } without a path (the veth goes into it)');
  }
  // The names files are bound from the state directory, which only host root
  // can reach: in a new user namespace they are idmapped trees the parent makes
  // (as for root.idmap), in a joined one there is no such step yet.
  if (ctx.usernsMode === 'join') {
    throw new ConfigError('network', 'a container in a user namespace joined by path cannot join a network yet (its /etc/hosts could not be bound in)');
  }
  const has = (p: string) => ctx.mountDestinations.includes(p);
  const names = (): ResolvedNames => ({
    hosts: !has('/etc/hosts'),
    hostname: ctx.hostname !== undefined && !has('/etc/hostname'),
    resolvConf: !has('/etc/resolv.conf'),
    ...(dns ? { dns } : {}),
  });
  // User-mode networking: the namespace's one network (pasta configures the whole of it).
  const userAt = list.findIndex(isUserNetworkEntry);
  if (userAt >= 0) {
    if (list.length > 1) throw new ConfigError(at(userAt === 0 ? 1 : 0), 'a container with user-mode networking (mode "pasta") joins no other network: pasta configures its whole network namespace');
    const userNetwork = checkUserNetwork(list[0] as Record<string, unknown>, at(0));
    // pasta drops root's privileges before it joins the namespace, and then may not enter one that root made (as podman, rootless only).
    if (ctx.euid === 0) throw new ConfigError(`${at(0)}.mode`, 'user-mode networking (pasta) is for rootless callers: pasta gives up root before it joins the container\'s namespaces, which root made; as root, join a bridge network (createNetwork)');
    return { userNetwork, names: names() };
  }
  if (ctx.euid !== 0) {
    throw new ConfigError('network', `bridge networks need root (uid ${ctx.euid} cannot make a veth in the network's namespace); a rootless container can have user-mode networking: { mode: "pasta", ports }`);
  }
  const seen = new Map<string, number>();
  const network = list.map((entry, i) => {
    const r = checkEntry(entry, at(i), i, ctx);
    const first = seen.get(r.name);
    if (first !== undefined) throw new ConfigError(`${at(i)}.name`, `network "${r.name}" is joined twice (also by network[${first}])`);
    seen.set(r.name, i);
    return r;
  });
  return { network, names: names() };
}
