// Bridge networks: createNetwork / listNetworks / inspectNetwork /
// removeNetwork, and what a container attaching to one calls (leaseAddresses,
// publishPorts, unpublishPorts, releaseAddresses).
//
// A network is a Linux bridge in a network namespace (`netns`: a path such as
// /run/netns/x or /proc/<pid>/ns/net; default: the caller's own) with the
// gateway address, forwarding on, berth's nft rules for it (nat.ts), and a
// record other processes read:
//   <stateRoot>/networks/<name>/network.json   this file's record
//   <stateRoot>/networks/<name>/leases/        its address leases (ipam.ts)
//   <stateRoot>/networks/<name>/leases6/       a dual-stack network's IPv6 leases
// Every change of records runs under an flock on <stateRoot>/networks (two
// creates of one name: one wins, the other is NETWORK_EXISTS), and every
// change in a namespace under the flock of that namespace (nftables.ts),
// taken in that order. A create writes its record first as "creating" with
// its pid, then makes the bridge, addresses, sysctls and rules, then marks it
// "ready"; any failure undoes what was made, in reverse. A creator killed
// midway leaves a "creating" record whose owner is dead: the next create or
// remove under the lock undoes what it names (the bridge only if it still has
// the MAC address the record gave it).
//
// Forwarding (net.ipv4.ip_forward, and net.ipv6.conf.all.forwarding for an
// IPv6 subnet) is switched on in the namespace for a non-internal network and
// is not switched off with the last one: it is the namespace's switch, which
// whatever else routes there (another runtime, a VPN) relies on once it is on
// (Docker and podman do the same). Nothing else outlives the network: the
// bridge (with its addresses and route_localnet), its rules and port
// mappings, the table with the last network, the record and the leases.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { defaultStateRoot, ownStartTime } from '../state/state-dir.js';
import { withContainerLock } from '../state/op-lock.js';
import { NetworkError } from './errors.js';
import { type Lease, type LeaseOwner, type Pool, allocate, leasesDir, listLeases, ownerAlive, reclaim, release, releaseOwner } from './ipam.js';
import { type PortRule, type PortMappingSpec, type ContainerAddresses, addPorts, installNetwork, ownerKey, readTable, removePorts, resolvePortRules, uninstallNetwork } from './nat.js';
import { type NetnsHandle, withNetns } from './nftables.js';
import { Rtnetlink, interfaceNameProblem, readNetSysctl, writeNetSysctl } from './rtnetlink.js';
import {
  type Address,
  type Family,
  type Subnet,
  checkHostAddress,
  checkNetworkSubnet,
  defaultGateway,
  formatAddress,
  formatSubnet,
  overlaps,
  parseAddress,
  parseSubnet,
} from './subnet.js';

export interface NetworkStoreOptions {
  /** The state root whose networks/ holds the records (default /run/berth as root, $XDG_RUNTIME_DIR/berth otherwise). */
  stateRoot?: string;
}

export interface CreateNetworkOptions extends NetworkStoreOptions {
  /** [A-Za-z0-9][A-Za-z0-9_.-]{0,63} */
  name: string;
  /** The network's subnet, IPv4 ("10.88.0.0/16") or IPv6 (an IPv6-only network). */
  subnet: string;
  /** The bridge's address; default: the subnet's first host address. */
  gateway?: string;
  /** A second, IPv6 subnet (dual stack): "fd00:88::/64", or with its gateway. */
  ipv6?: string | { subnet: string; gateway?: string };
  /** No traffic leaves the bridge: containers reach each other and the gateway only; no NAT, no port mappings. */
  internal?: boolean;
  /** The network namespace that holds the bridge and the NAT rules (/run/netns/x, /proc/<pid>/ns/net); default: the caller's. */
  netns?: string;
}

export interface NetworkInfo {
  name: string;
  /** The bridge's interface name in `netns`. */
  bridge: string;
  subnet: string;
  gateway: string;
  ipv6?: { subnet: string; gateway: string };
  internal: boolean;
  /** The namespace path given to createNetwork; undefined: its creator's own namespace. */
  netns?: string;
  /** The namespace's inode (nsfs): its identity while it lives. */
  netnsInode: number;
  /** ISO time of creation. */
  created: string;
  /** The containers holding addresses on it (live leases only). */
  containers: Array<{ id: string; address: string }>;
  /** True when the namespace it was made in is gone or not the one at its path any more (its bridge and rules went with it): removeNetwork only deletes the record. */
  orphaned?: true;
}

/** What network.json holds. */
interface NetworkRecord {
  version: 1;
  state: 'creating' | 'ready';
  name: string;
  bridge: string;
  /** The bridge's MAC, set at creation: a cleanup deletes only the link that still has it. */
  mac: string;
  subnet: string;
  gateway: string;
  ipv6?: { subnet: string; gateway: string };
  internal: boolean;
  netns: string | null;
  netnsInode: number;
  created: string;
  creator: { pid: number; startTime: number };
}

/** createNetwork's input, checked and resolved (pure: nothing exists yet). */
export interface NetworkSpec {
  name: string;
  subnet: Subnet;
  gateway: Address;
  ipv6?: { subnet: Subnet; gateway: Address };
  internal: boolean;
  netns?: string;
  stateRoot: string;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const RECORD = 'network.json';
const KEYS = ['name', 'subnet', 'gateway', 'ipv6', 'internal', 'netns', 'stateRoot'];

// ---- pure parts ----

/** Why `name` cannot be a network name, or undefined. */
export function networkNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return `a network name is a string, not ${name === null ? 'null' : typeof name}`;
  if (!NAME_RE.test(name)) return `${JSON.stringify(name)} is not a network name: 1-64 of [A-Za-z0-9_.-], starting with a letter or digit`;
  return undefined;
}

function checkName(name: unknown, field = 'name'): string {
  const problem = networkNameProblem(name);
  if (problem) throw new ConfigError(field, problem);
  return name as string;
}

function checkRoot(root: unknown): string {
  if (root === undefined) return defaultStateRoot();
  if (typeof root !== 'string' || !path.isAbsolute(root)) throw new ConfigError('stateRoot', 'must be an absolute path');
  return root;
}

/** createNetwork's options checked before anything is made; each refusal a ConfigError naming its field. */
export function checkNetworkOptions(opts: unknown): NetworkSpec {
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) throw new ConfigError('$', 'createNetwork takes an object { name, subnet, gateway?, ipv6?, internal?, netns?, stateRoot? }');
  const o = opts as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.includes(k) && o[k] !== undefined) throw new ConfigError(k, `is not an option of createNetwork (${KEYS.join(', ')})`);
  const name = checkName(o.name);
  if (o.subnet === undefined) throw new ConfigError('subnet', 'is required (a CIDR such as "10.88.0.0/16")');
  const subnet = parseSubnet(o.subnet, 'subnet');
  checkNetworkSubnet(subnet, 'subnet');
  const gatewayOf = (s: Subnet, given: unknown, field: string): Address => {
    if (given === undefined) return defaultGateway(s, field);
    const gw = parseAddress(given, field);
    checkHostAddress(s, gw, undefined, field);
    return gw;
  };
  const gateway = gatewayOf(subnet, o.gateway, 'gateway');
  let ipv6: NetworkSpec['ipv6'];
  if (o.ipv6 !== undefined) {
    if (subnet.family === 6) throw new ConfigError('ipv6', `the subnet ${formatSubnet(subnet)} is IPv6 already; ipv6 adds an IPv6 subnet to an IPv4 network`);
    const v = typeof o.ipv6 === 'string' ? { subnet: o.ipv6 } : o.ipv6;
    const field = typeof o.ipv6 === 'string' ? 'ipv6' : 'ipv6.subnet';
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError('ipv6', 'must be an IPv6 CIDR string or { subnet, gateway? }');
    const vv = v as Record<string, unknown>;
    for (const k of Object.keys(vv)) if (k !== 'subnet' && k !== 'gateway') throw new ConfigError(`ipv6.${k}`, 'is not an option of ipv6 (subnet, gateway)');
    const s6 = parseSubnet(vv.subnet, field);
    if (s6.family !== 6) throw new ConfigError(field, `${formatSubnet(s6)} is not an IPv6 subnet`);
    checkNetworkSubnet(s6, field);
    ipv6 = { subnet: s6, gateway: gatewayOf(s6, vv.gateway, 'ipv6.gateway') };
  }
  if (o.internal !== undefined && typeof o.internal !== 'boolean') throw new ConfigError('internal', 'must be a boolean');
  if (o.netns !== undefined && (typeof o.netns !== 'string' || !path.isAbsolute(o.netns))) throw new ConfigError('netns', 'must be the absolute path of a network namespace (/run/netns/<name>, /proc/<pid>/ns/net)');
  return {
    name,
    subnet,
    gateway,
    ...(ipv6 ? { ipv6 } : {}),
    internal: o.internal === true,
    ...(o.netns !== undefined ? { netns: o.netns as string } : {}),
    stateRoot: checkRoot(o.stateRoot),
  };
}

/**
 * The bridge of network `name`: "br-<name>" when that fits IFNAMSIZ (15
 * bytes), else (and for every later attempt, when the name is taken in the
 * namespace) "br-" + the name's first 6 characters + "-" + 5 hex digits of a
 * hash of the name and the attempt: 15 bytes at most, always a valid
 * interface name, and stable for a name so a listing reads naturally.
 */
export function bridgeName(name: string, attempt = 0): string {
  const simple = `br-${name}`;
  if (attempt === 0 && Buffer.byteLength(simple) <= 15 && !interfaceNameProblem(simple)) return simple;
  const h = createHash('sha256').update(`${name}\0${attempt}`).digest('hex').slice(0, 5);
  return `br-${name.slice(0, 6)}-${h}`;
}

/** The subnets of two networks that overlap (same family), as [ours, theirs] text, or undefined. */
export function subnetOverlap(a: Pick<NetworkSpec, 'subnet' | 'ipv6'>, b: Pick<NetworkSpec, 'subnet' | 'ipv6'>): [string, string] | undefined {
  const mine = [a.subnet, ...(a.ipv6 ? [a.ipv6.subnet] : [])];
  const theirs = [b.subnet, ...(b.ipv6 ? [b.ipv6.subnet] : [])];
  for (const x of mine) for (const y of theirs) if (overlaps(x, y)) return [formatSubnet(x), formatSubnet(y)];
  return undefined;
}

function randomMac(): string {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfe) | 0x02; // unicast, locally administered
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

// ---- records ----

const networksDir = (root: string) => path.join(root, 'networks');
const networkDir = (root: string, name: string) => path.join(networksDir(root), name);

function readRecord(root: string, name: string): NetworkRecord | undefined {
  try {
    const r = JSON.parse(fs.readFileSync(path.join(networkDir(root, name), RECORD), 'utf8')) as NetworkRecord;
    return r && r.version === 1 && typeof r.bridge === 'string' && typeof r.subnet === 'string' ? r : undefined;
  } catch {
    return undefined;
  }
}

function writeRecord(root: string, rec: NetworkRecord): void {
  const file = path.join(networkDir(root, rec.name), RECORD);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(rec, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

function allRecords(root: string): NetworkRecord[] {
  let names: string[];
  try {
    names = fs.readdirSync(networksDir(root));
  } catch {
    return [];
  }
  const out: NetworkRecord[] = [];
  for (const n of names.sort()) {
    if (!NAME_RE.test(n)) continue;
    const r = readRecord(root, n);
    if (r && r.name === n) out.push(r);
  }
  return out;
}

function specOf(r: NetworkRecord): Pick<NetworkSpec, 'subnet' | 'ipv6'> {
  return { subnet: parseSubnet(r.subnet, 'subnet'), ...(r.ipv6 ? { ipv6: { subnet: parseSubnet(r.ipv6.subnet, 'ipv6.subnet'), gateway: parseAddress(r.ipv6.gateway, 'ipv6.gateway') } } : {}) };
}

/** The lease pools of a network: its subnet's (leases/) and a dual-stack network's IPv6 one (leases6/). */
export function networkPools(info: Pick<NetworkInfo, 'name' | 'subnet' | 'gateway' | 'ipv6'>, stateRoot?: string): Pool[] {
  const root = checkRoot(stateRoot);
  const dir = leasesDir(root, info.name);
  const pools: Pool[] = [{ network: info.name, dir, subnet: parseSubnet(info.subnet, 'subnet'), gateway: parseAddress(info.gateway, 'gateway') }];
  if (info.ipv6) pools.push({ network: info.name, dir: path.join(path.dirname(dir), 'leases6'), subnet: parseSubnet(info.ipv6.subnet, 'ipv6.subnet'), gateway: parseAddress(info.ipv6.gateway, 'ipv6.gateway') });
  return pools;
}

/** Where a record's namespace is now: the path (or undefined: this process's own), or undefined reachable when it is gone. */
function locate(r: Pick<NetworkRecord, 'netns' | 'netnsInode'>): { reachable: boolean; ns?: string } {
  const file = r.netns ?? '/proc/self/ns/net';
  try {
    if (fs.statSync(file).ino === r.netnsInode) return r.netns === null ? { reachable: true } : { reachable: true, ns: r.netns };
  } catch {
    // gone
  }
  return { reachable: false };
}

function infoOf(root: string, r: NetworkRecord): NetworkInfo {
  const containers: NetworkInfo['containers'] = [];
  for (const pool of networkPools(r, root)) for (const l of listLeases(pool.dir)) if (l.alive) containers.push({ id: l.id, address: l.address });
  const { orphaned, ...rest } = infoOfRecord(r);
  return { ...rest, containers, ...(orphaned ? { orphaned } : {}) };
}

function notFound(name: string, root: string): NetworkError {
  return new NetworkError('NETWORK_NOT_FOUND', `no network "${name}" in ${networksDir(root)}`, { network: name, errno: 'ENOENT', path: networkDir(root, name) });
}

/** Runs fn under the flock of <root>/networks (made on first use). */
async function withStoreLock<T>(root: string, fn: () => Promise<T>): Promise<T> {
  fs.mkdirSync(networksDir(root), { recursive: true, mode: 0o700 });
  return withContainerLock(networksDir(root), 'network', fn);
}

// ---- the kernel side of one network ----

const nsArg = (h: NetnsHandle) => (h.fd < 0 ? undefined : h.fd);

/**
 * Undoes a network in its namespace (lock held): its rules (the table with
 * the last), and its bridge when the link by that name still has the record's MAC.
 */
async function teardown(h: NetnsHandle, r: Pick<NetworkRecord, 'bridge' | 'mac'>): Promise<void> {
  await uninstallNetwork(h, r.bridge);
  const rt = Rtnetlink.open(nsArg(h));
  try {
    const link = rt.findLink(r.bridge);
    if (link && link.kind === 'bridge' && link.mac === r.mac) rt.deleteLink(r.bridge);
  } finally {
    rt.close();
  }
}

/**
 * Removes what a dead creator's "creating" record names (store lock held).
 * Best effort: a record whose undoing fails stays for the next sweep, and
 * does not fail the create or remove that came across it.
 */
async function sweepAbandoned(root: string): Promise<void> {
  for (const r of allRecords(root)) {
    if (r.state !== 'creating' || ownerAlive(r.creator)) continue;
    try {
      const where = locate(r);
      if (where.reachable) await withNetns(where.ns, { lock: true }, (h) => teardown(h, r));
      fs.rmSync(networkDir(root, r.name), { recursive: true, force: true });
    } catch {
      // left for the next sweep
    }
  }
}

// ---- the API ----

/**
 * Makes a bridge network (see the top of this file). Bad options are
 * ConfigErrors before anything exists; a name taken is NETWORK_EXISTS; a
 * subnet overlapping another network's in the same namespace is
 * SUBNET_OVERLAP; a refusal of the kernel or nft is NETWORK_FAILED /
 * NFTABLES_FAILED / NFTABLES_UNAVAILABLE, with everything made so far undone.
 */
export async function createNetwork(opts: CreateNetworkOptions): Promise<NetworkInfo> {
  const spec = checkNetworkOptions(opts);
  const root = spec.stateRoot;
  return withStoreLock(root, async () => {
    await sweepAbandoned(root);
    const dir = networkDir(root, spec.name);
    if (fs.existsSync(path.join(dir, RECORD))) {
      throw new NetworkError('NETWORK_EXISTS', `a network "${spec.name}" exists already in ${networksDir(root)}`, { network: spec.name, errno: 'EEXIST', path: dir });
    }
    return withNetns(spec.netns, { lock: true }, async (h) => {
      // Only the networks whose namespace is this one, alive.
      const peers = allRecords(root).filter((r) => r.netnsInode === h.inode && locate(r).reachable);
      for (const p of peers) {
        const clash = subnetOverlap(spec, specOf(p));
        if (clash) {
          const field = clash[0] === formatSubnet(spec.subnet) ? 'subnet' : 'ipv6.subnet';
          throw new NetworkError('SUBNET_OVERLAP', `invalid config at ${field}: ${clash[0]} overlaps ${clash[1]} of network "${p.name}" in ${h.label}`, { network: p.name, field });
        }
      }
      const rt = Rtnetlink.open(nsArg(h));
      try {
        return await makeNetwork(root, spec, h, rt, peers);
      } finally {
        rt.close();
      }
    });
  });
}

/** createNetwork's kernel part, both locks held: bridge, addresses, sysctls, rules, record; undone on any failure. */
async function makeNetwork(root: string, spec: NetworkSpec, h: NetnsHandle, rt: Rtnetlink, peers: NetworkRecord[]): Promise<NetworkInfo> {
  const dir = networkDir(root, spec.name);
  const used = new Set(peers.map((p) => p.bridge));
  let bridge = '';
  for (let attempt = 0; attempt < 64; attempt++) {
    const candidate = bridgeName(spec.name, attempt);
    if (!used.has(candidate) && rt.findLink(candidate) === undefined) {
      bridge = candidate;
      break;
    }
  }
  if (!bridge) throw new NetworkError('NETWORK_FAILED', `no free bridge name for network "${spec.name}" in ${h.label}`, { network: spec.name });
  // berth's table as it is (null: none), read before anything is made: no libnftables, or a table nft cannot read, fails here.
  const table = (await readTable(h)) ?? null;

  const rec: NetworkRecord = {
    version: 1,
    state: 'creating',
    name: spec.name,
    bridge,
    mac: randomMac(),
    subnet: formatSubnet(spec.subnet),
    gateway: formatAddress(spec.gateway),
    ...(spec.ipv6 ? { ipv6: { subnet: formatSubnet(spec.ipv6.subnet), gateway: formatAddress(spec.ipv6.gateway) } } : {}),
    internal: spec.internal,
    netns: spec.netns ?? null,
    netnsInode: h.inode,
    created: new Date().toISOString(),
    creator: { pid: process.pid, startTime: ownStartTime() ?? 0 },
  };
  fs.rmSync(dir, { recursive: true, force: true }); // a directory without a record: leftovers of nothing
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  let made = false;
  let ruled = false;
  try {
    writeRecord(root, rec);
    const ns = nsArg(h);
    rt.createBridge(bridge, { mac: rec.mac });
    made = true;
    rt.addAddress(bridge, `${rec.gateway}/${spec.subnet.prefix}`, spec.subnet.family === 6 ? { nodad: true } : {});
    if (spec.ipv6) rt.addAddress(bridge, `${formatAddress(spec.ipv6.gateway)}/${spec.ipv6.subnet.prefix}`, { nodad: true });
    const v4 = spec.subnet.family === 4;
    const v6 = spec.subnet.family === 6 || spec.ipv6 !== undefined;
    if (v4 && !spec.internal) writeNetSysctl(ns, `net/ipv4/conf/${bridge}/route_localnet`, '1');
    rt.setUp(bridge);
    await installNetwork(h, { bridge, subnets: [spec.subnet, ...(spec.ipv6 ? [spec.ipv6.subnet] : [])], internal: spec.internal }, table);
    ruled = true;
    if (!spec.internal) {
      if (v4 && readNetSysctl(ns, 'net.ipv4.ip_forward') !== '1') writeNetSysctl(ns, 'net.ipv4.ip_forward', '1');
      if (v6 && readNetSysctl(ns, 'net.ipv6.conf.all.forwarding') !== '1') writeNetSysctl(ns, 'net.ipv6.conf.all.forwarding', '1');
    }
    rec.state = 'ready';
    writeRecord(root, rec);
  } catch (err) {
    const left: string[] = [];
    if (ruled) await uninstallNetwork(h, bridge).catch((e: Error) => left.push(`its nft rules (${e.message})`));
    if (made) {
      try {
        rt.deleteLink(bridge);
      } catch (e) {
        if ((e as NetworkError).errno !== 'ENODEV') left.push(`bridge ${bridge} (${(e as Error).message})`);
      }
    }
    if (left.length === 0) fs.rmSync(dir, { recursive: true, force: true }); // else the "creating" record lets a later sweep finish
    if (left.length > 0 && err instanceof Error) err.message += `; undoing the network left ${left.join(' and ')}`;
    throw err;
  }
  return infoOf(root, rec);
}

/** Every network of the state root (being made by another process: not listed). */
export async function listNetworks(opts: NetworkStoreOptions = {}): Promise<NetworkInfo[]> {
  const root = checkRoot(opts.stateRoot);
  return allRecords(root)
    .filter((r) => r.state === 'ready')
    .map((r) => infoOf(root, r));
}

/** One network; NETWORK_NOT_FOUND when there is none of that name. */
export async function inspectNetwork(name: string, opts: NetworkStoreOptions = {}): Promise<NetworkInfo> {
  checkName(name);
  const root = checkRoot(opts.stateRoot);
  const r = readRecord(root, name);
  if (!r || r.state !== 'ready') throw notFound(name, root);
  return infoOf(root, r);
}

/**
 * A ready network's record as inspectNetwork gives it, but without walking its
 * leases (`containers` is left out): what a container's config check reads,
 * at the same cost for the 200th container as for the first. Undefined when
 * there is no ready network of that name.
 */
export function readNetwork(name: string, opts: NetworkStoreOptions = {}): Omit<NetworkInfo, 'containers'> | undefined {
  if (networkNameProblem(name)) return undefined;
  const root = checkRoot(opts.stateRoot);
  const r = readRecord(root, name);
  if (!r || r.state !== 'ready' || r.name !== name) return undefined;
  return infoOfRecord(r);
}

function infoOfRecord(r: NetworkRecord): Omit<NetworkInfo, 'containers'> {
  return {
    name: r.name,
    bridge: r.bridge,
    subnet: r.subnet,
    gateway: r.gateway,
    ...(r.ipv6 ? { ipv6: { ...r.ipv6 } } : {}),
    internal: r.internal,
    ...(r.netns !== null ? { netns: r.netns } : {}),
    netnsInode: r.netnsInode,
    created: r.created,
    ...(locate(r).reachable ? {} : { orphaned: true as const }),
  };
}

/**
 * Removes a network: refused (NETWORK_IN_USE, `users`) while a live
 * container holds an address on it (leases of dead owners are reclaimed
 * first); then its rules (the table with the last network of the namespace),
 * its bridge, its record and leases. A network whose namespace is gone
 * (orphaned) only loses its record.
 */
export async function removeNetwork(name: string, opts: NetworkStoreOptions = {}): Promise<void> {
  checkName(name);
  const root = checkRoot(opts.stateRoot);
  await withStoreLock(root, async () => {
    await sweepAbandoned(root);
    const r = readRecord(root, name);
    if (!r || r.state !== 'ready') throw notFound(name, root);
    const users = new Set<string>();
    for (const pool of networkPools(r, root)) {
      await reclaim(pool.dir);
      for (const l of listLeases(pool.dir)) if (l.alive) users.add(l.id);
    }
    if (users.size > 0) {
      const ids = [...users].sort();
      throw new NetworkError('NETWORK_IN_USE', `network "${name}" is in use by container${ids.length > 1 ? 's' : ''} ${ids.map((i) => `"${i}"`).join(', ')}`, { network: name, users: ids, errno: 'EBUSY' });
    }
    const where = locate(r);
    if (where.reachable) await withNetns(where.ns, { lock: true }, (h) => teardown(h, r));
    fs.rmSync(networkDir(root, name), { recursive: true, force: true });
  });
}

// ---- what a container attaching to a network calls ----

export interface LeasedAddress {
  family: Family;
  address: string;
  prefix: number;
  gateway: string;
}

/**
 * Addresses for container `owner.id` on the network: one of its subnet (the
 * fixed `ip` when given) and, on a dual-stack network, one of its IPv6 subnet
 * (`ip6`). Under the networks lock, so a removeNetwork either sees the lease
 * or removes the network first (then this is NETWORK_NOT_FOUND). All or none.
 */
export async function leaseAddresses(
  name: string,
  owner: LeaseOwner,
  opts: NetworkStoreOptions & { ip?: string; ip6?: string; field?: string } = {},
): Promise<{ network: Omit<NetworkInfo, 'containers'>; addresses: LeasedAddress[] }> {
  checkName(name, opts.field !== undefined ? `${opts.field}.name` : 'name');
  const root = checkRoot(opts.stateRoot);
  return withStoreLock(root, async () => {
    const r = readRecord(root, name);
    if (!r || r.state !== 'ready') throw notFound(name, root);
    if (!locate(r).reachable) throw new NetworkError('NETWORK_FAILED', `network "${name}" lives in a network namespace that is gone (inode ${r.netnsInode})`, { network: name, errno: 'ENOENT' });
    const pools = networkPools(r, root);
    const got: Array<{ pool: Pool; lease: Lease }> = [];
    try {
      for (const [i, pool] of pools.entries()) {
        const ip = i === 0 ? opts.ip : opts.ip6;
        const field = `${opts.field ?? ''}${opts.field ? '.' : ''}${i === 0 ? 'ip' : 'ip6'}`;
        got.push({ pool, lease: await allocate(pool, owner, { ...(ip !== undefined ? { ip } : {}), field }) });
      }
    } catch (err) {
      for (const g of got) await release(g.pool.dir, g.lease.address, owner.id);
      throw err;
    }
    return {
      // Without the lease walk (inspectNetwork's containers): the 200th container's lease costs what the first's did.
      network: infoOfRecord(r),
      addresses: got.map((g) => ({ family: g.pool.subnet.family, address: g.lease.address, prefix: g.pool.subnet.prefix, gateway: formatAddress(g.pool.gateway!) })),
    };
  });
}

/** Gives back every address container `id` holds on the network; the addresses. */
export async function releaseAddresses(name: string, id: string, opts: NetworkStoreOptions = {}): Promise<string[]> {
  checkName(name);
  const root = checkRoot(opts.stateRoot);
  const r = readRecord(root, name);
  if (!r) return [];
  const out: string[] = [];
  for (const pool of networkPools(r, root)) out.push(...(await releaseOwner(pool.dir, id)));
  return out;
}

export interface PublishedPort {
  protocol: 'tcp' | 'udp';
  family: Family;
  /** undefined: every address of the namespace of that family. */
  hostIp?: string;
  /** The port bound (hostPort 0 asked: the one picked). */
  hostPort: number;
  containerIp: string;
  containerPort: number;
}

/**
 * DNAT port mappings for container `id` (its addresses on the network in
 * `addresses`): checked (ConfigError at `field`[i]), refused on an internal
 * network, and a host port a mapping or a socket of the namespace has is
 * PORT_IN_USE. All or none; hostPort 0 becomes a free port.
 */
export async function publishPorts(
  name: string,
  id: string,
  addresses: ContainerAddresses,
  ports: readonly PortMappingSpec[],
  opts: NetworkStoreOptions & { field?: string } = {},
): Promise<PublishedPort[]> {
  checkName(name);
  const field = opts.field ?? 'ports';
  const root = checkRoot(opts.stateRoot);
  const r = readRecord(root, name);
  if (!r || r.state !== 'ready') throw notFound(name, root);
  const rules = resolvePortRules(ports, addresses, field);
  if (rules.length === 0) return [];
  if (r.internal) throw new ConfigError(field, `network "${name}" is internal: no traffic reaches it from outside, so ports cannot be published on it`);
  const spec = specOf(r);
  for (const rule of rules) {
    const s = rule.family === spec.subnet.family ? spec.subnet : spec.ipv6?.subnet;
    const a = parseAddress(rule.containerIp, 'address', rule.family);
    if (!s) throw new ConfigError(field, `network "${name}" has no IPv${rule.family} subnet`);
    checkHostAddress(s, a, undefined, rule.family === 4 ? 'ipv4' : 'ipv6');
  }
  const where = locate(r);
  if (!where.reachable) throw new NetworkError('NETWORK_FAILED', `network "${name}" lives in a network namespace that is gone (inode ${r.netnsInode})`, { network: name, errno: 'ENOENT' });
  const added = await withNetns(where.ns, { lock: true }, (h) => addPorts(h, r.bridge, ownerKey(id), rules, field));
  return added.map((p): PublishedPort => ({ protocol: p.protocol, family: p.family, ...(p.hostIp !== undefined ? { hostIp: p.hostIp } : {}), hostPort: p.hostPort, containerIp: p.containerIp, containerPort: p.containerPort }));
}

/** Removes every port mapping of container `id` on the network; how many rules went (0 when the network or its namespace is gone). */
export async function unpublishPorts(name: string, id: string, opts: NetworkStoreOptions = {}): Promise<number> {
  checkName(name);
  const root = checkRoot(opts.stateRoot);
  const r = readRecord(root, name);
  if (!r) return 0;
  const where = locate(r);
  if (!where.reachable) return 0;
  return withNetns(where.ns, { lock: true }, (h) => removePorts(h, r.bridge, ownerKey(id)));
}

export type { PortRule, PortMappingSpec, ContainerAddresses };
