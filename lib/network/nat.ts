// berth's own nftables table in the namespace that holds its bridges: NAT
// out (masquerade), port mappings in (DNAT), and the forwarding policy of
// berth's bridges. Only this table is ever named: berth never lists, edits
// or flushes anyone else's tables, chains or rules.
//
// `table inet berth`, not `ip`: one inet table holds the IPv4 and the IPv6
// rules of a dual-stack network in the same chains (the kernel has had NAT in
// the inet family since 5.2), so a network's rules go in and out in one
// batch, and there is one table to create with the first network and delete
// with the last, not two (netavark's nftables driver does the same; Docker's
// ip/ip6 split is iptables' heritage).
//
//   chain forward     filter/forward       per bridge: replies, same-bridge and
//                                          DNAT'd traffic in, nothing else in;
//                                          out unless internal
//   chain guard       filter/prerouting    per bridge: 127.0.0.0/8 from a bridge
//                     (raw priority)       dropped (route_localnet's hole, below)
//   chain prerouting  nat/prerouting       fib daddr type local -> ports
//   chain output      nat/output           fib daddr type local -> ports (the
//                                          namespace's own traffic, loopback too)
//   chain ports       (regular)            four DNAT rules, one per map below
//   chain postrouting nat/postrouting      per network: masquerade of its subnet
//                                          leaving by another interface; hairpin
//                                          and loopback-sourced DNAT'd traffic
//   maps ports4 / ports6                   proto . port -> container address . port
//                                          (mappings on every address of the family)
//   maps ports4h / ports6h                 address . proto . port -> ... (a hostIp)
//   sets taken4 / taken6                   proto . port: one per mapped host port
//
// A port mapping is a map element, not a rule: adding one is one `create
// element` of its host port in taken4/6 (the kernel refuses a port already
// there, atomically, for every berth process and state root: EEXIST, so
// there is no listing to check first) and one `add element` in its map;
// removing one deletes its two elements. The 200th container's mapping costs
// what the first did, and the packet path is a hash lookup, not a walk over
// a chain of rules. A host port is then one mapping per family and protocol,
// whatever its hostIp (127.0.0.1:80 and 10.0.0.1:80 cannot be mapped to two
// containers at once).
//
// Every rule and element carries a comment saying whose it is ("berth net
// <bridge>" on a network's rules, "berth <bridge> <owner>" on a mapping's
// elements, "berth base" on the table's own), and removal deletes exactly
// what the comment says, rules by the handle the kernel reports for them in
// the same listing. The table is created (with its base chains, maps and
// jumps) by the first network's batch and deleted by the batch that removes
// the last berth rule of any network, judged from the kernel's table itself,
// so two state roots sharing a namespace agree. Changes happen under the
// namespace's flock (nftables.ts).
//
// Port mappings from the namespace's own loopback (127.0.0.1:hostPort): DNAT
// in the nat/output hook with route_localnet=1 on the bridge, and a
// masquerade of 127.0.0.0/8-sourced packets leaving by it (the container
// answers the gateway, not its own loopback), as Docker does without its
// userland proxy. Not a userland proxy because berth is a library: a proxy
// would be a process per port that has to outlive the caller (detached
// containers do), started and reaped by someone, adding a connection's copy
// through userspace and hiding the client's address from the container for
// traffic that is not loopback; DNAT is a map element in the kernel, costs
// nothing per connection, and goes away with the table. route_localnet is set on
// berth's bridge only (never `all`), and CVE-2020-8558's hole it opens (a
// container sending to 127.0.0.1 through the bridge reaching the host's
// loopback-only services) is closed by the guard chain, which drops packets
// from a bridge to 127.0.0.0/8 before routing (replies of DNAT'd loopback
// connections arrive addressed to the gateway and pass). IPv6 has no
// route_localnet: an IPv6 mapping is reached on the namespace's addresses,
// not on ::1.
import { createHash } from 'node:crypto';
import { ConfigError } from '../errors.js';
import { native } from '../native/addon.js';
import { NetworkError } from './errors.js';
import { type NetnsHandle, nft } from './nftables.js';
import { type Family, type Subnet, addressBytes, formatAddress, formatSubnet, parseAddress } from './subnet.js';

export const TABLE_FAMILY = 'inet';
export const TABLE_NAME = 'berth';
const T = `${TABLE_FAMILY} ${TABLE_NAME}`;

export type Protocol = 'tcp' | 'udp';

/** What the table needs to know of a network. */
export interface NatNetwork {
  bridge: string;
  /** Its IPv4 and/or IPv6 subnet. */
  subnets: Subnet[];
  internal: boolean;
}

/** A port mapping as a caller asks for it. */
export interface PortMappingSpec {
  /** 1-65535; 0 picks a free port (reported back). */
  hostPort: number;
  containerPort: number;
  /** Default 'tcp'. */
  protocol?: Protocol;
  /** Only traffic to this address of the namespace; default: any of its addresses (of the container address's family). */
  hostIp?: string;
}

/** A port mapping resolved to one family (one map element). */
export interface PortRule {
  protocol: Protocol;
  family: Family;
  /** undefined: any local address of the family. */
  hostIp?: string;
  hostPort: number;
  containerIp: string;
  containerPort: number;
  /** The index of the mapping it came from in the caller's list (a mapping without hostIp makes an IPv4 and an IPv6 element). */
  mapping?: number;
}

/** A mapping as the table holds it (a map element read back). */
export interface TablePort extends PortRule {
  /** From the element's comment: the bridge of its network and its owner key; undefined for an element berth did not write. */
  bridge?: string;
  owner?: string;
}

/** A rule of berth's table: where it is, its handle and comment. */
export interface TableRule {
  chain: string;
  handle: number;
  comment?: string;
}

/** What a listing of berth's table holds. */
export interface TableState {
  rules: TableRule[];
  ports: TablePort[];
}

// ---- names and comments (pure) ----

/** What a port mapping's rule says its owner is: 16 hex digits of the container id's SHA-256 (ids may be long, or hold characters a comment should not). */
export function ownerKey(id: string): string {
  return createHash('sha256').update(id).digest('hex').slice(0, 16);
}

export function networkComment(bridge: string): string {
  return `berth net ${bridge}`;
}

const BASE_COMMENT = 'berth base';

const anyAddress = (family: Family): string => (family === 4 ? '0.0.0.0' : '::');

/** The comment of a mapping's elements. */
export function portComment(bridge: string, owner: string): string {
  return `berth ${bridge} ${owner}`;
}

/** A mapping element's comment read back; undefined for any other comment. */
export function parsePortComment(comment: string | undefined): { bridge: string; owner: string } | undefined {
  const m = /^berth (\S+) ([0-9a-f]{16})$/.exec(comment ?? '');
  return m ? { bridge: m[1]!, owner: m[2]! } : undefined;
}

/** Whether a rule's comment belongs to the network of `bridge`. */
export function belongsTo(comment: string | undefined, bridge: string): boolean {
  return comment === networkComment(bridge);
}

// ---- rule text (pure) ----

const q = (s: string): string => {
  // Everything quoted comes from berth (bridge names, comments of checked
  // parts); refuse anything that could end the string.
  if (/["\\\n\r;]/.test(s)) throw new Error(`nft: refusing to quote ${JSON.stringify(s)}`);
  return `"${s}"`;
};

/** The table, its chains and the jumps to the ports chain: only in the batch that creates the table. */
export function tableCommands(): string[] {
  const c = q(BASE_COMMENT);
  return [
    `add table ${T}`,
    `add chain ${T} forward { type filter hook forward priority filter; policy accept; }`,
    `add chain ${T} guard { type filter hook prerouting priority raw; policy accept; }`,
    `add chain ${T} prerouting { type nat hook prerouting priority dstnat; policy accept; }`,
    // nat/output takes no symbolic "dstnat" in nft 1.0.6: -100 is its value.
    `add chain ${T} output { type nat hook output priority -100; policy accept; }`,
    `add chain ${T} postrouting { type nat hook postrouting priority srcnat; policy accept; }`,
    `add chain ${T} ports`,
    `add set ${T} taken4 { type inet_proto . inet_service; }`,
    `add set ${T} taken6 { type inet_proto . inet_service; }`,
    `add map ${T} ports4 { type inet_proto . inet_service : ipv4_addr . inet_service; }`,
    `add map ${T} ports6 { type inet_proto . inet_service : ipv6_addr . inet_service; }`,
    `add map ${T} ports4h { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }`,
    `add map ${T} ports6h { type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service; }`,
    // A lookup that finds nothing ends its rule, so a packet no mapping wants passes through untouched.
    `add rule ${T} ports dnat ip to ip daddr . meta l4proto . th dport map @ports4h comment ${c}`,
    `add rule ${T} ports meta nfproto ipv4 dnat ip to meta l4proto . th dport map @ports4 comment ${c}`,
    `add rule ${T} ports dnat ip6 to ip6 daddr . meta l4proto . th dport map @ports6h comment ${c}`,
    `add rule ${T} ports meta nfproto ipv6 dnat ip6 to meta l4proto . th dport map @ports6 comment ${c}`,
    `add rule ${T} prerouting fib daddr type local jump ports comment ${c}`,
    `add rule ${T} output fib daddr type local jump ports comment ${c}`,
  ];
}

/** The rules of one network (appended; none of them depends on another network's). */
export function networkCommands(n: NatNetwork): string[] {
  const br = q(n.bridge);
  const c = q(networkComment(n.bridge));
  const v4 = n.subnets.some((s) => s.family === 4);
  const out: string[] = [
    // Into the bridge: replies, traffic between its own ports (bridged
    // traffic shows up here only with br_netfilter), and port mappings'
    // traffic; nothing else: no routing straight to a container's address,
    // and no other berth network's containers (they use port mappings).
    `add rule ${T} forward oifname ${br} ct state established,related accept comment ${c}`,
    `add rule ${T} forward oifname ${br} iifname ${br} accept comment ${c}`,
    `add rule ${T} forward oifname ${br} ct status dnat accept comment ${c}`,
    `add rule ${T} forward oifname ${br} drop comment ${c}`,
    // Out of the bridge: an internal network's containers reach only each other and the gateway.
    `add rule ${T} forward iifname ${br} ${n.internal ? 'drop' : 'accept'} comment ${c}`,
  ];
  if (v4) out.push(`add rule ${T} guard iifname ${br} ip daddr 127.0.0.0/8 drop comment ${c}`);
  if (!n.internal) {
    for (const s of n.subnets) {
      const ip = s.family === 4 ? 'ip' : 'ip6';
      out.push(`add rule ${T} postrouting oifname != ${br} ${ip} saddr ${formatSubnet(s)} masquerade comment ${c}`);
    }
    // A container reaching a mapping of its own network (hairpin): the
    // answer must come back through the gateway, so the source becomes the
    // gateway. By source subnet, not `iifname`: postrouting has no input
    // interface for forwarded IPv4 packets (the kernel passes none).
    for (const s of n.subnets) {
      const ip = s.family === 4 ? 'ip' : 'ip6';
      out.push(`add rule ${T} postrouting oifname ${br} ${ip} saddr ${formatSubnet(s)} ct status dnat masquerade comment ${c}`);
    }
    // The namespace's own 127.0.0.1 reaching a mapping (route_localnet on the bridge).
    if (v4) out.push(`add rule ${T} postrouting oifname ${br} ip saddr 127.0.0.0/8 masquerade comment ${c}`);
  }
  return out;
}

const mapOf = (r: Pick<PortRule, 'family' | 'hostIp'>): string => `ports${r.family}${r.hostIp !== undefined ? 'h' : ''}`;
const keyOf = (r: Pick<PortRule, 'protocol' | 'hostIp' | 'hostPort'>): string => `${r.hostIp !== undefined ? `${r.hostIp} . ` : ''}${r.protocol} . ${r.hostPort}`;
const valueOf = (r: Pick<PortRule, 'containerIp' | 'containerPort'>): string => `${r.containerIp} . ${r.containerPort}`;

/** The host port a mapping takes (its taken4/taken6 element): refused by the kernel when another mapping has it. */
export function takeCommand(r: Pick<PortRule, 'family' | 'protocol' | 'hostPort'>, comment: string): string {
  return `create element ${T} taken${r.family} { ${r.protocol} . ${r.hostPort} comment ${q(comment)} }`;
}

/** Two elements per mapping: its host port taken, its DNAT map entry. */
export function portCommands(bridge: string, owner: string, rules: readonly PortRule[]): string[] {
  const c = portComment(bridge, owner);
  return rules.flatMap((r) => [takeCommand(r, c), `add element ${T} ${mapOf(r)} { ${keyOf(r)} comment ${q(c)} : ${valueOf(r)} }`]);
}

/** Deletes a mapping's two elements. */
export function unportCommands(rules: readonly Pick<PortRule, 'family' | 'protocol' | 'hostIp' | 'hostPort'>[]): string[] {
  return rules.flatMap((r) => [`delete element ${T} taken${r.family} { ${r.protocol} . ${r.hostPort} }`, `delete element ${T} ${mapOf(r)} { ${keyOf(r)} }`]);
}

/** Deletes the rules chosen, or the whole table when no other berth rule but its own base ones would be left. */
export function removalCommands(rules: readonly TableRule[], remove: (r: TableRule) => boolean): string[] {
  const going = rules.filter(remove);
  const staying = rules.filter((r) => !remove(r) && r.comment !== BASE_COMMENT);
  if (staying.length === 0) return [`delete table ${T}`];
  return going.map((r) => `delete rule ${T} ${r.chain} handle ${r.handle}`);
}

type Json = Record<string, unknown>;

/** A set or map element of nft's JSON: its key parts and comment. */
function elementKey(e: unknown): { parts: unknown[]; comment?: string } {
  const inner = (e as Json)?.elem as Json | undefined;
  const val = inner ? inner.val : e;
  const parts = ((val as Json)?.concat as unknown[] | undefined) ?? [val];
  return { parts, ...(inner && typeof inner.comment === 'string' ? { comment: inner.comment } : {}) };
}

/** One ports map's elements as mappings. */
function mapPorts(name: string, elems: unknown[]): TablePort[] {
  const m = /^ports([46])(h?)$/.exec(name);
  if (!m) return [];
  const family = Number(m[1]) as Family;
  const out: TablePort[] = [];
  for (const pair of elems) {
    if (!Array.isArray(pair) || pair.length !== 2) continue;
    const { parts, comment } = elementKey(pair[0]);
    const value = elementKey(pair[1]).parts;
    const [hostIp, protocol, hostPort] = m[2] ? parts : [undefined, ...parts];
    if ((protocol !== 'tcp' && protocol !== 'udp') || typeof hostPort !== 'number' || typeof value[0] !== 'string' || typeof value[1] !== 'number') continue;
    const who = parsePortComment(comment);
    out.push({ protocol, family, ...(typeof hostIp === 'string' ? { hostIp } : {}), hostPort, containerIp: value[0], containerPort: value[1], ...(who ?? {}) });
  }
  return out;
}

/** The rules and mappings of `nft -j list table inet berth` output. */
export function parseTable(json: string): TableState {
  const doc = JSON.parse(json) as { nftables?: Array<{ rule?: Json; map?: Json }> };
  const rules: TableRule[] = [];
  const ports: TablePort[] = [];
  for (const item of doc.nftables ?? []) {
    const r = item.rule;
    if (r && r.family === TABLE_FAMILY && r.table === TABLE_NAME && typeof r.chain === 'string' && typeof r.handle === 'number') {
      rules.push({ chain: r.chain, handle: r.handle, ...(typeof r.comment === 'string' ? { comment: r.comment } : {}) });
    }
    const m = item.map;
    if (m && m.family === TABLE_FAMILY && m.table === TABLE_NAME && typeof m.name === 'string' && Array.isArray(m.elem)) ports.push(...mapPorts(m.name, m.elem));
  }
  return { rules, ports };
}

/** Whether two mappings take the same host port (same family, protocol and port: see the top of this file). */
export function portsClash(a: Pick<PortRule, 'protocol' | 'family' | 'hostPort'>, b: Pick<PortRule, 'protocol' | 'family' | 'hostPort'>): boolean {
  return a.protocol === b.protocol && a.family === b.family && a.hostPort === b.hostPort;
}

// ---- validation of port mappings (pure) ----

export interface ContainerAddresses {
  /** The container's IPv4 address on the network (mappings without hostIp, or with an IPv4 one, go to it). */
  ipv4?: string;
  /** Its IPv6 address: mappings with an IPv6 hostIp go to it, and mappings without hostIp are made for IPv6 too. */
  ipv6?: string;
}

/**
 * The DNAT rules a list of mappings asks for (hostPort 0 still 0), refusing
 * bad fields as ConfigErrors at `${field}[i]`: ports out of range, an unknown
 * protocol, a hostIp that is no address or of a family the container has no
 * address of, and two mappings of the list that clash.
 */
export function resolvePortRules(ports: unknown, addrs: ContainerAddresses, field = 'ports'): PortRule[] {
  if (!Array.isArray(ports)) throw new ConfigError(field, 'must be an array of { hostPort, containerPort, protocol?, hostIp? }');
  const v4 = addrs.ipv4 !== undefined ? formatAddress(parseAddress(addrs.ipv4, 'ipv4', 4)) : undefined;
  const v6 = addrs.ipv6 !== undefined ? formatAddress(parseAddress(addrs.ipv6, 'ipv6', 6)) : undefined;
  const out: PortRule[] = [];
  ports.forEach((p: unknown, i) => {
    const at = `${field}[${i}]`;
    if (typeof p !== 'object' || p === null || Array.isArray(p)) throw new ConfigError(at, 'must be an object { hostPort, containerPort, protocol?, hostIp? }');
    const m = p as Record<string, unknown>;
    for (const k of Object.keys(m)) if (!['hostPort', 'containerPort', 'protocol', 'hostIp'].includes(k)) throw new ConfigError(`${at}.${k}`, 'is not a port mapping field (hostPort, containerPort, protocol, hostIp)');
    const port = (k: string, min: number): number => {
      const v = m[k];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > 65535) throw new ConfigError(`${at}.${k}`, `must be an integer ${min}..65535, got ${JSON.stringify(v)}`);
      return v;
    };
    const hostPort = port('hostPort', 0);
    const containerPort = port('containerPort', 1);
    const protocol = m.protocol ?? 'tcp';
    if (protocol !== 'tcp' && protocol !== 'udp') throw new ConfigError(`${at}.protocol`, `must be "tcp" or "udp", got ${JSON.stringify(protocol)}`);
    let families: Array<{ family: Family; hostIp?: string; to: string }>;
    if (m.hostIp !== undefined) {
      const a = parseAddress(m.hostIp, `${at}.hostIp`);
      if (a.family === 6 && a.value === 1n) throw new ConfigError(`${at}.hostIp`, '::1 cannot take a port mapping: the kernel never routes IPv6 loopback traffic out of lo (IPv6 has no route_localnet); use 127.0.0.1');
      const to = a.family === 4 ? v4 : v6;
      if (to === undefined) throw new ConfigError(`${at}.hostIp`, `${formatAddress(a)} is an IPv${a.family} address; the container has no IPv${a.family} address on this network`);
      // 0.0.0.0 and :: mean any address of the family, as for a socket.
      families = [{ family: a.family, ...(a.value === 0n ? {} : { hostIp: formatAddress(a) }), to }];
    } else {
      families = [];
      if (v4 !== undefined) families.push({ family: 4, to: v4 });
      if (v6 !== undefined) families.push({ family: 6, to: v6 });
      if (families.length === 0) throw new ConfigError(at, 'the container has no address on this network to map a port to');
    }
    for (const f of families) {
      const rule: PortRule = { protocol, family: f.family, ...(f.hostIp !== undefined ? { hostIp: f.hostIp } : {}), hostPort, containerIp: f.to, containerPort, mapping: i };
      const clash = hostPort !== 0 && out.find((o) => portsClash(o, rule));
      if (clash) throw new ConfigError(`${at}.hostPort`, `${protocol} ${hostPort} is mapped twice (also by another mapping of the list)`);
      out.push(rule);
    }
  });
  return out;
}

// ---- operations (under the namespace's lock; see networks.ts) ----

/** berth's table as the kernel holds it, or undefined when there is none. */
export async function readTable(h: NetnsHandle): Promise<TableState | undefined> {
  const out = await nft(h, `list table ${T}`, { json: true, tolerate: 'No such file or directory' });
  return out === undefined ? undefined : parseTable(out);
}

/**
 * Adds a network's rules (and the table, when it is the first): one
 * transaction. `table`: what readTable said just before, under the same lock
 * (createNetwork reads it before it makes anything, so a missing libnftables
 * is known before the bridge exists).
 */
export async function installNetwork(h: NetnsHandle, n: NatNetwork, table?: TableState | null): Promise<void> {
  const state = table === undefined ? await readTable(h) : (table ?? undefined);
  if (state?.rules.some((r) => belongsTo(r.comment, n.bridge))) {
    throw new NetworkError('NFTABLES_FAILED', `berth's table in ${h.label} already has rules of bridge ${n.bridge}`, { ifname: n.bridge });
  }
  await nft(h, [...(state === undefined ? tableCommands() : []), ...networkCommands(n)]);
}

/** Removes every rule of the network of `bridge` and its port mappings, and the table with the last network. */
export async function uninstallNetwork(h: NetnsHandle, bridge: string): Promise<void> {
  const state = await readTable(h);
  if (state === undefined) return;
  // A table left with nothing but its own base rules (a network's rules already gone) is deleted too.
  const cmds = removalCommands(state.rules, (r) => belongsTo(r.comment, bridge));
  if (cmds[0] !== `delete table ${T}`) cmds.push(...unportCommands(state.ports.filter((p) => p.bridge === bridge)));
  if (cmds.length > 0) await nft(h, cmds);
}

/** Whether the host port of `r` is in taken4/taken6 now. */
async function taken(h: NetnsHandle, r: Pick<PortRule, 'family' | 'protocol' | 'hostPort'>): Promise<boolean> {
  return (await nft(h, `get element ${T} taken${r.family} { ${r.protocol} . ${r.hostPort} }`, { tolerate: 'Could not process rule: No such file or directory' })) !== undefined;
}

/** A host port for a rule that no socket of the namespace holds (port 0: one the kernel picks). */
function probePort(h: NetnsHandle, r: PortRule, field: string): number {
  const addr = r.hostIp !== undefined ? addressBytes(parseAddress(r.hostIp, 'hostIp', r.family)) : null;
  try {
    return native.netnsBindPort(h.fd, r.family, r.protocol, addr, r.hostPort);
  } catch (err) {
    const e = err as Error & { code?: string; syscall?: string };
    const where = `${r.protocol} ${r.hostIp ?? anyAddress(r.family)}:${r.hostPort}`;
    if (e.code === 'EADDRINUSE') throw new NetworkError('PORT_IN_USE', `host port ${where} is taken in ${h.label}: a socket there holds it`, { errno: 'EADDRINUSE', syscall: 'bind', field });
    throw new NetworkError('NETWORK_FAILED', `host port ${where} cannot be used in ${h.label}: ${e.message}`, { ...(e.code ? { errno: e.code } : {}), ...(e.syscall ? { syscall: e.syscall } : {}), field, cause: err });
  }
}

/**
 * Adds the DNAT map elements of one container's mappings on the network of
 * `bridge`. A host port another mapping (of any berth network in the
 * namespace) has is refused by the kernel (PORT_IN_USE), and one a socket of
 * the namespace holds is found by binding it first; hostPort 0 becomes a free
 * port, the same one for the IPv4 and IPv6 element of a mapping. All of them
 * or none: one transaction. The mappings as added.
 */
export async function addPorts(h: NetnsHandle, bridge: string, owner: string, rules: readonly PortRule[], field = 'ports'): Promise<PortRule[]> {
  const at = (r: PortRule, i: number) => `${field}[${r.mapping ?? i}].hostPort`;
  const resolved: PortRule[] = [];
  // The rules of one mapping share its host port: a port picked for its IPv4 rule is its IPv6 rule's too.
  const picked = new Map<number, number>();
  for (const [i, r] of rules.entries()) {
    const want = r.hostPort === 0 ? (picked.get(r.mapping ?? -1) ?? 0) : r.hostPort;
    const port = probePort(h, { ...r, hostPort: want }, at(r, i));
    if (r.hostPort === 0 && r.mapping !== undefined) picked.set(r.mapping, port);
    resolved.push({ ...r, hostPort: port });
  }
  for (let attempt = 0; ; attempt++) {
    try {
      await nft(h, portCommands(bridge, owner, resolved));
      return resolved;
    } catch (err) {
      if (!(err instanceof NetworkError) || err.code !== 'NFTABLES_FAILED') throw err;
      if (/No such file or directory/.test(err.nftError ?? '')) {
        throw new NetworkError('NETWORK_NOT_FOUND', `berth's table in ${h.label} has no port maps (is the network of bridge ${bridge} still there?)`, { ifname: bridge, cause: err });
      }
      if (!/File exists/.test(err.nftError ?? '')) throw err;
      // Which host port is another mapping's: a fixed one is refused; a picked one is picked again.
      let repicked = false;
      for (const [i, r] of resolved.entries()) {
        if (!(await taken(h, r))) continue;
        const asked = rules[i]!;
        if (asked.hostPort !== 0 || attempt >= 8) {
          throw new NetworkError('PORT_IN_USE', `host port ${r.protocol} ${r.hostIp ?? anyAddress(r.family)}:${r.hostPort} is already mapped to a container in ${h.label}`, { field: at(asked, i), cause: err });
        }
        const port = probePort(h, { ...asked, hostPort: 0 }, at(asked, i));
        for (const [j, other] of resolved.entries()) if (rules[j]!.hostPort === 0 && other.mapping === asked.mapping) resolved[j] = { ...other, hostPort: port };
        repicked = true;
      }
      if (!repicked) throw err;
    }
  }
}

/**
 * Removes every mapping whose elements' comment names `owner` on the network
 * of `bridge` (read from the table: a mapping another owner took since is
 * never touched). How many went.
 */
export async function removePorts(h: NetnsHandle, bridge: string, owner: string): Promise<number> {
  const state = await readTable(h);
  if (state === undefined) return 0;
  const mine = state.ports.filter((p) => p.bridge === bridge && p.owner === owner);
  if (mine.length > 0) await nft(h, unportCommands(mine));
  return mine.length;
}
