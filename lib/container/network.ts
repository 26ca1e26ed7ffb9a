// A container on berth's bridge networks (config.network): attached by its
// create while the init waits before pivot_root (the create hooks' pause,
// which create.ts asks for when there is a network), so eth0 is addressed and
// routed before the program starts; detached by every destroy, in this
// process or another (ContainerRef), from what state.json records.
//
// Attach, per network in order (eth0, eth1, …), each step undone in reverse
// on any failure (of this network's steps and of the networks before it):
//   1. leaseAddresses: an address of the subnet (and of the IPv6 one of a
//      dual-stack network), owned by the init (pid + start time: its death
//      frees it even if nobody destroys the container)
//   2. a veth: the host end (hostInterface, "vb" + hash: ≤ 15 bytes, the same
//      in every process) made in the network's namespace, on its bridge, up,
//      hairpin on; the peer made directly in the init's namespace as eth<i>
//   3. in the init's namespace: the addresses (IPv6 without DAD), eth<i> up,
//      the default route via the gateway (per family, from the first network
//      that has it)
//   4. publishPorts: the port mappings (hostPort 0 resolved)
// then the names: the container's lines in each network's hosts file, which
// its members see at once (lib/network/hosts.ts). What was made goes into the container's
// record (state.json's networks): the claim already names each network and
// host interface, so a creator killed halfway leaves what any destroy undoes.
//
// Detach, per network in reverse: unpublishPorts, releaseAddresses; then the
// names left. The veth is not deleted by a destroy: its processes are dead, so
// the container's network namespace goes, and the kernel's cleanup of it
// deletes both ends, off the caller's path (an RTM_DELLINK of a veth waits
// for synchronize_net() under the rtnl lock: 10-30 ms measured here, on the
// event loop, most of a bridge network's cost at destroy). A failed create
// deletes it at once (the init may still run). Each step is tried even when
// an earlier one failed; the first failure is thrown after all of them.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ContainerNetwork, NetworkAttachmentRecord, PublishedPortMapping, UserNetworkRecord } from '../../types/api.js';
import type { ResolvedConfig, ResolvedMount } from '../config/normalize.js';
import { resolveMount } from '../config/mounts.js';
import { NetworkError } from '../network/errors.js';
import { ensureNetworkHosts, joinNames, leaveNames, renderHosts, renderHostname, renderResolvConf } from '../network/hosts.js';
import { type LeasedAddress, leaseAddresses, publishPorts, readNetwork, releaseAddresses, unpublishPorts } from '../network/networks.js';
import { Rtnetlink } from '../network/rtnetlink.js';
import { processStartTime } from '../state/state-dir.js';

const NAME_FILES = { hosts: '/etc/hosts', hostname: '/etc/hostname', resolvConf: '/etc/resolv.conf' } as const;
const FILE_OF = { hosts: 'hosts', hostname: 'hostname', resolvConf: 'resolv.conf' } as const;
type NameFile = keyof typeof NAME_FILES;

/** What the claim record says before anything exists: each network and the host interface its create will make. */
export function plannedNetworks(config: Pick<ResolvedConfig, 'network'>): NetworkAttachmentRecord[] | undefined {
  return config.network?.map((n) => ({ name: n.name, interface: n.interface, hostInterface: n.hostInterface }));
}

/** The names the container has on a network: its hostname, its id, the network's aliases. */
function namesOn(config: ResolvedConfig, aliases: readonly string[]): string[] {
  const out: string[] = [];
  for (const n of [config.hostname, config.id, ...aliases]) if (n !== undefined && !out.includes(n)) out.push(n);
  return out;
}

/**
 * Writes the names files and returns the config with their bind mounts
 * appended (nosuid, nodev, noexec). /etc/hostname and /etc/resolv.conf are
 * files of the state directory, writable as Docker's. /etc/hosts is read-only:
 * on one network it is the network's own hosts file, shared by its members
 * (lib/network/hosts.ts: one edit per join or leave, whatever their number),
 * on several a file of the state directory that berth composes again as peers
 * come and go; either way what the container wrote there would be lost or
 * seen by others. Attach adds the container's lines before its program starts.
 */
export async function withNameFiles(config: ResolvedConfig, stateDir: string): Promise<ResolvedConfig> {
  const names = config.names;
  if (!names) return config;
  const text: Partial<Record<NameFile, string>> = {};
  const nets = config.network ?? [];
  if (names.hosts && nets.length > 1) text.hosts = renderHosts();
  // User-mode networking: the host's addresses, which the container does not know beforehand; its name resolves to itself.
  if (names.hosts && nets.length === 0) text.hosts = renderHosts(config.hostname !== undefined ? [`127.0.1.1\t${config.hostname}`] : []);
  if (names.hostname && config.hostname !== undefined) text.hostname = renderHostname(config.hostname);
  if (names.resolvConf) {
    const host = await fs.readFile('/etc/resolv.conf', 'utf8').catch(() => '');
    text.resolvConf = renderResolvConf(host, names.dns);
  }
  const files = Object.entries(text) as Array<[NameFile, string]>;
  await Promise.all(files.map(([k, t]) => fs.writeFile(path.join(stateDir, FILE_OF[k]), t, { mode: 0o644 })));
  const sources: Array<[NameFile, string]> = files.map(([k]) => [k, path.join(stateDir, FILE_OF[k])]);
  if (names.hosts && nets.length === 1) sources.unshift(['hosts', ensureNetworkHosts(config.stateRoot, nets[0]!.name)]);
  // In a new user namespace the container's root cannot reach the state root
  // (0700, host root's): the parent makes each bind, idmapped with the
  // container's maps (host root's file is the container root's), as for
  // root.idmap. Elsewhere the child binds them itself.
  // (A rootless caller's state root is its own: its container's root, which is
  // the caller, binds them itself, as idmapped mounts are host root's to make.)
  const idmap = config.userns?.mode === 'new' && process.geteuid?.() === 0 ? ['idmap'] : [];
  const mounts: ResolvedMount[] = sources.map(([k, source]) =>
    resolveMount({ destination: NAME_FILES[k], type: 'bind', source, options: ['rbind', ...(k === 'hosts' ? ['ro'] : []), 'nosuid', 'nodev', 'noexec', ...idmap] }, `names.${k}`, undefined),
  );
  return { ...config, mounts: [...config.mounts, ...mounts] };
}

/** The names files' paths in the state directory (removed by detach, before the directory). */
function nameFiles(stateRoot: string, id: string): string[] {
  return Object.values(FILE_OF).map((f) => path.join(stateRoot, id, f));
}

function netnsOf(pid: number): string {
  return `/proc/${pid}/ns/net`;
}

/** A failure of network `name`'s attach, said with the network (NetworkErrors keep their code and fields). */
function about(err: unknown, name: string, field: string): unknown {
  if (err instanceof NetworkError && !err.message.includes(`"${name}"`)) err.message = `${field} (network "${name}"): ${err.message}`;
  return err;
}

interface Made {
  name: string;
  leased: boolean;
  /** The network's namespace (undefined: ours) and the host end, once the veth exists. */
  veth?: { netns: string | undefined; hostInterface: string };
  published: boolean;
}

/**
 * Attaches the init `pid` (waiting before pivot_root) to every network of the
 * config, filling `records` (state.json's networks, in the same order) with
 * what was made. On failure everything made is undone and the error thrown.
 */
export async function attachNetworks(config: ResolvedConfig, pid: number, records: NetworkAttachmentRecord[]): Promise<void> {
  const nets = config.network ?? [];
  const startTime = processStartTime(pid);
  if (startTime === undefined) throw new NetworkError('NETWORK_FAILED', `the container's init ${pid} is gone`, { errno: 'ESRCH' });
  const owner = { id: config.id, pid, startTime };
  const stateRoot = config.stateRoot;
  const made: Made[] = [];
  const routed = new Set<number>();
  const entries: Array<{ network: string; addresses: string[]; names: string[] }> = [];
  let inside: Rtnetlink | undefined;
  try {
    inside = Rtnetlink.open(netnsOf(pid));
    for (const [i, net] of nets.entries()) {
      const m: Made = { name: net.name, leased: false, published: false };
      made.push(m);
      try {
        const { network, addresses } = await leaseAddresses(net.name, owner, { stateRoot, field: net.field, ...(net.ip !== undefined ? { ip: net.ip } : {}), ...(net.ip6 !== undefined ? { ip6: net.ip6 } : {}) });
        m.leased = true;
        const host = Rtnetlink.open(network.netns);
        try {
          // The name is this container's (id + network): a link of that name is a previous
          // container's of the same id whose namespace the kernel is still tearing down
          // (destroy leaves the veth to die with it). Deleted, it cannot fail this create.
          if (host.findLink(net.hostInterface)) {
            try {
              host.deleteLink(net.hostInterface);
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code !== 'ENODEV') throw err;
            }
          }
          host.createVeth(net.hostInterface, net.interface, {
            peerNetns: netnsOf(pid),
            master: network.bridge,
            up: true,
            ...(net.mtu !== undefined ? { mtu: net.mtu, peerMtu: net.mtu } : {}),
            ...(net.mac !== undefined ? { peerMac: net.mac } : {}),
          });
          m.veth = { netns: network.netns, hostInterface: net.hostInterface };
          host.setHairpin(net.hostInterface, true);
        } finally {
          host.close();
        }
        for (const a of addresses) inside.addAddress(net.interface, `${a.address}/${a.prefix}`, a.family === 6 ? { nodad: true } : {});
        inside.setUp(net.interface);
        for (const a of addresses) {
          if (routed.has(a.family)) continue;
          inside.addDefaultRoute(a.gateway);
          routed.add(a.family);
        }
        const mac = inside.findLink(net.interface)?.mac ?? '';
        const v4 = addresses.find((a: LeasedAddress) => a.family === 4)?.address;
        const v6 = addresses.find((a: LeasedAddress) => a.family === 6)?.address;
        let ports: PublishedPortMapping[] = [];
        if (net.ports.length > 0) {
          ports = await publishPorts(net.name, config.id, { ...(v4 ? { ipv4: v4 } : {}), ...(v6 ? { ipv6: v6 } : {}) }, net.ports, { stateRoot, field: `${net.field}.ports` });
          m.published = true;
        }
        records[i] = { ...records[i]!, addresses: addresses.map((a) => `${a.address}/${a.prefix}`), mac, ports };
        entries.push({ network: net.name, addresses: addresses.map((a) => a.address), names: namesOn(config, net.aliases) });
      } catch (err) {
        throw about(err, net.name, net.field);
      }
    }
    if (entries.length > 0) await joinNames(stateRoot, config.id, entries);
  } catch (err) {
    await undo(config.id, stateRoot, made).catch(() => {});
    await leaveNames(stateRoot, config.id, nets.map((n) => n.name)).catch(() => {});
    throw err;
  } finally {
    inside?.close();
  }
}

/** Undoes what attach made, in reverse; every step tried, the first failure thrown. */
async function undo(id: string, stateRoot: string, made: readonly Made[]): Promise<void> {
  let first: unknown;
  const attempt = async (fn: () => unknown) => {
    try {
      await fn();
    } catch (err) {
      first ??= err;
    }
  };
  for (const m of [...made].reverse()) {
    if (m.published) await attempt(() => unpublishPorts(m.name, id, { stateRoot }));
    if (m.veth) await attempt(() => deleteHostEnd(m.veth!.netns, m.veth!.hostInterface));
    if (m.leased) await attempt(() => releaseAddresses(m.name, id, { stateRoot }));
  }
  if (first !== undefined) throw first;
}

/** Deletes the host end of a veth (and so its peer); gone already is fine. Only a veth is ever deleted. */
function deleteHostEnd(netns: string | undefined, name: string): void {
  const rt = Rtnetlink.open(netns);
  try {
    const link = rt.findLink(name);
    if (!link || link.kind !== 'veth') return;
    try {
      rt.deleteLink(name);
    } catch (err) {
      if (!(err instanceof NetworkError && err.errno === 'ENODEV')) throw err;
    }
  } finally {
    rt.close();
  }
}

/**
 * Detaches container `id` from the networks its record names (any process:
 * the record is all it needs): port mappings, leases, names, and the names
 * files in its state directory; with deleteHostEnds also the veths (see the
 * top of this file: a destroy leaves them to the namespace's death). The first
 * failure is thrown once every step was tried (a removeNetwork still clears
 * mappings and leases a failed detach left: they are the network's).
 */
export async function detachNetworks(stateRoot: string, id: string, records: readonly NetworkAttachmentRecord[] | undefined, { deleteHostEnds = false } = {}): Promise<void> {
  if (!records || records.length === 0) return;
  const made: Made[] = [];
  for (const r of records) {
    const net = deleteHostEnds ? readNetwork(r.name, { stateRoot }) : undefined;
    // A network whose namespace is gone took the veth with it.
    const veth = net && !net.orphaned ? { netns: net.netns, hostInterface: r.hostInterface } : undefined;
    // No mapping recorded (an attach that finished without ports): nothing to read the table for.
    const published = r.ports === undefined || r.ports.length > 0;
    made.push({ name: r.name, leased: true, published, ...(veth ? { veth } : {}) });
  }
  let first: unknown;
  await undo(id, stateRoot, made).catch((e: unknown) => (first = e));
  await leaveNames(stateRoot, id, records.map((r) => r.name)).catch((e: unknown) => (first ??= e));
  await Promise.all(nameFiles(stateRoot, id).map((f) => fs.rm(f, { force: true }))).catch((e: unknown) => (first ??= e));
  if (first !== undefined) throw first;
}

/** container.networks: what each attachment is, from the record (empty until made). */
export function networksOf(records: readonly NetworkAttachmentRecord[] | undefined, user?: UserNetworkRecord): ContainerNetwork[] {
  // pasta's: the host's addresses, its own port forwards (no host end, no MAC of berth's).
  if (user) return [{ name: user.mode, interface: user.interface ?? '', hostInterface: '', addresses: [], mac: '', ports: (user.ports ?? []).map((p) => ({ ...p })) }];
  return (records ?? []).map((r) => ({
    name: r.name,
    interface: r.interface,
    hostInterface: r.hostInterface,
    addresses: [...(r.addresses ?? [])],
    mac: r.mac ?? '',
    ports: (r.ports ?? []).map((p) => ({ ...p })),
  }));
}
