// Names for containers on berth's networks: what /etc/hosts, /etc/hostname
// and /etc/resolv.conf of a container say, and how a running container's
// /etc/hosts learns of a peer that joins or leaves.
//
// Each network has one hosts file, <stateRoot>/networks/<name>/hosts: the
// localhost lines, then a line per address of every member ("10.88.0.2
// <hostname> <id> <aliases of this network>   # <id>": the comment says whose
// it is). A container on one network has that very file bound (read-only) at
// /etc/hosts: a join or a leave edits one file, whatever the number of
// members (the 200th container costs what the first did), and every member
// sees it at once. A container on several networks has a file of its own in
// its state directory (<stateRoot>/<id>/hosts), composed of its networks'
// files (its own lines first) and composed again whenever one of them
// changes; each of those networks lists it in composed/<id> (its networks, as
// JSON). Every file is written in place (one write from offset 0, then a
// truncate to the new length), never renamed over: a bind mount pins the
// inode, so a new file would never be seen inside. All of it under the
// networks store's flock (<stateRoot>/networks), which dies with its holder.
//
// A member that died without a destroy keeps its lines until its address is
// leased again (a join drops any line of the address it adds) or it is
// destroyed (loadContainer(id).destroy(), or removeNetwork, which takes the
// file with it).
import fs from 'node:fs';
import path from 'node:path';
import { withContainerLock } from '../state/op-lock.js';
import { parseAddress } from './subnet.js';

export interface HostsLine {
  address: string;
  names: string[];
}

export interface MemberNames {
  network: string;
  /** Its addresses on this network (no prefix). */
  addresses: string[];
  /** The names it answers to on this network: hostname, id, this network's aliases. */
  names: string[];
}

const LOCALHOST = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

/** Google's public resolvers: what Docker puts in resolv.conf when the host's names none the container can reach. */
export const FALLBACK_NAMESERVERS = ['8.8.8.8', '8.8.4.4'];

// ---- pure parts ----

/** A member's line: its address, its names, and whose it is. */
export function memberLine(id: string, l: HostsLine): string {
  return `${l.address}\t${l.names.join(' ')}\t# ${id}`;
}

/** Whose a line of a network's hosts file is, and its address (undefined: localhost lines, comments). */
export function parseMemberLine(line: string): { id: string; address: string } | undefined {
  const m = /^(\S+)\t.*\t# (\S+)$/.exec(line);
  return m ? { address: m[1]!, id: m[2]! } : undefined;
}

/** An /etc/hosts of localhost and these lines (a network's file, or a composed one). */
export function renderHosts(lines: readonly string[] = []): string {
  return `${[...LOCALHOST, ...lines].join('\n')}\n`;
}

/**
 * A network's hosts file with container `id`'s lines replaced by `add`, and
 * any other line of an address it adds dropped (a dead member's, whose
 * address the network handed out again).
 */
export function editHosts(text: string, id: string, add: readonly HostsLine[]): string {
  const taken = new Set(add.map((l) => l.address));
  const kept: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || LOCALHOST.includes(line)) continue;
    const who = parseMemberLine(line);
    if (who && (who.id === id || taken.has(who.address))) continue;
    kept.push(line);
  }
  return renderHosts([...kept, ...add.filter((l) => l.names.length > 0).map((l) => memberLine(id, l))]);
}

/** A several-network container's /etc/hosts from its networks' files: its own lines first, each address once. */
export function composeHosts(id: string, networkFiles: readonly string[]): string {
  const own: string[] = [];
  const peers: string[] = [];
  const seen = new Set<string>();
  for (const text of networkFiles) {
    for (const line of text.split('\n')) {
      const who = parseMemberLine(line);
      if (!who || seen.has(`${who.id} ${who.address}`)) continue;
      seen.add(`${who.id} ${who.address}`);
      (who.id === id ? own : peers).push(line);
    }
  }
  return renderHosts([...own, ...peers]);
}

export function renderHostname(hostname: string): string {
  return `${hostname}\n`;
}

function loopback(text: string): boolean {
  try {
    const a = parseAddress(text, 'nameserver');
    return a.family === 4 ? a.value >> 24n === 127n : a.value === 1n;
  } catch {
    return false; // not an address we can read: the resolver's business
  }
}

/**
 * A container's /etc/resolv.conf from the host's: every line but nameservers
 * on the host's loopback (127.0.0.0/8, ::1: a stub resolver the container
 * cannot reach from its own namespace); Docker's fallback (8.8.8.8, 8.8.4.4)
 * when none is left. `dns` replaces what it gives (nameservers, search,
 * options), as Docker's --dns, --dns-search, --dns-option do.
 */
export function renderResolvConf(host: string, dns?: { nameservers: string[]; search: string[]; options: string[] }): string {
  const nameservers: string[] = [];
  const search: string[] = [];
  const options: string[] = [];
  const other: string[] = [];
  for (const raw of host.split('\n')) {
    const l = raw.trim();
    if (l === '' || l.startsWith('#') || l.startsWith(';')) continue;
    const [key, ...rest] = l.split(/\s+/);
    if (key === 'nameserver') {
      if (rest[0] !== undefined && !loopback(rest[0])) nameservers.push(rest[0]);
    } else if (key === 'search' || key === 'domain') {
      search.splice(0, search.length, ...rest); // the last of them wins (resolv.conf(5))
    } else if (key === 'options') {
      options.push(...rest);
    } else other.push(l);
  }
  const ns = dns?.nameservers.length ? dns.nameservers : nameservers.length ? nameservers : FALLBACK_NAMESERVERS;
  const sr = dns?.search.length ? dns.search : search;
  const op = dns?.options.length ? dns.options : options;
  const out = [...ns.map((n) => `nameserver ${n}`), ...(sr.length ? [`search ${sr.join(' ')}`] : []), ...(op.length ? [`options ${op.join(' ')}`] : []), ...other];
  return `${out.join('\n')}\n`;
}

// ---- files ----

const networkDir = (root: string, network: string) => path.join(root, 'networks', network);
/** A network's hosts file (bound at /etc/hosts of its one-network members). */
export const networkHostsFile = (root: string, network: string) => path.join(networkDir(root, network), 'hosts');
const composedDir = (root: string, network: string) => path.join(networkDir(root, network), 'composed');
/** The /etc/hosts of a container on several networks (in its state directory). */
export const containerHostsFile = (root: string, id: string) => path.join(root, id, 'hosts');

/**
 * Writes `text` over the file in place (same inode: a bind mount of it sees
 * the change): one write from offset 0, then the truncate. False when there is
 * no such file.
 */
export function writeInPlace(file: string, text: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  try {
    const b = Buffer.from(text);
    let done = 0;
    while (done < b.length) done += fs.writeSync(fd, b, done, b.length - done, done);
    fs.ftruncateSync(fd, b.length);
    return true;
  } finally {
    fs.closeSync(fd);
  }
}

const readText = (file: string) => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};

/** Makes `file` with `text` unless it exists (never replacing one: a bind mount may pin it). */
function createOnce(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o644 });
  try {
    fs.linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Runs fn under the flock of <root>/networks: the store lock of networks.ts (held there for record changes only, never around this). */
async function withNamesLock<T>(root: string, fn: () => T): Promise<T> {
  return withContainerLock(path.join(root, 'networks'), 'network', async () => fn());
}

/** The network's hosts file, made (localhost only) if it is not there yet: what a one-network container binds. */
export function ensureNetworkHosts(root: string, network: string): string {
  const file = networkHostsFile(root, network);
  if (!fs.existsSync(file)) createOnce(file, renderHosts());
  return file;
}

/** Composes again the /etc/hosts of every several-network member of `networks` (lock held). */
function recompose(root: string, networks: readonly string[]): void {
  const done = new Set<string>();
  for (const n of networks) {
    let ids: string[];
    try {
      ids = fs.readdirSync(composedDir(root, n));
    } catch {
      continue;
    }
    for (const id of ids) {
      if (done.has(id) || id.startsWith('.')) continue;
      done.add(id);
      let theirs: string[];
      try {
        theirs = JSON.parse(fs.readFileSync(path.join(composedDir(root, n), id), 'utf8')) as string[];
      } catch {
        continue;
      }
      // Its state directory gone (destroyed without a leave, or a crash before it made the file): not composed any more.
      if (!writeInPlace(containerHostsFile(root, id), composeHosts(id, theirs.map((x) => readText(networkHostsFile(root, x)))))) {
        for (const x of theirs) fs.rmSync(path.join(composedDir(root, x), id), { force: true });
      }
    }
  }
}

/**
 * Container `id` joins the names of its networks (`entries` in the order of
 * its interfaces): its lines in each network's file, and, on several
 * networks, its own file composed (and listed in each network's composed/).
 */
export async function joinNames(root: string, id: string, entries: readonly MemberNames[]): Promise<void> {
  await withNamesLock(root, () => {
    const several = entries.length > 1;
    for (const e of entries) {
      const file = ensureNetworkHosts(root, e.network);
      writeInPlace(file, editHosts(readText(file), id, e.addresses.map((address) => ({ address, names: e.names }))));
      if (several) {
        fs.mkdirSync(composedDir(root, e.network), { recursive: true, mode: 0o700 });
        fs.writeFileSync(path.join(composedDir(root, e.network), id), JSON.stringify(entries.map((x) => x.network)));
      }
    }
    recompose(root, entries.map((e) => e.network));
  });
}

/** Container `id` leaves the names of `networks`: its lines go, the several-network members' files are composed again. */
export async function leaveNames(root: string, id: string, networks: readonly string[]): Promise<void> {
  const present = networks.filter((n) => fs.existsSync(networkDir(root, n)));
  if (present.length === 0) return;
  await withNamesLock(root, () => {
    for (const n of present) {
      fs.rmSync(path.join(composedDir(root, n), id), { force: true });
      const file = networkHostsFile(root, n);
      const text = readText(file);
      if (text.includes(`\t# ${id}\n`)) writeInPlace(file, editHosts(text, id, []));
    }
    recompose(root, present);
  });
}
