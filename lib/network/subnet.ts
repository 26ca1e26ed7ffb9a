// IPv4 and IPv6 addresses and CIDR subnets as plain values (a family and a
// bigint), parsed strictly and formatted canonically (RFC 5952 for IPv6), so a
// lease file name, a config field and what the kernel is told are one spelling.
// Every parse error is a ConfigError naming the JSON path the caller gives:
// subnets and addresses come from configs, and are refused before anything exists.
import { ConfigError } from '../errors.js';

export type Family = 4 | 6;

export interface Address {
  family: Family;
  value: bigint;
}

export interface Subnet {
  family: Family;
  /** The network address (host bits zero). */
  network: bigint;
  prefix: number;
}

export const BITS: Record<Family, number> = { 4: 32, 6: 128 };

function parseIPv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    // No leading zeros: inet_aton reads "010" as octal 8, others as 10; refuse the doubt.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return undefined;
    v = (v << 8n) | BigInt(p);
  }
  return v;
}

function parseIPv6(text: string): bigint | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) return undefined; // also refuses zones (fe80::1%eth0)
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  // A dotted IPv4 tail may only end the whole address.
  const groupsOf = (s: string, last: boolean): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (last && i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIPv4(p); // an embedded IPv4 tail (::ffff:192.0.2.1)
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(p)) out.push(parseInt(p, 16));
      else return undefined;
    }
    return out;
  };
  const head = groupsOf(halves[0]!, halves.length === 1);
  const tail = halves.length === 2 ? groupsOf(halves[1]!, true) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  // "::" stands for at least one group; without it there must be eight.
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  let v = 0n;
  for (const g of [...head, ...new Array<number>(missing).fill(0), ...tail]) v = (v << 16n) | BigInt(g);
  return v;
}

/** An address without a prefix ("10.0.0.1", "fd00::1"); `family` restricts it. */
export function parseAddress(text: unknown, field: string, family?: Family): Address {
  if (typeof text !== 'string') throw new ConfigError(field, `must be an IP address string, got ${typeof text}`);
  const v4 = family === 6 ? undefined : parseIPv4(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = family === 4 || !text.includes(':') ? undefined : parseIPv6(text);
  if (v6 !== undefined) return { family: 6, value: v6 };
  throw new ConfigError(field, `"${text}" is not an ${family ? `IPv${family}` : 'IP'} address`);
}

export function formatAddress(a: Address): string {
  if (a.family === 4) return [24n, 16n, 8n, 0n].map((s) => String((a.value >> s) & 0xffn)).join('.');
  const groups: number[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(Number((a.value >> s) & 0xffffn));
  // IPv4-mapped addresses keep their dotted tail (RFC 5952 §5).
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${formatAddress({ family: 4, value: a.value & 0xffffffffn })}`;
  }
  // The longest run of two or more zero groups becomes "::" (the first of equals).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (best < 0) return hex(groups);
  return `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLen))}`;
}

/** The address as the kernel takes it: 4 or 16 bytes, network order. */
export function addressBytes(a: Address): Buffer {
  const n = BITS[a.family] / 8;
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = Number((a.value >> BigInt((n - 1 - i) * 8)) & 0xffn);
  return out;
}

function hostMask(family: Family, prefix: number): bigint {
  return (1n << BigInt(BITS[family] - prefix)) - 1n;
}

function splitPrefix(text: unknown, field: string): { addr: Address; prefix: number } {
  if (typeof text !== 'string') throw new ConfigError(field, `must be a CIDR string such as "10.88.0.0/16", got ${typeof text}`);
  const slash = text.indexOf('/');
  if (slash < 0) throw new ConfigError(field, `"${text}" has no prefix length (write it as "address/length", e.g. "10.88.0.0/16")`);
  const addr = parseAddress(text.slice(0, slash), field);
  const len = text.slice(slash + 1);
  const prefix = Number(len);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(len) || prefix > BITS[addr.family]) {
    throw new ConfigError(field, `"${text}": the prefix length must be 0..${BITS[addr.family]}`);
  }
  return { addr, prefix };
}

/** A subnet ("10.88.0.0/16"): host bits set are refused, naming the subnet meant. */
export function parseSubnet(text: unknown, field: string): Subnet {
  const { addr, prefix } = splitPrefix(text, field);
  const network = addr.value & ~hostMask(addr.family, prefix);
  if (network !== addr.value) {
    const meant = formatSubnet({ family: addr.family, network, prefix });
    throw new ConfigError(field, `"${text}" has host bits set: the subnet is ${meant}`);
  }
  return { family: addr.family, network, prefix };
}

/** An interface address with its prefix ("10.88.0.2/16"): the address and the subnet it is on. */
export function parseInterfaceAddress(text: unknown, field: string): { address: Address; subnet: Subnet } {
  const { addr, prefix } = splitPrefix(text, field);
  return { address: addr, subnet: { family: addr.family, network: addr.value & ~hostMask(addr.family, prefix), prefix } };
}

export function formatSubnet(s: Subnet): string {
  return `${formatAddress({ family: s.family, value: s.network })}/${s.prefix}`;
}

/** The subnet's first address (its network address). */
export function firstAddress(s: Subnet): Address {
  return { family: s.family, value: s.network };
}

/** The subnet's last address (IPv4: its broadcast address). */
export function lastAddress(s: Subnet): Address {
  return { family: s.family, value: s.network | hostMask(s.family, s.prefix) };
}

/**
 * The addresses a host may have: all but the network address and, on IPv4,
 * the broadcast address (IPv6 has no broadcast; its network address is the
 * subnet-router anycast address, RFC 4291 §2.6.1). Undefined when none is left.
 */
export function hostRange(s: Subnet): { first: Address; last: Address } | undefined {
  const first = s.network + 1n;
  const last = lastAddress(s).value - (s.family === 4 ? 1n : 0n);
  if (first > last) return undefined;
  return { first: { family: s.family, value: first }, last: { family: s.family, value: last } };
}

/** How many host addresses the subnet has (see hostRange). */
export function hostCount(s: Subnet): bigint {
  const r = hostRange(s);
  return r ? r.last.value - r.first.value + 1n : 0n;
}

/** The default gateway: the subnet's first host address (Docker's and podman's choice). */
export function defaultGateway(s: Subnet, field: string): Address {
  const r = hostRange(s);
  if (!r) throw new ConfigError(field, `${formatSubnet(s)} has no host address for a gateway`);
  return r.first;
}

export function contains(s: Subnet, a: Address): boolean {
  return a.family === s.family && (a.value & ~hostMask(s.family, s.prefix)) === s.network;
}

/** Two CIDR blocks overlap exactly when one contains the other's network address. */
export function overlaps(a: Subnet, b: Subnet): boolean {
  if (a.family !== b.family) return false;
  const wider = a.prefix <= b.prefix ? a : b;
  const narrower = wider === a ? b : a;
  return contains(wider, { family: narrower.family, value: narrower.network });
}

export function sameAddress(a: Address, b: Address): boolean {
  return a.family === b.family && a.value === b.value;
}

/**
 * A subnet a network can be made of: a gateway and at least one container
 * (IPv4 /30 or wider, IPv6 /126 or wider).
 */
export function checkNetworkSubnet(s: Subnet, field: string): void {
  if (hostCount(s) < 2n) {
    throw new ConfigError(field, `${formatSubnet(s)} is too small: a network needs a gateway and at least one container address (IPv4 /30 or wider, IPv6 /126 or wider)`);
  }
}

/**
 * Why `a` cannot be a container's address on `s` with `gateway`, as a
 * ConfigError at `field`: another family, outside, the network or broadcast
 * address, or the gateway.
 */
export function checkHostAddress(s: Subnet, a: Address, gateway: Address | undefined, field: string): void {
  const shown = formatAddress(a);
  const net = formatSubnet(s);
  if (a.family !== s.family) throw new ConfigError(field, `${shown} is an IPv${a.family} address; the subnet ${net} is IPv${s.family}`);
  if (!contains(s, a)) throw new ConfigError(field, `${shown} is outside the subnet ${net}`);
  if (a.value === s.network) throw new ConfigError(field, `${shown} is the network address of ${net}`);
  if (s.family === 4 && a.value === lastAddress(s).value) throw new ConfigError(field, `${shown} is the broadcast address of ${net}`);
  if (gateway && sameAddress(a, gateway)) throw new ConfigError(field, `${shown} is the gateway of ${net}`);
}
