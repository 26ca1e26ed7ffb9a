// Networks against the real kernel (root), all inside network namespaces this
// file makes (`unshare --net sleep infinity`, killed by pid): one stands in
// for the host and holds berth's bridges and its nft table; a plain namespace
// with a veth and an address leased from the network stands in for a
// container; a third, joined to the stand-in host by a veth of its own,
// stands in for the outside world. Checked: the bridge, its addresses,
// forwarding and `table inet berth` as `ip` and `nft` (read-only, under
// nsenter) see them; overlap and name refusals; masquerade (the outside sees
// the stand-in host's address), port mappings in from the outside, from the
// stand-in host's own address and its 127.0.0.1, hairpin from the container
// itself, no route straight to a container, an internal network that cannot
// get out, removal refused while a live container holds a lease; concurrent
// creates; failed creates undone; a missing libnftables a typed error. At the
// end nothing is left in the stand-ins (no bridge, no berth table), every
// namespace is shown gone, and the real host's addresses, links, routes,
// forwarding and nft ruleset are byte-identical.
import test from 'ava';
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ConfigError } from '../../dist/lib/errors.js';
import { NetworkError } from '../../dist/lib/network/errors.js';
import { installNetwork } from '../../dist/lib/network/nat.js';
import { withNetns } from '../../dist/lib/network/nftables.js';
import {
  createNetwork,
  inspectNetwork,
  leaseAddresses,
  listNetworks,
  publishPorts,
  releaseAddresses,
  removeNetwork,
  unpublishPorts,
} from '../../dist/lib/network/networks.js';
import { Rtnetlink, readNetSysctl, writeNetSysctl } from '../../dist/lib/network/rtnetlink.js';
import { parseSubnet } from '../../dist/lib/network/subnet.js';
import { processStartTime } from '../../dist/lib/state/state-dir.js';
import * as index from '../../dist/lib/index.js';
import { openFds } from './helpers.js';
import { when } from './when.js';
import { NFT, endAndWitness, eventually, hostNetwork, inNetns, makeNetns, networkTestsMissing } from './netns.js';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const PEER = path.join(here, 'network-peer.mjs');
const DIST = path.join(here, '..', '..', 'dist', 'lib');

const skip = networkTestsMissing({ tools: ['busybox'], nft: true });

const before = skip ? undefined : hostNetwork({ nft: true });
const fdsBefore = openFds();
const inodesMade = [];
const roots = [];
const started = new Set();

// A failed test may leave its state root's records (its namespaces, and what berth made in them, die with the test).
test.after.always(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

function stateRoot() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-netobj-'));
  roots.push(root);
  return root;
}

/** berth's table in the namespace as `nft -j` lists it, or undefined when there is none. */
async function berthTable(ns) {
  const tables = JSON.parse(await inNetns(ns, NFT, '-j', 'list', 'tables')).nftables.filter((x) => x.table);
  if (!tables.some((x) => x.table.family === 'inet' && x.table.name === 'berth')) return undefined;
  return JSON.parse(await inNetns(ns, NFT, '-j', 'list', 'table', 'inet', 'berth')).nftables;
}

const linkNames = async (ns) => JSON.parse(await inNetns(ns, 'ip', '-j', 'link')).map((l) => l.ifname).sort();

/** A server of network-peer.mjs in the namespace, killed by pid by stopServers() (and at teardown). */
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

/** Stops every server (each keeps its namespace alive). */
async function stopServers() {
  await Promise.all([...started].map((stop) => stop()));
}

/** What a client in the namespace got from host:port (the server's view of its address), or "ERR <code>". */
async function ask(ns, mode, host, port, ms = 3000) {
  return (await inNetns(ns, process.execPath, PEER, mode, host, String(port), String(ms))).trim();
}

/** A "container": a veth from the bridge into `ctr` named eth0, addressed from a lease, default route via the gateway. */
async function attach(hostNs, ctr, net, id, root) {
  const { addresses } = await leaseAddresses(net.name, ctr.owner(id), { stateRoot: root });
  const hostIf = `vb-${id}`;
  const h = Rtnetlink.open(hostNs.path);
  const c = Rtnetlink.open(ctr.path);
  try {
    h.createVeth(hostIf, 'eth0', { peerNetns: ctr.path, master: net.bridge, up: true });
    h.setHairpin(hostIf, true);
    c.setUp('lo');
    for (const a of addresses) c.addAddress('eth0', `${a.address}/${a.prefix}`, a.family === 6 ? { nodad: true } : {});
    c.setUp('eth0');
    for (const a of addresses) c.addDefaultRoute(a.gateway);
  } finally {
    h.close();
    c.close();
  }
  return { hostIf, ipv4: addresses.find((a) => a.family === 4)?.address, ipv6: addresses.find((a) => a.family === 6)?.address, addresses };
}

/** What the container side does on destroy: its mappings, its veth, its leases. */
async function detach(hostNs, net, id, hostIf, root) {
  await unpublishPorts(net.name, id, { stateRoot: root });
  const h = Rtnetlink.open(hostNs.path);
  try {
    if (h.findLink(hostIf)) h.deleteLink(hostIf);
  } finally {
    h.close();
  }
  await releaseAddresses(net.name, id, { stateRoot: root });
}

const refused = async (t, promise, code, expected = {}) => {
  const e = await t.throwsAsync(promise, { instanceOf: NetworkError });
  t.like(e, { code, ...expected });
  return e;
};

when(skip, 'networks in a stand-in host: bridge, gateway addresses, forwarding, table inet berth, a record others read; overlap and names refused; removal takes it all', async (t) => {
  const host = await makeNetns(t, inodesMade);
  const host2 = await makeNetns(t, inodesMade);
  const observer = await makeNetns(t, inodesMade);
  const root = stateRoot();

  let t0 = performance.now();
  const alpha = await createNetwork({ name: 'alpha', subnet: '10.231.0.0/24', ipv6: 'fd42:231::/64', netns: host.path, stateRoot: root });
  t.log(`createNetwork (the first, with the table): ${(performance.now() - t0).toFixed(1)} ms`);
  t.like(alpha, { name: 'alpha', bridge: 'br-alpha', subnet: '10.231.0.0/24', gateway: '10.231.0.1', ipv6: { subnet: 'fd42:231::/64', gateway: 'fd42:231::1' }, internal: false, netns: host.path, netnsInode: host.ino });
  t.deepEqual(alpha.containers, []);
  t.is(alpha.orphaned, undefined);

  const link = JSON.parse(await inNetns(host, 'ip', '-d', '-j', 'link', 'show', 'dev', 'br-alpha'))[0];
  t.is(link.linkinfo.info_kind, 'bridge');
  t.true(link.flags.includes('UP'), 'up');
  const addrs = JSON.parse(await inNetns(host, 'ip', '-j', 'addr', 'show', 'dev', 'br-alpha'))[0].addr_info.map((a) => `${a.local}/${a.prefixlen}`);
  t.true(addrs.includes('10.231.0.1/24') && addrs.includes('fd42:231::1/64'), addrs.join(' '));
  t.is(readNetSysctl(host.path, 'net.ipv4.ip_forward'), '1', 'forwarding on in the stand-in host');
  t.is(readNetSysctl(host.path, 'net.ipv6.conf.all.forwarding'), '1', 'IPv6 forwarding too (an IPv6 subnet)');
  t.is(readNetSysctl(host.path, 'net/ipv4/conf/br-alpha/route_localnet'), '1', 'route_localnet on the bridge only');
  t.is(readNetSysctl(host.path, 'net.ipv4.conf.all.route_localnet'), '0');
  t.is(fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8'), before.forward, 'not on the real host');

  let table = await berthTable(host);
  const chains = table.filter((x) => x.chain).map((x) => `${x.chain.name}:${x.chain.type ?? ''}:${x.chain.hook ?? ''}:${x.chain.prio ?? ''}`);
  t.deepEqual(chains.sort(), ['forward:filter:forward:0', 'guard:filter:prerouting:-300', 'output:nat:output:-100', 'ports:::', 'postrouting:nat:postrouting:100', 'prerouting:nat:prerouting:-100']);
  const rulesOf = (tbl, comment) => tbl.filter((x) => x.rule && x.rule.comment === comment);
  t.is(rulesOf(table, 'berth net br-alpha').length, 11);
  t.is(rulesOf(table, 'berth base').length, 6, 'two jumps to ports, four map lookups in it');
  t.deepEqual(table.filter((x) => x.map).map((x) => x.map.name).sort(), ['ports4', 'ports4h', 'ports6', 'ports6h']);
  t.deepEqual(table.filter((x) => x.set).map((x) => x.set.name).sort(), ['taken4', 'taken6']);
  const masq = JSON.stringify(rulesOf(table, 'berth net br-alpha').filter((x) => x.rule.chain === 'postrouting'));
  t.true(masq.includes('"addr":"10.231.0.0","len":24') && masq.includes('"addr":"fd42:231::","len":64'), 'masquerade of both subnets');
  t.true(fs.existsSync(path.join(root, 'networks', 'alpha', 'network.json')));

  // Another process sees it.
  const other = spawnSync(process.execPath, ['--input-type=module', '-e', `import { inspectNetwork } from '${DIST}/network/networks.js'; process.stdout.write(JSON.stringify(await inspectNetwork('alpha', { stateRoot: '${root}' })));`]);
  t.is(other.status, 0, other.stderr.toString());
  t.deepEqual(JSON.parse(other.stdout), alpha);
  t.is(index.inspectNetwork, inspectNetwork, 'exported from the package');

  const beta = await createNetwork({ name: 'beta', subnet: '10.232.0.0/24', internal: true, netns: host.path, stateRoot: root });
  t.like(beta, { bridge: 'br-beta', gateway: '10.232.0.1', internal: true });
  table = await berthTable(host);
  t.is(rulesOf(table, 'berth net br-beta').length, 6);
  t.false(rulesOf(table, 'berth net br-beta').some((x) => x.rule.chain === 'postrouting'), 'an internal network is not masqueraded');
  t.is(readNetSysctl(host.path, 'net/ipv4/conf/br-beta/route_localnet'), '0');

  // Overlaps in the same namespace, by family; nothing is made.
  let e = await refused(t, createNetwork({ name: 'gamma', subnet: '10.231.0.128/25', netns: host.path, stateRoot: root }), 'SUBNET_OVERLAP', { network: 'alpha', field: 'subnet' });
  t.regex(e.message, /10\.231\.0\.128\/25 overlaps 10\.231\.0\.0\/24 of network "alpha"/);
  e = await refused(t, createNetwork({ name: 'delta', subnet: '10.233.0.0/24', ipv6: 'fd42::/16', netns: host.path, stateRoot: root }), 'SUBNET_OVERLAP', { network: 'alpha', field: 'ipv6.subnet' });
  await refused(t, createNetwork({ name: 'alpha', subnet: '10.234.0.0/24', netns: host.path, stateRoot: root }), 'NETWORK_EXISTS', { network: 'alpha', errno: 'EEXIST' });
  t.deepEqual(await linkNames(host), ['br-alpha', 'br-beta', 'lo'], 'no bridge of a refused create');
  t.false(fs.existsSync(path.join(root, 'networks', 'gamma')));
  t.false(fs.existsSync(path.join(root, 'networks', 'delta')));
  const ce = await t.throwsAsync(createNetwork({ name: 'bad name', subnet: '10.235.0.0/24', netns: host.path, stateRoot: root }), { instanceOf: ConfigError });
  t.is(ce.field, 'name');
  const ce2 = await t.throwsAsync(createNetwork({ name: 'gw', subnet: '10.235.0.0/24', gateway: '10.236.0.1', netns: host.path, stateRoot: root }), { instanceOf: ConfigError });
  t.is(ce2.field, 'gateway');

  // The same subnet in another namespace is another network's business.
  const elsewhere = await createNetwork({ name: 'alpha-b', subnet: '10.231.0.0/24', netns: host2.path, stateRoot: root });
  t.is(elsewhere.bridge, 'br-alpha-b');
  t.deepEqual((await listNetworks({ stateRoot: root })).map((n) => n.name), ['alpha', 'alpha-b', 'beta']);

  // A mapping left by a container that never unpublished goes with its network.
  await publishPorts('alpha', 'gone', { ipv4: '10.231.0.7' }, [{ hostPort: 8080, containerPort: 80 }], { stateRoot: root });
  t0 = performance.now();
  await removeNetwork('alpha', { stateRoot: root });
  t.log(`removeNetwork (not the last): ${(performance.now() - t0).toFixed(1)} ms`);
  table = await berthTable(host);
  t.is(rulesOf(table, 'berth net br-alpha').length, 0, "alpha's rules went");
  t.false(JSON.stringify(table).includes('br-alpha'), 'and its mapping');
  t.is(rulesOf(table, 'berth net br-beta').length, 6, "beta's stayed");
  t0 = performance.now();
  await removeNetwork('beta', { stateRoot: root });
  t.log(`removeNetwork (the last, with the table): ${(performance.now() - t0).toFixed(1)} ms`);
  t.is(await berthTable(host), undefined, 'the table went with the last network');
  t.deepEqual(await linkNames(host), ['lo']);
  await removeNetwork('alpha-b', { stateRoot: root });
  t.is(await berthTable(host2), undefined);
  t.deepEqual(await linkNames(host2), ['lo']);
  t.deepEqual(await listNetworks({ stateRoot: root }), []);
  t.deepEqual(fs.readdirSync(path.join(root, 'networks')), [], 'no record, no lease directory');
  await refused(t, removeNetwork('alpha', { stateRoot: root }), 'NETWORK_NOT_FOUND');
  await refused(t, inspectNetwork('alpha', { stateRoot: root }), 'NETWORK_NOT_FOUND');
  t.is(readNetSysctl(host.path, 'net.ipv4.ip_forward'), '1', 'forwarding stays on (the namespace\'s switch; see networks.ts)');

  await endAndWitness(t, observer, [host, host2]);
});

when(skip, 'traffic: masquerade out, port mappings in (outside, own address, 127.0.0.1, hairpin, UDP, a picked port), no direct route in, internal stays in; removal refused while a live lease', async (t) => {
  const host = await makeNetns(t, inodesMade);
  const outside = await makeNetns(t, inodesMade);
  const ctr = await makeNetns(t, inodesMade);
  const ctr2 = await makeNetns(t, inodesMade);
  const observer = await makeNetns(t, inodesMade);
  const root = stateRoot();

  // The stand-in host's uplink to the stand-in outside world (10.240.0.0/24).
  const h = Rtnetlink.open(host.path);
  const o = Rtnetlink.open(outside.path);
  t.teardown(() => (h.close(), o.close()));
  h.setUp('lo');
  o.setUp('lo');
  h.createVeth('uplink', 'eth0', { peerNetns: outside.path, up: true });
  h.addAddress('uplink', '10.240.0.1/24');
  o.addAddress('eth0', '10.240.0.2/24');
  o.setUp('eth0');

  const web = await createNetwork({ name: 'web', subnet: '10.241.0.0/24', netns: host.path, stateRoot: root });
  const sealed = await createNetwork({ name: 'sealed', subnet: '10.242.0.0/24', internal: true, netns: host.path, stateRoot: root });
  const c1 = await attach(host, ctr, web, 'c1', root);
  const c2 = await attach(host, ctr2, sealed, 'c2', root);
  t.is(c1.ipv4, '10.241.0.2');
  t.is(c2.ipv4, '10.242.0.2');
  t.deepEqual((await inspectNetwork('web', { stateRoot: root })).containers, [{ id: 'c1', address: '10.241.0.2' }]);

  // Out: the outside has no route to 10.241.0.0/24; only the masquerade brings the answer back.
  await serve(t, outside, 'serve-tcp', '10.240.0.2', 7000);
  t.is(await ask(ctr, 'tcp', '10.240.0.2', 7000), '10.240.0.1', "the outside sees the stand-in host's address");
  // Internal: cannot get out, reaches its gateway.
  t.is(await ask(ctr2, 'tcp', '10.240.0.2', 7000, 1500), 'ERR ETIMEDOUT', 'an internal network cannot get out');
  t.regex(await inNetns(ctr2, 'busybox', 'ping', '-c', '1', '-W', '3', '10.242.0.1'), /1 packets received/, 'but reaches its gateway');

  // In: port mappings to a server in the container.
  await serve(t, ctr, 'serve-tcp', '0.0.0.0', 80);
  await serve(t, ctr, 'serve-udp', '0.0.0.0', 53);
  let t0 = performance.now();
  const published = await publishPorts('web', 'c1', { ipv4: c1.ipv4 }, [{ hostPort: 8080, containerPort: 80 }], { stateRoot: root });
  t.log(`publishPorts (one mapping): ${(performance.now() - t0).toFixed(1)} ms`);
  t.deepEqual(published, [{ protocol: 'tcp', family: 4, hostPort: 8080, containerIp: '10.241.0.2', containerPort: 80 }]);
  const more = await publishPorts(
    'web',
    'c1',
    { ipv4: c1.ipv4 },
    [
      { hostPort: 8081, containerPort: 80, hostIp: '127.0.0.1' },
      { hostPort: 5353, containerPort: 53, protocol: 'udp' },
      { hostPort: 0, containerPort: 80 },
    ],
    { stateRoot: root },
  );
  const picked = more[2].hostPort;
  t.true(picked > 0 && picked !== 8080, `hostPort 0 picked ${picked}`);
  t.is(await ask(outside, 'tcp', '10.240.0.1', 8080), '10.240.0.2', "from the outside, the client's own address reaches the container");
  t.is(await ask(host, 'tcp', '10.240.0.1', 8080), '10.240.0.1', "from the stand-in host, by its own address");
  t.is(await ask(host, 'tcp', '127.0.0.1', 8080), '10.241.0.1', "from the stand-in host's 127.0.0.1 (route_localnet + masquerade to the gateway)");
  t.is(await ask(host, 'tcp', '127.0.0.1', 8081), '10.241.0.1', 'a mapping bound to 127.0.0.1');
  t.is(await ask(outside, 'tcp', '10.240.0.1', 8081, 1500), 'ERR ECONNREFUSED', 'is not reachable on other addresses');
  t.is(await ask(ctr, 'tcp', '10.240.0.1', 8080), '10.241.0.1', 'hairpin: the container through its own mapping');
  t.is(await ask(host, 'udp', '127.0.0.1', 5353), '10.241.0.1', 'UDP');
  t.is(await ask(outside, 'udp', '10.240.0.1', 5353), '10.240.0.2');
  t.is(await ask(outside, 'tcp', '10.240.0.1', picked), '10.240.0.2', 'the picked port');
  // No way in but the mappings: a route straight to the container's address is dropped at the bridge.
  o.addRoute({ dst: '10.241.0.0/24', gateway: '10.240.0.1' });
  t.is(await ask(outside, 'tcp', '10.241.0.2', 80, 1500), 'ERR ETIMEDOUT', 'no direct routing into a network');
  // The loopback guard (CVE-2020-8558): route_localnet on the bridge must not let a container
  // reach the stand-in host's loopback-only services by sending to 127.0.0.0/8 through it.
  await serve(t, host, 'serve-tcp', '127.0.0.2', 9999);
  await inNetns(ctr, 'ip', 'route', 'del', 'local', '127.0.0.0/8', 'dev', 'lo', 'table', 'local');
  writeNetSysctl(ctr.path, 'net/ipv4/conf/eth0/route_localnet', '1');
  await inNetns(ctr, 'ip', 'route', 'add', '127.0.0.0/8', 'via', '10.241.0.1', 'dev', 'eth0');
  t.is(await ask(ctr, 'tcp', '127.0.0.2', 9999, 1500), 'ERR ETIMEDOUT', "a container cannot reach the host's 127.0.0.0/8 through the bridge");
  // What the guard is for: without it (deleted here by hand) the same connection gets through.
  const guard = (await berthTable(host)).find((x) => x.rule?.chain === 'guard' && x.rule.comment === 'berth net br-web');
  await inNetns(host, NFT, 'delete', 'rule', 'inet', 'berth', 'guard', 'handle', String(guard.rule.handle));
  t.is(await ask(ctr, 'tcp', '127.0.0.2', 9999, 1500), '10.241.0.2', 'without the guard, the hole');

  // Taken host ports: another mapping's, and a socket's in the namespace.
  let e = await refused(t, publishPorts('web', 'c9', { ipv4: '10.241.0.9' }, [{ hostPort: 8080, containerPort: 1 }], { stateRoot: root }), 'PORT_IN_USE', { field: 'ports[0].hostPort' });
  t.regex(e.message, /tcp 0\.0\.0\.0:8080 is already mapped/);
  await refused(t, publishPorts('web', 'c9', { ipv4: '10.241.0.9' }, [{ hostPort: 5000, containerPort: 1 }, { hostPort: 8081, containerPort: 1, hostIp: '10.240.0.1' }], { stateRoot: root }), 'PORT_IN_USE', { field: 'ports[1].hostPort' });
  await serve(t, host, 'serve-tcp', '0.0.0.0', 9090);
  e = await refused(t, publishPorts('web', 'c9', { ipv4: '10.241.0.9' }, [{ hostPort: 9191, containerPort: 1 }, { hostPort: 9090, containerPort: 1 }], { stateRoot: root }), 'PORT_IN_USE', { field: 'ports[1].hostPort', errno: 'EADDRINUSE' });
  t.false(JSON.stringify(await berthTable(host)).includes('9191'), 'all or none: the first mapping of the refused list is not there');
  t.false(JSON.stringify(await berthTable(host)).includes('5000'));
  const ce = await t.throwsAsync(publishPorts('sealed', 'c2', { ipv4: c2.ipv4 }, [{ hostPort: 8082, containerPort: 80 }], { stateRoot: root }), { instanceOf: ConfigError });
  t.regex(ce.message, /internal/);
  const ce2 = await t.throwsAsync(publishPorts('web', 'c1', { ipv4: '10.9.9.9' }, [{ hostPort: 8083, containerPort: 80 }], { stateRoot: root }), { instanceOf: ConfigError });
  t.regex(ce2.message, /outside the subnet/);

  // Removal refused while a live container holds a lease; a dead one's is reclaimed.
  e = await refused(t, removeNetwork('web', { stateRoot: root }), 'NETWORK_IN_USE', { network: 'web', users: ['c1'] });
  t.regex(e.message, /in use by container "c1"/);
  t.truthy(await berthTable(host), 'nothing was removed');
  await ctr2.kill(); // the owner of c2's lease dies (and its veth with its namespace)
  await removeNetwork('sealed', { stateRoot: root });

  t0 = performance.now();
  t.is(await unpublishPorts('web', 'c1', { stateRoot: root }), 4);
  t.log(`unpublishPorts (4 mappings): ${(performance.now() - t0).toFixed(1)} ms`);
  t.false(JSON.stringify(await berthTable(host)).includes('berth br-web'), 'exactly its mappings went');
  t.is(await ask(outside, 'tcp', '10.240.0.1', 8080, 1500), 'ERR ECONNREFUSED');
  await detach(host, web, 'c1', c1.hostIf, root);
  t.deepEqual((await inspectNetwork('web', { stateRoot: root })).containers, []);
  await removeNetwork('web', { stateRoot: root });

  h.deleteLink('uplink');
  t.is(await berthTable(host), undefined, 'no berth table left in the stand-in host');
  // c2's veth goes with its namespace, which the kernel finishes destroying on a workqueue.
  t.true(await eventually(async () => (await linkNames(host)).join() === 'lo'), 'no bridge, no veth left');
  t.deepEqual(JSON.parse(await inNetns(host, NFT, '-j', 'list', 'ruleset')).nftables.filter((x) => !x.metainfo), [], 'an empty ruleset');
  h.close();
  o.close();
  await stopServers();
  await endAndWitness(t, observer, [host, outside, ctr]);
});

when(skip, 'IPv6: a dual-stack container masqueraded out and mapped in over IPv6', async (t) => {
  const host = await makeNetns(t, inodesMade);
  const outside = await makeNetns(t, inodesMade);
  const ctr = await makeNetns(t, inodesMade);
  const observer = await makeNetns(t, inodesMade);
  const root = stateRoot();
  const h = Rtnetlink.open(host.path);
  const o = Rtnetlink.open(outside.path);
  t.teardown(() => (h.close(), o.close()));
  h.setUp('lo');
  h.createVeth('uplink', 'eth0', { peerNetns: outside.path, up: true });
  h.addAddress('uplink', 'fd42:240::1/64', { nodad: true });
  o.addAddress('eth0', 'fd42:240::2/64', { nodad: true });
  o.setUp('eth0');
  const dual = await createNetwork({ name: 'dual', subnet: '10.243.0.0/24', ipv6: 'fd42:243::/64', netns: host.path, stateRoot: root });
  const c = await attach(host, ctr, dual, 'c6', root);
  t.is(c.ipv6, 'fd42:243::2');
  await serve(t, outside, 'serve-tcp', 'fd42:240::2', 7000);
  t.is(await ask(ctr, 'tcp', 'fd42:240::2', 7000), 'fd42:240::1', "IPv6 masquerade: the outside sees the stand-in host's address");
  await serve(t, ctr, 'serve-tcp', '::', 80);
  const p = await publishPorts('dual', 'c6', { ipv4: c.ipv4, ipv6: c.ipv6 }, [{ hostPort: 8080, containerPort: 80 }], { stateRoot: root });
  t.deepEqual(p.map((x) => x.family), [4, 6], 'one mapping, a rule per family');
  t.is(await ask(outside, 'tcp', 'fd42:240::1', 8080), 'fd42:240::2', 'mapped in over IPv6');
  await detach(host, dual, 'c6', c.hostIf, root);
  await removeNetwork('dual', { stateRoot: root });
  h.deleteLink('uplink');
  t.is(await berthTable(host), undefined);
  t.deepEqual(await linkNames(host), ['lo']);
  h.close();
  o.close();
  await stopServers();
  await endAndWitness(t, observer, [host, outside, ctr]);
});

when(skip, 'concurrent creates: of one name, one wins and the others are NETWORK_EXISTS (in this process and another); of many names, all made, one table', async (t) => {
  const host = await makeNetns(t, inodesMade);
  const observer = await makeNetns(t, inodesMade);
  const root = stateRoot();
  const script = `import { createNetwork } from '${DIST}/network/networks.js';
    try { await createNetwork({ name: 'race', subnet: '10.250.3.0/24', netns: '${host.path}', stateRoot: '${root}' }); process.stdout.write('made'); }
    catch (e) { process.stdout.write(e.code); }`;
  const child = promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
  const results = await Promise.allSettled([
    createNetwork({ name: 'race', subnet: '10.250.1.0/24', netns: host.path, stateRoot: root }),
    createNetwork({ name: 'race', subnet: '10.250.2.0/24', netns: host.path, stateRoot: root }),
    child,
  ]);
  const outcomes = results.map((r, i) => (i === 2 ? r.value.stdout : r.status === 'fulfilled' ? 'made' : r.reason.code));
  t.is(outcomes.filter((x) => x === 'made').length, 1, outcomes.join(' '));
  t.is(outcomes.filter((x) => x === 'NETWORK_EXISTS').length, 2, outcomes.join(' '));
  t.deepEqual((await listNetworks({ stateRoot: root })).map((n) => n.name), ['race']);
  t.deepEqual(await linkNames(host), ['br-race', 'lo'], 'one bridge');

  const names = ['m0', 'm1', 'm2', 'm3'];
  const made = await Promise.all(names.map((name, i) => createNetwork({ name, subnet: `10.251.${i}.0/24`, netns: host.path, stateRoot: root })));
  t.deepEqual(made.map((n) => n.bridge), ['br-m0', 'br-m1', 'br-m2', 'br-m3']);
  const table = await berthTable(host);
  t.is(table.filter((x) => x.table).length, 1);
  t.is(table.filter((x) => x.rule?.comment === 'berth base').length, 6, "the table's own rules once");
  for (const n of made) t.is(table.filter((x) => x.rule?.comment === `berth net ${n.bridge}`).length, 9);
  await Promise.all([...names, 'race'].map((name) => removeNetwork(name, { stateRoot: root })));
  t.is(await berthTable(host), undefined);
  t.deepEqual(await linkNames(host), ['lo']);
  await endAndWitness(t, observer, [host]);
});

when(skip, 'failed creates leave nothing: nft refusing the batch, the kernel refusing an address, a creator killed midway (swept), libnftables missing', async (t) => {
  const host = await makeNetns(t, inodesMade);
  const observer = await makeNetns(t, inodesMade);
  const root = stateRoot();

  // A `table inet berth` someone else made, without berth's chains: the batch fails as a whole.
  await run('nsenter', [`--net=${host.path}`, NFT, 'add table inet berth; add chain inet berth x']);
  let e = await refused(t, createNetwork({ name: 'n1', subnet: '10.252.0.0/24', netns: host.path, stateRoot: root }), 'NFTABLES_FAILED');
  t.regex(e.nftError, /No such file or directory/);
  t.deepEqual(await linkNames(host), ['lo'], 'the bridge was undone');
  t.false(fs.existsSync(path.join(root, 'networks', 'n1')), 'and the record');
  t.deepEqual((await berthTable(host)).filter((x) => x.chain).map((x) => x.chain.name), ['x'], "and that table is as it was: berth does not delete what it did not make");
  await run('nsenter', [`--net=${host.path}`, NFT, 'delete table inet berth']);

  // IPv6 disabled in the namespace: the IPv6 gateway address is refused after the bridge exists.
  writeNetSysctl(host.path, 'net.ipv6.conf.all.disable_ipv6', '1');
  writeNetSysctl(host.path, 'net.ipv6.conf.default.disable_ipv6', '1');
  e = await refused(t, createNetwork({ name: 'n2', subnet: '10.252.1.0/24', ipv6: 'fd42:252::/64', netns: host.path, stateRoot: root }), 'NETWORK_FAILED', { syscall: 'rtnetlink RTM_NEWADDR', ifname: 'br-n2' });
  t.deepEqual(await linkNames(host), ['lo']);
  t.is(await berthTable(host), undefined);
  t.false(fs.existsSync(path.join(root, 'networks', 'n2')));
  writeNetSysctl(host.path, 'net.ipv6.conf.all.disable_ipv6', '0');
  writeNetSysctl(host.path, 'net.ipv6.conf.default.disable_ipv6', '0');

  // A creator killed after its bridge and rules: its "creating" record is swept by the next create.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(require("fs").readFileSync("/proc/self/stat","utf8"))']).stdout.toString();
  const fields = dead.slice(dead.lastIndexOf(')') + 2).split(' ');
  const creator = { pid: Number(dead.split(' ')[0]), startTime: Number(fields[19]) };
  const ghost = { bridge: 'br-ghost', mac: '02:00:00:0b:0b:01' };
  const h = Rtnetlink.open(host.path);
  t.teardown(() => h.close());
  h.createBridge(ghost.bridge, { mac: ghost.mac, up: true });
  h.createBridge('br-keep', { mac: '02:00:00:0b:0b:02' });
  await withNetns(host.path, { lock: true }, (nh) => installNetwork(nh, { bridge: ghost.bridge, subnets: [parseSubnet('10.252.9.0/24', 's')], internal: false }));
  const record = (name, bridge, mac, subnet) => {
    fs.mkdirSync(path.join(root, 'networks', name), { recursive: true });
    const rec = { version: 1, state: 'creating', name, bridge, mac, subnet, gateway: subnet.replace(/0\/24$/, '1'), internal: false, netns: host.path, netnsInode: host.ino, created: new Date().toISOString(), creator };
    fs.writeFileSync(path.join(root, 'networks', name, 'network.json'), JSON.stringify(rec));
  };
  record('ghost', ghost.bridge, ghost.mac, '10.252.9.0/24');
  record('keep', 'br-keep', '02:00:00:0b:0b:99', '10.252.8.0/24'); // the link by that name is not the one it made
  t.deepEqual(await listNetworks({ stateRoot: root }), [], 'a network being made is not listed');
  const n3 = await createNetwork({ name: 'n3', subnet: '10.252.9.0/24', netns: host.path, stateRoot: root });
  t.is(n3.subnet, '10.252.9.0/24', "the dead creator's subnet is free again");
  t.deepEqual(await linkNames(host), ['br-keep', 'br-n3', 'lo'], "the ghost's bridge went; a bridge of its name with another MAC stayed");
  t.false(fs.existsSync(path.join(root, 'networks', 'ghost')));
  t.false(fs.existsSync(path.join(root, 'networks', 'keep')));
  const table = await berthTable(host);
  t.is(table.filter((x) => x.rule?.comment === 'berth net br-ghost').length, 0, "the ghost's rules went");
  await removeNetwork('n3', { stateRoot: root });
  h.deleteLink('br-keep');
  h.close();

  // No libnftables: the addon loads and works (rtnetlink), createNetwork names the package, and nothing is left.
  const script = `import { createNetwork } from '${DIST}/network/networks.js';
    import { native } from '${DIST}/native/addon.js';
    import { Rtnetlink } from '${DIST}/network/rtnetlink.js';
    native.nftLibrary('libnftables-not-here.so.1');
    const out = {};
    try { await createNetwork({ name: 'nolib', subnet: '10.252.2.0/24', netns: '${host.path}', stateRoot: '${root}' }); out.made = true; }
    catch (e) { out.code = e.code; out.message = e.message; }
    const r = Rtnetlink.open('${host.path}'); out.links = r.listLinks().map((l) => l.name); r.close();
    out.lib = native.nftLibrary();
    process.stdout.write(JSON.stringify(out));`;
  const child = await run(process.execPath, ['--input-type=module', '-e', script]);
  const out = JSON.parse(child.stdout);
  t.is(out.code, 'NFTABLES_UNAVAILABLE');
  t.regex(out.message, /libnftables1/);
  t.regex(out.message, /libnftables-not-here\.so\.1/);
  t.deepEqual(out.links, ['lo'], 'no bridge: the table is read before anything is made (and rtnetlink works without libnftables)');
  t.like(out.lib, { tried: true, loaded: false });
  t.false(fs.existsSync(path.join(root, 'networks', 'nolib')));
  t.is(await berthTable(host), undefined);
  await endAndWitness(t, observer, [host]);
});

when(skip, "nothing is left: no process, no fd, no namespace of this file's, no state, and the real host's network and ruleset are byte-identical", async (t) => {
  t.is(started.size, 0, 'every server was stopped');
  t.is(openFds(), fdsBefore, 'no fd (netlink socket, namespace file, nft socket) left open');
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
  const self = fs.readlinkSync('/proc/self/ns/net');
  t.deepEqual(fs.readdirSync('/proc/self/task').filter((tid) => fs.readlinkSync(`/proc/self/task/${tid}/ns/net`) !== self), [], 'no thread of ours moved');
  for (const root of roots) {
    const left = fs.existsSync(path.join(root, 'networks')) ? fs.readdirSync(path.join(root, 'networks')) : [];
    t.deepEqual(left, [], `nothing under ${root}/networks`);
    fs.rmSync(root, { recursive: true, force: true });
  }
  t.deepEqual(hostNetwork({ nft: true }), before);
});
