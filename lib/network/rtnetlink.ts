// Links, addresses and routes of one network namespace over rtnetlink from
// the addon: no `ip` binary, no shell, no Node thread ever changing
// namespace (the socket is made on a thread of the addon's that joined the
// namespace, and stays bound to it). Calls are synchronous: each is one
// kernel round trip of microseconds, cheaper than a hop to the thread pool.
// Every refusal is a NetworkError (NETWORK_FAILED) with errno, the netlink
// message ('rtnetlink RTM_NEWLINK') and the interface.
import fs from 'node:fs';
import { native } from '../native/addon.js';
import type { NativeLink } from '../native/netlink-types.js';
import { NetworkError } from './errors.js';
import { addressBytes, lastAddress, parseAddress, parseInterfaceAddress, parseSubnet } from './subnet.js';

/** A network namespace: a path (/run/netns/x, /proc/<pid>/ns/net), an open fd the caller keeps, or undefined: the caller's own. */
export type Netns = string | number | undefined;

export interface LinkInfo {
  index: number;
  name: string;
  /** 'bridge', 'veth', …; '' for a device without a kind (lo, a physical NIC). */
  kind: string;
  /** The master's name (a bridge port's bridge), if it has one. */
  master?: string;
  masterIndex: number;
  /** A veth's peer index (in the peer's namespace); 0: none. */
  peerIndex: number;
  up: boolean;
  mtu: number;
  mac: string;
}

const IFF_UP = 1;

/** Why `name` cannot be an interface name (the kernel's dev_valid_name), or undefined. */
export function interfaceNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name === '') return 'an interface name must be a non-empty string';
  if (Buffer.byteLength(name) > 15) return `"${name}" is longer than 15 bytes (IFNAMSIZ)`;
  if (name === '.' || name === '..' || /[/:\s\0]/.test(name)) return `"${name}" cannot be an interface name (no "/", ":", whitespace, "." or "..")`;
  return undefined;
}

/** A MAC address "aa:bb:cc:dd:ee:ff" as 6 bytes; undefined if it is not one. */
export function parseMac(text: string): Buffer | undefined {
  if (!/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/.test(text)) return undefined;
  return Buffer.from(text.split(':').map((h) => parseInt(h, 16)));
}

function label(ns: Netns): string {
  return ns === undefined ? "the caller's network namespace" : typeof ns === 'number' ? `netns fd ${ns}` : ns;
}

/** Runs fn with an fd of the namespace (-1: the caller's); a path is opened for the call only. */
function withNsFd<T>(ns: Netns, fn: (fd: number) => T): T {
  if (ns === undefined || typeof ns === 'number') return fn(ns ?? -1);
  let fd: number;
  try {
    fd = fs.openSync(ns, fs.constants.O_RDONLY);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new NetworkError('NETWORK_FAILED', `cannot open the network namespace ${ns}: ${e.code}`, { ...(e.code ? { errno: e.code } : {}), syscall: 'open', path: ns, cause: err });
  }
  try {
    return fn(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The addon's error as a NetworkError; `ns` names the namespace where the native error said "netns fd N". */
function wrap(err: unknown, ns: Netns, ifname?: string, what?: string): NetworkError {
  if (err instanceof NetworkError) return err;
  const e = err as Error & { code?: string; syscall?: string; ifname?: string; kernelMessage?: string; path?: string };
  const name = e.ifname ?? ifname;
  let message = String(e.message ?? err) + (what ? ` (${what})` : '');
  if (e.syscall === 'setns' || e.syscall === 'pthread_create') message = `${message.replace(/ \(netns fd -?\d+\)$/, '')} (${label(ns)})`;
  return new NetworkError('NETWORK_FAILED', message, {
    ...(e.code ? { errno: e.code } : {}),
    ...(e.syscall ? { syscall: e.syscall } : {}),
    ...(name ? { ifname: name } : {}),
    ...(e.kernelMessage ? { kernelMessage: e.kernelMessage } : {}),
    ...(e.syscall === 'setns' ? (typeof ns === 'string' ? { path: ns } : {}) : e.path ? { path: e.path } : {}),
    cause: err,
  });
}

function invalid(ifname: string | undefined, problem: string): NetworkError {
  return new NetworkError('NETWORK_FAILED', problem, { errno: 'EINVAL', ...(ifname !== undefined ? { ifname } : {}) });
}

function checkName(name: string): void {
  const problem = interfaceNameProblem(name);
  if (problem) throw invalid(name, problem);
}

function mac(text: string, ifname: string): Buffer {
  const b = parseMac(text);
  if (!b) throw invalid(ifname, `"${text}" is not a MAC address (aa:bb:cc:dd:ee:ff)`);
  return b;
}

function toInfo(l: NativeLink, names: Map<number, string>): LinkInfo {
  const master = l.master ? names.get(l.master) : undefined;
  return { index: l.index, name: l.name, kind: l.kind, ...(master !== undefined ? { master } : {}), masterIndex: l.master, peerIndex: l.link, up: (l.flags & IFF_UP) !== 0, mtu: l.mtu, mac: l.mac };
}

export interface VethOptions {
  /** Where the peer is made (it never exists in this namespace then); default: here. */
  peerNetns?: Netns;
  mtu?: number;
  peerMtu?: number;
  mac?: string;
  peerMac?: string;
  /** This end's bridge, and whether it comes up: set in the same request as the creation (no lookups after). */
  master?: string;
  up?: boolean;
}

/** An rtnetlink socket in one network namespace. close() (or `using`) gives the fd back. */
export class Rtnetlink implements Disposable {
  readonly netns: string;
  #fd: number;

  private constructor(fd: number, netns: string) {
    this.#fd = fd;
    this.netns = netns;
  }

  /** A socket in `netns` (default: the caller's namespace). */
  static open(netns?: Netns): Rtnetlink {
    return withNsFd(netns, (nsFd) => {
      try {
        return new Rtnetlink(native.netlinkOpen(nsFd), label(netns));
      } catch (err) {
        throw wrap(err, netns);
      }
    });
  }

  /** Runs one native request; `what` (e.g. the route) is added to a refusal's message. */
  #call<T>(ifname: string | undefined, fn: (fd: number) => T, what?: string): T {
    if (this.#fd < 0) throw new NetworkError('NETWORK_FAILED', `the rtnetlink socket of ${this.netns} is closed`, { errno: 'EBADF', ...(ifname ? { ifname } : {}) });
    try {
      return fn(this.#fd);
    } catch (err) {
      throw wrap(err, undefined, ifname, what);
    }
  }

  createBridge(name: string, opts: { mtu?: number; mac?: string; up?: boolean } = {}): void {
    checkName(name);
    const spec = { name, kind: 'bridge', ...(opts.mtu !== undefined ? { mtu: opts.mtu } : {}), ...(opts.mac !== undefined ? { mac: mac(opts.mac, name) } : {}), ...(opts.up !== undefined ? { up: opts.up } : {}) };
    this.#call(name, (fd) => native.netlinkAddLink(fd, spec));
  }

  /** A veth pair `name` <-> `peer`; with peerNetns the peer is made there directly. */
  createVeth(name: string, peer: string, opts: VethOptions = {}): void {
    checkName(name);
    checkName(peer);
    const peerSpec = { name: peer, ...(opts.peerMtu !== undefined ? { mtu: opts.peerMtu } : {}), ...(opts.peerMac !== undefined ? { mac: mac(opts.peerMac, peer) } : {}) };
    if (opts.master !== undefined) checkName(opts.master);
    const base = {
      name,
      kind: 'veth',
      ...(opts.mtu !== undefined ? { mtu: opts.mtu } : {}),
      ...(opts.mac !== undefined ? { mac: mac(opts.mac, name) } : {}),
      ...(opts.master !== undefined ? { master: opts.master } : {}),
      ...(opts.up !== undefined ? { up: opts.up } : {}),
    };
    withNsFd(opts.peerNetns, (nsFd) =>
      this.#call(name, (fd) => native.netlinkAddLink(fd, { ...base, peer: nsFd >= 0 ? { ...peerSpec, nsFd } : peerSpec })),
    );
  }

  /** Makes `name` a port of `master` (a bridge); null: of none. */
  setMaster(name: string, master: string | null): void {
    checkName(name);
    if (master !== null) checkName(master);
    this.#call(name, (fd) => native.netlinkSetLink(fd, name, { master: master ?? '' }));
  }

  setUp(name: string, up = true): void {
    checkName(name);
    this.#call(name, (fd) => native.netlinkSetLink(fd, name, { up }));
  }

  setDown(name: string): void {
    this.setUp(name, false);
  }

  setMtu(name: string, mtu: number): void {
    checkName(name);
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 0xffff_ffff) throw invalid(name, `MTU ${mtu} is not an integer of at least 68`);
    this.#call(name, (fd) => native.netlinkSetLink(fd, name, { mtu }));
  }

  setMac(name: string, address: string): void {
    checkName(name);
    const b = mac(address, name);
    this.#call(name, (fd) => native.netlinkSetLink(fd, name, { mac: b }));
  }

  rename(name: string, newName: string): void {
    checkName(name);
    checkName(newName);
    this.#call(name, (fd) => native.netlinkSetLink(fd, name, { newName }));
  }

  /** Moves `name` into `netns`, named `newName` there (one request: no name must be free on both sides). */
  moveToNetns(name: string, netns: Netns, newName?: string): void {
    checkName(name);
    if (newName !== undefined) checkName(newName);
    if (netns === undefined) throw invalid(name, 'moveToNetns needs the target namespace');
    withNsFd(netns, (nsFd) => this.#call(name, (fd) => native.netlinkSetLink(fd, name, { nsFd, ...(newName !== undefined ? { newName } : {}) })));
  }

  /** Adds an address with its prefix ("10.88.0.2/16", "fd00::2/64"); IPv4 gets its broadcast address. */
  addAddress(name: string, cidr: string, opts: { nodad?: boolean } = {}): void {
    checkName(name);
    const { address, subnet } = parseInterfaceAddress(cidr, 'address');
    const broadcast = address.family === 4 && subnet.prefix <= 30 ? { broadcast: addressBytes(lastAddress(subnet)) } : {};
    this.#call(name, (fd) => native.netlinkAddAddress(fd, name, address.family, addressBytes(address), subnet.prefix, { ...broadcast, ...(opts.nodad ? { nodad: true } : {}) }));
  }

  /** The default route via `gateway` (IPv4 or IPv6), optionally bound to an interface. */
  addDefaultRoute(gateway: string, opts: { ifname?: string; metric?: number } = {}): void {
    const gw = parseAddress(gateway, 'gateway');
    this.addRoute({ dst: gw.family === 4 ? '0.0.0.0/0' : '::/0', gateway, ...opts });
  }

  /** A route to `dst` (CIDR), via `gateway` or on-link through `ifname`. */
  addRoute(route: { dst: string; gateway?: string; ifname?: string; metric?: number }): void {
    if (route.ifname !== undefined) checkName(route.ifname);
    const dst = parseSubnet(route.dst, 'dst');
    const gw = route.gateway !== undefined ? parseAddress(route.gateway, 'gateway', dst.family) : undefined;
    if (!gw && route.ifname === undefined) throw invalid(undefined, `a route to ${route.dst} needs a gateway or an interface`);
    this.#call(route.ifname, (fd) =>
      native.netlinkAddRoute(fd, {
        family: dst.family,
        prefix: dst.prefix,
        ...(dst.prefix > 0 ? { dst: addressBytes({ family: dst.family, value: dst.network }) } : {}),
        ...(gw ? { gateway: addressBytes(gw) } : {}),
        ...(route.ifname !== undefined ? { ifname: route.ifname } : {}),
        ...(route.metric !== undefined ? { metric: route.metric } : {}),
      }),
      `the route to ${route.dst}${route.gateway !== undefined ? ` via ${route.gateway}` : ''}${route.ifname !== undefined ? ` dev ${route.ifname}` : ''}`,
    );
  }

  /** Hairpin mode of a bridge port: frames may go back out the port they came in on (a container reaching itself through a port mapping). */
  setHairpin(name: string, on: boolean): void {
    checkName(name);
    this.#call(name, (fd) => native.netlinkSetBridgePort(fd, name, { hairpin: on }));
  }

  /** Deletes a link (a veth takes its peer with it, wherever the peer is). */
  deleteLink(name: string): void {
    checkName(name);
    this.#call(name, (fd) => native.netlinkDelLink(fd, name));
  }

  /** The index of `name`; NETWORK_FAILED (ENODEV) when there is none. */
  linkIndex(name: string): number {
    checkName(name);
    return this.#call(name, (fd) => native.netlinkGetLinks(fd, name))[0]!.index;
  }

  /** The link named `name`, or undefined. */
  findLink(name: string): LinkInfo | undefined {
    checkName(name);
    let links: NativeLink[];
    try {
      links = this.#call(name, (fd) => native.netlinkGetLinks(fd, name));
    } catch (err) {
      if (err instanceof NetworkError && err.errno === 'ENODEV') return undefined;
      throw err;
    }
    const l = links[0]!;
    // The master's name takes a dump; only a port pays for it.
    const names = l.master ? new Map(this.#call(undefined, (fd) => native.netlinkGetLinks(fd)).map((x) => [x.index, x.name])) : new Map<number, string>();
    return toInfo(l, names);
  }

  listLinks(): LinkInfo[] {
    const links = this.#call(undefined, (fd) => native.netlinkGetLinks(fd));
    const names = new Map(links.map((l) => [l.index, l.name]));
    return links.map((l) => toInfo(l, names));
  }

  close(): void {
    if (this.#fd < 0) return;
    native.close(this.#fd);
    this.#fd = -1;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** A sysctl key under net ('net.ipv4.ip_forward', or 'net/ipv4/conf/eth0.100/forwarding' when a segment has dots) as a path under /proc/sys/net. */
export function netSysctlPath(key: string): string {
  const parts = key.includes('/') ? key.split('/') : key.split('.');
  if (parts[0] !== 'net' || parts.length < 2 || parts.slice(1).some((p) => p === '' || p === '.' || p === '..' || p.includes('\0'))) {
    throw invalid(undefined, `"${key}" is not a sysctl under net (net.ipv4.ip_forward, or net/ipv4/conf/<if>/forwarding)`);
  }
  return parts.slice(1).join('/');
}

/** Writes a net.* sysctl inside `netns` (default: the caller's), from a thread of the addon's that joined it. */
export function writeNetSysctl(netns: Netns, key: string, value: string): void {
  const rel = netSysctlPath(key);
  withNsFd(netns, (nsFd) => {
    try {
      native.netnsSysctl(nsFd, rel, value);
    } catch (err) {
      throw wrap(err, netns);
    }
  });
}

/** Reads a net.* sysctl inside `netns` (trimmed). */
export function readNetSysctl(netns: Netns, key: string): string {
  const rel = netSysctlPath(key);
  return withNsFd(netns, (nsFd) => {
    try {
      return (native.netnsSysctl(nsFd, rel) ?? '').trim();
    } catch (err) {
      throw wrap(err, netns);
    }
  });
}
