// Containers on berth's networks (config.network), against the real kernel,
// all inside network namespaces this file makes (`unshare --net sleep
// infinity`, killed by pid): one stands in for the host and holds the bridges
// and berth's nft table (createNetwork({ netns })); a second, joined to it by a
// veth, stands in for the outside world. The containers run busybox from a
// private copy of the fixture rootfs (their /etc/hosts mount points are made
// there, not in the shared fixture). Checked: eth0 addressed and routed before
// the program starts; two containers ping each other and reach each other's
// TCP server by name and by alias, /etc/hosts following peers that come and
// go; two networks (eth0, eth1); NAT out to the outside; port mappings in from
// the stand-in host's address and its 127.0.0.1 and from outside; hostPort 0
// reported; an internal network that cannot get out; a taken host port, a
// socket's port and a taken address failing create with a typed error and
// leaving nothing; a creator SIGKILLed after the veth was made leaving only
// what a later destroy removes; a detached container destroyed from another
// process detaching; removeNetwork refused while a container is attached.
// At the end nothing is left (namespaces shown gone, no veth, lease, nft
// element, member record or state dir) and the real host's addresses, links,
// routes, forwarding and nft ruleset are byte-identical.
import test from 'ava';
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ConfigError, DEFAULT_CAPABILITIES, NetworkError, createContainer, createNetwork, inspectNetwork, loadContainer, removeNetwork, run } from '../../dist/lib/index.js';
import { ownerKey } from '../../dist/lib/network/nat.js';
import { Rtnetlink } from '../../dist/lib/network/rtnetlink.js';
import { native } from '../../dist/lib/native/addon.js';
import { ROOTFS, children, openFds, outputOf, quiesce, stateRootFor, zombies } from './helpers.js';
import { reapPid } from './subreaper.js';
import { when } from './when.js';
import { NFT, endAndWitness, eventually, hostNetwork, inNetns, makeNetns, networkTestsMissing } from './netns.js';

const exec = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const PEER = path.join(here, 'network-peer.mjs');
const CHILD = path.join(here, 'detached-child.mjs');

function missing() {
  if (!fs.existsSync(path.join(ROOTFS, 'bin', 'busybox'))) return `no busybox rootfs at ${ROOTFS} (sh test/fixtures/make-rootfs.sh)`;
  return networkTestsMissing({ nft: true });
}
const skip = missing();

// The detached inits of this file come to it when their creator exits (as to a shim); destroy() reaps them.
if (!skip) native.setChildSubreaper();
const before = skip ? undefined : hostNetwork({ nft: true });
const fdsBefore = skip ? 0 : openFds();
const stateRoot = stateRootFor('network-container');
const inodesMade = [];
const started = new Set();
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-netctr-'));
const rootfs = path.join(scratch, 'rootfs');
fs.chmodSync(scratch, 0o755); // a user namespace's root binds the rootfs itself: it must reach it
if (!skip) execFileSync('cp', ['-a', `${ROOTFS}/.`, rootfs]);
test.after.always(() => fs.rmSync(scratch, { recursive: true, force: true }));

// ping needs CAP_NET_RAW (busybox opens a raw socket), which berth's default set leaves out.
const caps = [...DEFAULT_CAPABILITIES, 'CAP_NET_RAW'];
const capabilities = { bounding: caps, effective: caps, permitted: caps };

/** A container's config: busybox in the private rootfs, its hostname `<id>-host`. */
function config(id, network, args, extra = {}) {
  return { id, rootfs, stateRoot, hostname: `${id}-host`, network, ...extra, process: { args, capabilities, stdio: ['ignore', 'pipe', 'pipe'], ...(extra.process ?? {}) } };
}

/** The init checks its network before anything else, says READY, then serves its hostname on TCP 80. */
const SERVER = ['/bin/sh', '-c', 'ip -4 -o addr show dev eth0; ip route; echo READY; exec nc -ll -p 80 -e /bin/hostname'];

/** Starts a created container; what its init printed up to READY. */
async function startServer(c) {
  const init = await c.start();
  let out = '';
  init.stderr.on('data', (d) => (out += d));
  await new Promise((resolve, reject) => {
    init.stdout.on('data', (d) => {
      out += d;
      if (out.includes('READY\n')) resolve();
    });
    init.once('exit', () => reject(new Error(`${c.id} exited before READY: ${out}`)));
  });
  return out;
}

/** Runs a shell command in the container; its output (stderr too) and exit code. */
async function sh(c, script) {
  const p = await c.exec({ args: ['/bin/sh', '-c', `{ ${script}; } 2>&1`], stdio: ['ignore', 'pipe', 'pipe'] });
  p.stderr.resume();
  const r = await outputOf(p);
  return { code: r.exitCode, out: r.out };
}

/** berth's table in the namespace as `nft -j` lists it, or undefined when there is none. */
async function berthTable(ns) {
  const tables = JSON.parse(await inNetns(ns, NFT, '-j', 'list', 'tables')).nftables.filter((x) => x.table);
  if (!tables.some((x) => x.table.family === 'inet' && x.table.name === 'berth')) return undefined;
  return JSON.parse(await inNetns(ns, NFT, '-j', 'list', 'table', 'inet', 'berth')).nftables;
}

/** The port mapping elements of container `id` in the table (their comments name its owner key). */
async function mappingsOf(ns, id) {
  const table = await berthTable(ns);
  return table ? JSON.stringify(table).split(ownerKey(id)).length - 1 : 0;
}

const linkNames = async (ns) => JSON.parse(await inNetns(ns, 'ip', '-j', 'link')).map((l) => l.ifname).sort();
const leases = (net) => {
  const dir = path.join(stateRoot, 'networks', net, 'leases');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => !n.startsWith('.')).sort() : [];
};
/** Whose lines the network's hosts file has (each member's line ends with "# <id>"). */
const hostsOwners = (net) => {
  const f = path.join(stateRoot, 'networks', net, 'hosts');
  return fs.existsSync(f) ? [...new Set([...fs.readFileSync(f, 'utf8').matchAll(/\t# (\S+)$/gm)].map((m) => m[1]))].sort() : [];
};
/** The several-network members the network lists (their own /etc/hosts is composed of their networks' files). */
const composed = (net) => {
  const dir = path.join(stateRoot, 'networks', net, 'composed');
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
};
const containerDirs = () => (fs.existsSync(stateRoot) ? fs.readdirSync(stateRoot).filter((n) => n !== 'networks').sort() : []);

/** A server of network-peer.mjs in the namespace, killed by pid at teardown. */
async function serve(t, ns, mode, host, port) {
  const child = spawn('nsenter', [`--net=${ns.path}`, process.execPath, PEER, mode, host, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    started.delete(stop);
  };
  started.add(stop);
  t.teardown(stop);
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('exit', (code) => reject(new Error(`${mode} ${host}:${port} in ${ns.path} exited (${code}) before it listened`)));
  });
  return { stop };
}

/** What a client in the namespace got from host:port, or "ERR <code>". */
async function ask(ns, host, port, ms = 3000) {
  return (await inNetns(ns, process.execPath, PEER, 'tcp', host, String(port), String(ms))).trim();
}

/** The stand-in host's uplink to the stand-in outside world (10.240.0.0/24). */
function uplink(t, host, outside) {
  const h = Rtnetlink.open(host.path);
  const o = Rtnetlink.open(outside.path);
  try {
    h.setUp('lo');
    o.setUp('lo');
    h.createVeth('uplink', 'eth0', { peerNetns: outside.path, up: true });
    h.addAddress('uplink', '10.240.0.1/24');
    o.addAddress('eth0', '10.240.0.2/24');
    o.setUp('eth0');
  } finally {
    h.close();
    o.close();
  }
}

/** Nothing of container `id` on network `net` (in the stand-in `host`) is left: veth, lease, mapping, member record, state dir. */
async function nothingOf(t, host, net, id, hostIf) {
  t.true(await eventually(async () => !(await linkNames(host)).includes(hostIf)), `no veth ${hostIf} of ${id}`);
  const info = await inspectNetwork(net, { stateRoot });
  t.false(info.containers.some((c) => c.id === id), `no lease of ${id}`);
  for (const l of leases(net)) t.notRegex(fs.readFileSync(path.join(stateRoot, 'networks', net, 'leases', l), 'utf8'), new RegExp(`"id":"${id}"`));
  t.is(await mappingsOf(host, id), 0, `no nft element of ${id}`);
  t.false(hostsOwners(net).includes(id), `no line of ${id} in the network's hosts file`);
  t.false(composed(net).includes(id), `not listed as composed`);
  t.false(fs.existsSync(path.join(stateRoot, id)), `no state dir of ${id}`);
}

when(skip, 'two containers on one network: eth0 ready at start, ping and TCP by name and alias both ways, /etc/hosts follows peers; a second network is eth1; container.networks from any process', async (t) => {
  const host = await makeNetns(t, inodesMade);
  const web = await createNetwork({ name: 'web', subnet: '10.210.0.0/24', netns: host.path, stateRoot });
  const back = await createNetwork({ name: 'back', subnet: '10.211.0.0/24', internal: true, netns: host.path, stateRoot });

  let t0 = performance.now();
  const a = await createContainer(config('na', { name: 'web', aliases: ['alpha'] }, SERVER));
  t.log(`create with a network (the first): ${(performance.now() - t0).toFixed(1)} ms`);
  t.teardown(() => a.destroy());
  const said = await startServer(a);
  t.regex(said, /eth0\s+inet 10\.210\.0\.2\/24 brd 10\.210\.0\.255/, 'eth0 addressed before the program ran');
  t.regex(said, /^default via 10\.210\.0\.1 dev eth0/m, 'and routed');
  t0 = performance.now();
  const b = await createContainer(config('nb', [{ name: 'web', aliases: ['beta', 'b.example'] }, { name: 'back', ip: '10.211.0.9', aliases: ['bee'] }], SERVER));
  t.log(`create with two networks: ${(performance.now() - t0).toFixed(1)} ms`);
  t.teardown(() => b.destroy());
  await startServer(b);

  t.deepEqual(a.networks.map((n) => ({ ...n, mac: typeof n.mac })), [{ name: 'web', interface: 'eth0', hostInterface: a.config.network[0].hostInterface, addresses: ['10.210.0.2/24'], mac: 'string', ports: [] }]);
  t.regex(a.networks[0].mac, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  t.deepEqual(b.networks.map((n) => [n.name, n.interface, n.addresses]), [['web', 'eth0', ['10.210.0.3/24']], ['back', 'eth1', ['10.211.0.9/24']]]);
  t.deepEqual((await loadContainer('nb', { stateRoot })).networks, b.networks, 'the record says the same in any process');
  const macInside = (await sh(b, 'cat /sys/class/net/eth1/address')).out.trim();
  t.is(macInside, b.networks[1].mac);
  const routes = (await sh(b, 'ip route')).out;
  t.regex(routes, /^default via 10\.210\.0\.1 dev eth0/m, 'the default route via the first network');
  t.is(routes.match(/^default/gm).length, 1, 'only one');
  const hostEnds = JSON.parse(await inNetns(host, 'ip', '-d', '-j', 'link', 'show', 'master', 'br-web'));
  t.deepEqual(hostEnds.map((l) => l.ifname).sort(), [a.networks[0].hostInterface, b.networks[0].hostInterface].sort(), "the host ends are the bridge's ports");
  t.true(hostEnds.every((l) => l.linkinfo.info_slave_data.hairpin === true), 'hairpin on');

  // By name, by alias, both ways; the ping and the TCP server.
  for (const name of ['nb', 'nb-host', 'beta', 'b.example']) {
    t.regex((await sh(a, `ping -c1 -W3 ${name}`)).out, /1 packets received/, `na pings ${name}`);
    t.is((await sh(a, `nc -w 3 ${name} 80`)).out.trim(), 'nb-host', `na reaches nb's server as ${name}`);
  }
  for (const name of ['na', 'na-host', 'alpha']) {
    t.regex((await sh(b, `ping -c1 -W3 ${name}`)).out, /1 packets received/, `nb pings ${name}`);
    t.is((await sh(b, `nc -w 3 ${name} 80`)).out.trim(), 'na-host', `nb reaches na's server as ${name}`);
  }
  t.not((await sh(a, 'ping -c1 -W1 bee')).code, 0, "an alias of another network is not na's to resolve");
  t.regex((await sh(b, 'cat /etc/hosts')).out, /^10\.210\.0\.3\tnb-host nb beta b\.example\t# nb$/m, 'its own names on each network');
  t.regex((await sh(b, 'cat /etc/hosts')).out, /^10\.211\.0\.9\tnb-host nb bee\t# nb$/m);
  t.is((await sh(b, 'cat /etc/hostname')).out, 'nb-host\n');
  t.deepEqual(composed('web'), ['nb'], 'nb, on two networks, has a composed /etc/hosts of its own');
  t.deepEqual(hostsOwners('web'), ['na', 'nb']);
  t.deepEqual(hostsOwners('back'), ['nb']);
  for (const ctr of [a, b]) {
    const w = await sh(ctr, 'echo 10.9.9.9 evil >> /etc/hosts');
    t.not(w.code, 0, `${ctr.id}'s /etc/hosts is read-only (the network's file, or one berth composes)`);
    t.regex(w.out, /Read-only file system/);
  }
  const resolv = (await sh(b, 'cat /etc/resolv.conf')).out;
  t.notRegex(resolv, /nameserver 127\./, "no loopback nameserver (the host's stub is not reachable from the container)");
  t.regex(resolv, /^nameserver /m);

  // A third comes and goes: na's /etc/hosts (the same file, bound) follows.
  const c = await createContainer(config('nc', { name: 'web' }, ['sleep', '1000'], { process: { stdio: 'ignore' } }));
  await c.start();
  t.regex((await sh(a, 'cat /etc/hosts')).out, /^10\.210\.0\.4\tnc-host nc\t# nc$/m, 'a peer that joined appears in a running container');
  t.regex((await sh(b, 'cat /etc/hosts')).out, /^10\.210\.0\.4\tnc-host nc\t# nc$/m, "and in a several-network container's composed file");
  t.regex((await sh(b, 'ping -c1 -W3 nc')).out, /1 packets received/);
  t.is((await sh(a, 'nc -w 3 nb 80')).out.trim(), 'nb-host');
  await c.destroy();
  t.notRegex((await sh(a, 'cat /etc/hosts')).out, /nc-host/, 'and disappears when it leaves');
  t.notRegex((await sh(b, 'cat /etc/hosts')).out, /nc-host/);
  t.regex((await sh(a, 'cat /etc/hosts')).out, /nb-host/);

  await b.destroy();
  t.notRegex((await sh(a, 'cat /etc/hosts')).out, /nb-host/);
  t.not((await sh(a, 'nc -w 1 beta 80')).code, 0, 'a peer that left is not resolved');
  await a.destroy();
  for (const [id, ctr] of [['na', a], ['nb', b], ['nc', c]]) await nothingOf(t, host, 'web', id, ctr.config.network[0].hostInterface);
  t.deepEqual(leases('back'), []);
  await removeNetwork('web', { stateRoot });
  await removeNetwork('back', { stateRoot });
  t.is(await berthTable(host), undefined);
  t.true(await eventually(async () => (await linkNames(host)).join() === 'lo'), `left: ${await linkNames(host)}`);
  t.deepEqual(containerDirs(), []);
  await endAndWitness(t, await makeNetns(t, inodesMade), [host]);
});

when(skip, 'NAT out and mappings in: the outside sees the stand-in host; a mapping reached from the stand-in host (its address, 127.0.0.1) and from outside; hostPort 0 reported; internal stays in', async (t) => {
  const host = await makeNetns(t, inodesMade);
  const outside = await makeNetns(t, inodesMade);
  uplink(t, host, outside);
  await createNetwork({ name: 'pub', subnet: '10.212.0.0/24', netns: host.path, stateRoot });
  await createNetwork({ name: 'sealed', subnet: '10.213.0.0/24', internal: true, netns: host.path, stateRoot });
  await serve(t, outside, 'serve-tcp', '10.240.0.2', 7000);

  const c = await createContainer(config('np', { name: 'pub', ports: [{ hostPort: 8080, containerPort: 80 }, { hostPort: 0, containerPort: 80 }, { hostPort: 8081, containerPort: 80, hostIp: '127.0.0.1' }] }, SERVER));
  t.teardown(() => c.destroy());
  await startServer(c);
  const ports = c.networks[0].ports;
  t.deepEqual(ports.map((p) => [p.protocol, p.family, p.hostIp, p.containerIp, p.containerPort]), [
    ['tcp', 4, undefined, '10.212.0.2', 80],
    ['tcp', 4, undefined, '10.212.0.2', 80],
    ['tcp', 4, '127.0.0.1', '10.212.0.2', 80],
  ]);
  t.is(ports[0].hostPort, 8080);
  const picked = ports[1].hostPort;
  t.true(picked > 0 && picked !== 8080, `hostPort 0 became ${picked}`);
  t.deepEqual((await loadContainer('np', { stateRoot })).networks[0].ports, ports, 'the bound ports in the record');

  t.is((await sh(c, 'nc -w 3 10.240.0.2 7000')).out.trim(), '10.240.0.1', "out through NAT: the outside sees the stand-in host's address");
  t.is(await ask(host, '10.240.0.1', 8080), 'np-host', "the mapping from the stand-in host's own address");
  t.is(await ask(host, '127.0.0.1', 8080), 'np-host', "and from its 127.0.0.1");
  t.is(await ask(host, '127.0.0.1', picked), 'np-host', 'the picked port');
  t.is(await ask(host, '127.0.0.1', 8081), 'np-host', 'a mapping bound to 127.0.0.1');
  t.is(await ask(outside, '10.240.0.1', 8080), 'np-host', 'from outside');
  t.is(await ask(outside, '10.240.0.1', 8081, 1500), 'ERR ECONNREFUSED', 'a 127.0.0.1 mapping is not reachable from outside');
  t.is((await sh(c, 'nc -w 3 10.240.0.1 8080')).out.trim(), 'np-host', 'hairpin: the container through its own mapping');

  const s = await createContainer(config('ns', { name: 'sealed' }, ['sleep', '1000'], { process: { stdio: 'ignore' } }));
  t.teardown(() => s.destroy());
  await s.start();
  const out = await sh(s, 'nc -w 2 10.240.0.2 7000');
  t.not(out.out.trim(), '10.240.0.1', 'an internal network cannot get out');
  t.not(out.code, 0);
  t.regex((await sh(s, 'ping -c1 -W3 10.213.0.1')).out, /1 packets received/, 'but reaches its gateway');

  // run(): the same, with a mapping, and gone after.
  const r = await run(config('nr', { name: 'pub', ports: [{ hostPort: 0, containerPort: 80 }] }, ['/bin/sh', '-c', 'ip -4 -o addr show dev eth0; nc -w 3 10.240.0.2 7000'], { process: { stdio: undefined } }));
  t.is(r.exitCode, 0, r.stderr.toString());
  t.regex(r.stdout.toString(), /inet 10\.212\.0\.\d+\/24[^]*10\.240\.0\.1/);

  await c.destroy();
  await s.destroy();
  t.is(await ask(host, '127.0.0.1', 8080, 1500), 'ERR ECONNREFUSED', 'the mapping went with the container');
  for (const [id, ctr, net] of [['np', c, 'pub'], ['ns', s, 'sealed']]) await nothingOf(t, host, net, id, ctr.config.network[0].hostInterface);
  t.is(await mappingsOf(host, 'nr'), 0);
  await removeNetwork('pub', { stateRoot });
  await removeNetwork('sealed', { stateRoot });
  t.is(await berthTable(host), undefined);
  await inNetns(host, 'ip', 'link', 'del', 'uplink');
  t.true(await eventually(async () => (await linkNames(host)).join() === 'lo'), `left: ${await linkNames(host)}`);
  for (const stop of [...started]) await stop();
  await endAndWitness(t, await makeNetns(t, inodesMade), [host, outside]);
});

when(skip, 'a taken host port, a port a socket holds and a taken address fail create with a typed error and leave nothing; bad configs are refused before anything exists', async (t) => {
  const host = await makeNetns(t, inodesMade);
  await createNetwork({ name: 'busy', subnet: '10.214.0.0/24', netns: host.path, stateRoot });
  const x = await createContainer(config('nx', { name: 'busy', ip: '10.214.0.50', ports: [{ hostPort: 9000, containerPort: 80 }] }, ['sleep', '1000'], { process: { stdio: 'ignore' } }));
  t.teardown(() => x.destroy());
  const linksBefore = await linkNames(host);
  const hostsBefore = fs.readFileSync(path.join(stateRoot, 'networks', 'busy', 'hosts'), 'utf8');
  const tableBefore = JSON.stringify(await berthTable(host));

  const failed = async (id, network, code, field) => {
    const e = await t.throwsAsync(createContainer(config(id, network, ['sleep', '1000'], { process: { stdio: 'ignore' } })), { instanceOf: NetworkError });
    t.is(e.code, code, e.message);
    if (field) t.is(e.field, field);
    t.regex(e.message, /network "busy"/);
    t.deepEqual(await linkNames(host), linksBefore, `no veth of ${id} in the stand-in host`);
    t.deepEqual(leases('busy'), ['10.214.0.50'], `no lease of ${id}`);
    t.is(JSON.stringify(await berthTable(host)), tableBefore, `no nft element of ${id}`);
    t.is(fs.readFileSync(path.join(stateRoot, 'networks', 'busy', 'hosts'), 'utf8'), hostsBefore, `the network's hosts file (nx's /etc/hosts) never named ${id}`);
    t.deepEqual(containerDirs(), ['nx'], `no state dir of ${id}`);
    return e;
  };
  const e = await failed('ny', { name: 'busy', ports: [{ hostPort: 9001, containerPort: 80 }, { hostPort: 9000, containerPort: 81 }] }, 'PORT_IN_USE', 'network.ports[1].hostPort');
  t.regex(e.message, /9000 is already mapped/);
  await serve(t, host, 'serve-tcp', '0.0.0.0', 9100);
  const e2 = await failed('ny', [{ name: 'busy', ports: [{ hostPort: 9100, containerPort: 80 }] }], 'PORT_IN_USE', 'network[0].ports[0].hostPort');
  t.is(e2.errno, 'EADDRINUSE', 'a socket of the stand-in host holds it');
  await failed('ny', { name: 'busy', ip: '10.214.0.50' }, 'ADDRESS_IN_USE');
  for (const stop of [...started]) await stop();

  // Refused before anything exists: ConfigErrors naming the field.
  const refused = async (cfg, field, pattern) => {
    const err = await t.throwsAsync(createContainer(cfg), { instanceOf: ConfigError });
    t.is(err.field, field, err.message);
    if (pattern) t.regex(err.message, pattern);
  };
  await refused(config('nz', { name: 'nowhere' }, ['true']), 'network.name', /no network "nowhere"/);
  await refused(config('nz', { name: 'busy', ip: '10.215.0.2' }, ['true']), 'network.ip', /outside the subnet/);
  await refused(config('nz', [{ name: 'busy' }, { name: 'busy' }], ['true']), 'network[1].name', /twice/);
  await refused(config('nz', { name: 'busy' }, ['true'], { hostname: undefined, linux: { namespaces: [{ type: 'mount' }, { type: 'pid' }] } }), 'network', /network namespace of its own/);
  t.deepEqual(containerDirs(), ['nx']);

  await x.destroy();
  await nothingOf(t, host, 'busy', 'nx', x.config.network[0].hostInterface);
  await removeNetwork('busy', { stateRoot });
  t.true(await eventually(async () => (await linkNames(host)).join() === 'lo'), `left: ${await linkNames(host)}`);
  t.is(await berthTable(host), undefined);
  await endAndWitness(t, await makeNetns(t, inodesMade), [host]);
});

when(skip, 'in a new user namespace (fixed maps and userns auto) and on an overlay rootfs: attached, routed, its names bound (idmapped from the parent where the container cannot reach the state dir)', async (t) => {
  const host = await makeNetns(t, inodesMade);
  await createNetwork({ name: 'uns', subnet: '10.217.0.0/24', netns: host.path, stateRoot });
  const maps = [{ containerID: 0, hostID: 100000, size: 65536 }];
  const userNs = { linux: { namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'user' }], uidMappings: maps, gidMappings: maps } };
  const script = ['/bin/sh', '-c', 'ip -4 -o addr show dev eth0; ip route; cat /etc/hosts /etc/hostname; stat -c "%u %a" /etc/hosts'];
  for (const [what, extra] of [['fixed maps', userNs], ["userns 'auto'", { userns: 'auto' }], ['overlay rootfs', { rootfs: { path: rootfs, overlay: true } }]]) {
    const id = `nu${what.length}`;
    const r = await run(config(id, { name: 'uns', aliases: ['u'] }, script, { ...extra, process: { stdio: undefined, capabilities: undefined } }));
    t.is(r.exitCode, 0, `${what}: ${r.stderr}`);
    const out = r.stdout.toString();
    t.regex(out, /inet 10\.217\.0\.\d+\/24/, what);
    t.regex(out, /^default via 10\.217\.0\.1 dev eth0/m, what);
    t.regex(out, new RegExp(`^10\\.217\\.0\\.\\d+\\t${id}-host ${id} u\\t# ${id}$`, 'm'), `${what}: its own line`);
    t.regex(out, new RegExp(`^${id}-host\n0 644$`, 'm'), `${what}: /etc/hostname, and /etc/hosts its root's`);
    t.false(fs.existsSync(path.join(stateRoot, id)));
  }
  t.deepEqual(leases('uns'), []);
  t.deepEqual(hostsOwners('uns'), []);
  await removeNetwork('uns', { stateRoot });
  // The host ends go with the containers' namespaces, which the kernel tears down in the background.
  t.true(await eventually(async () => (await linkNames(host)).join() === 'lo'), `left: ${await linkNames(host)}`);
  await endAndWitness(t, await makeNetns(t, inodesMade), [host]);
});

/** A detached-child.mjs operation in a process of its own; its JSON lines and exit. */
function child(op, id, json) {
  const p = spawn(process.execPath, [CHILD, op, stateRoot, id, ...(json === undefined ? [] : [JSON.stringify(json)])], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = [];
  let buf = '';
  p.stdout.on('data', (d) => {
    buf += d;
    for (let i; (i = buf.indexOf('\n')) >= 0; buf = buf.slice(i + 1)) lines.push(JSON.parse(buf.slice(0, i)));
  });
  const exited = new Promise((resolve) => p.once('exit', (code, signal) => resolve({ code, signal, lines })));
  return { p, lines, exited };
}

when(skip, 'a creator SIGKILLed after the veth was made leaves only what destroy removes; a detached container destroyed from another process detaches; removeNetwork refused while one is attached', async (t) => {
  const host = await makeNetns(t, inodesMade);
  const h = Rtnetlink.open(host.path);
  h.setUp('lo'); // the mappings are asked for from its 127.0.0.1
  h.close();
  await createNetwork({ name: 'det', subnet: '10.216.0.0/24', netns: host.path, stateRoot });
  const marker = path.join(scratch, 'hook-pid');
  // A createRuntime hook runs after the attach: the creator waits in it, with veth, lease, mapping and names made.
  const hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `echo $$ > ${marker}.tmp && mv ${marker}.tmp ${marker} && exec sleep 60`] }] };
  const k = child('create', 'nk', { rootfs, network: { name: 'det', aliases: ['killed'], ports: [{ hostPort: 9200, containerPort: 80 }] }, hooks, process: { args: ['sleep', '1000'] } });
  t.true(await eventually(() => fs.existsSync(marker), 20_000), 'the creator reached its hook');
  const hookPid = Number(fs.readFileSync(marker, 'utf8'));
  const hostIf = (await loadContainer('nk', { stateRoot })).networks[0].hostInterface;
  t.true((await linkNames(host)).includes(hostIf), 'the veth is there');
  t.is(await mappingsOf(host, 'nk'), 2, 'and the mapping (its taken element and its map entry)');
  t.deepEqual(leases('det'), ['10.216.0.2']);
  k.p.kill('SIGKILL');
  await k.exited;
  process.kill(hookPid, 'SIGKILL'); // the hook's sleep (ours: it came to this subreaper)
  t.true(await eventually(() => reapPid(hookPid) !== null || !fs.existsSync(`/proc/${hookPid}`)), 'the hook is gone');
  // The init, waiting for a CONTINUE nobody will send, saw its sync socket close and exited.
  const ref = await loadContainer('nk', { stateRoot });
  t.true(await eventually(async () => (await ref.state()).status === 'stopped'), 'its record reads stopped');
  t.true(await eventually(async () => !(await linkNames(host)).includes(hostIf)), 'the veth went with the init\'s namespace');
  t.true((await inspectNetwork('det', { stateRoot })).containers.length === 0, 'its lease is not live (its owner, the init, is gone)');
  t.is(await mappingsOf(host, 'nk'), 2, 'the mapping is still there: the network\'s to keep until someone destroys the container');
  await ref.destroy();
  await nothingOf(t, host, 'det', 'nk', hostIf);
  t.is(await ask(host, '127.0.0.1', 9200, 1000), 'ERR ECONNREFUSED');

  // Detached: made by a process that exits, started here, destroyed by another process.
  const d = child('create', 'nd', { rootfs, hostname: 'nd-host', network: { name: 'det', ports: [{ hostPort: 9201, containerPort: 80 }] }, process: { args: ['nc', '-ll', '-p', '80', '-e', '/bin/hostname'] } });
  const made = await d.exited;
  t.like(made.lines.at(-1), { phase: 'done', ok: true }, JSON.stringify(made.lines));
  const dref = await loadContainer('nd', { stateRoot });
  await dref.start();
  // The next address after the last one given (host-local's round robin): not the dead one's at once.
  t.deepEqual(dref.networks.map((n) => [n.name, n.interface, n.addresses, n.ports.map((p) => p.hostPort)]), [['det', 'eth0', ['10.216.0.3/24'], [9201]]]);
  t.true(await eventually(async () => (await ask(host, '127.0.0.1', 9201, 1000)) === 'nd-host'), 'its mapping works');
  const e = await t.throwsAsync(removeNetwork('det', { stateRoot }), { instanceOf: NetworkError });
  t.like(e, { code: 'NETWORK_IN_USE', users: ['nd'] });
  t.true((await linkNames(host)).includes('br-det'), 'nothing was removed');
  // Its init is this subreaper's child (its creator exited): reaped here once another process killed it.
  const reaped = dref.wait();
  const del = await child('delete', 'nd').exited;
  t.is((await reaped).signal, 'SIGKILL');
  t.like(del.lines.at(-1), { phase: 'done', ok: true }, JSON.stringify(del.lines));
  await nothingOf(t, host, 'det', 'nd', dref.networks[0].hostInterface);
  t.is(await ask(host, '127.0.0.1', 9201, 1000), 'ERR ECONNREFUSED');
  await removeNetwork('det', { stateRoot });
  t.true(await eventually(async () => (await linkNames(host)).join() === 'lo'), `left: ${await linkNames(host)}`);
  t.is(await berthTable(host), undefined);
  await endAndWitness(t, await makeNetns(t, inodesMade), [host]);
});

when(skip, "nothing is left: no process, fd, namespace of this file's, state, and the real host's network and ruleset are byte-identical", async (t) => {
  t.is(started.size, 0, 'every server was stopped');
  await quiesce();
  t.is(openFds(), fdsBefore, 'no fd left open');
  t.deepEqual(zombies(), []);
  t.deepEqual(children().filter((c) => c.state !== 'Z').length, 0, 'no child process');
  const alive = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Children of this file only: a recycled namespace inode may hold another file's process (ava runs files at once).
      const ppid = Number(fs.readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      if (ppid === process.pid && inodesMade.includes(fs.statSync(`/proc/${entry}/ns/net`).ino)) alive.push(entry);
    } catch {
      // raced with an exit
    }
  }
  t.deepEqual(alive, [], 'no process is in a namespace this file made');
  t.deepEqual(containerDirs(), [], 'no state dir');
  t.deepEqual(fs.existsSync(path.join(stateRoot, 'networks')) ? fs.readdirSync(path.join(stateRoot, 'networks')) : [], [], 'no network record, lease or member record');
  fs.rmSync(path.join(stateRoot, 'networks'), { recursive: true, force: true });
  t.deepEqual(hostNetwork({ nft: true }), before);
  t.deepEqual(fs.readdirSync(path.join(rootfs, 'etc')).sort(), ['group', 'hostname', 'hosts', 'passwd', 'resolv.conf'], 'the mount points were made in the private rootfs');
});
