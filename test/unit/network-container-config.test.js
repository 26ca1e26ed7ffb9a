// config.network and config.dns, root-free: each refusal a ConfigError naming
// the JSON path before anything exists (network records are written by hand in
// a scratch state root, their "namespace" this process's own); the host
// interface names; which names files a container gets; and the pure renderers
// of /etc/hosts, /etc/hostname and /etc/resolv.conf.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { normalizeConfig } from '../../dist/lib/config/normalize.js';
import { hostInterfaceName, hostNameProblem, normalizeNetwork } from '../../dist/lib/config/network.js';
import { ConfigError } from '../../dist/lib/errors.js';
import { composeHosts, editHosts, parseMemberLine, renderHostname, renderHosts, renderResolvConf, writeInPlace } from '../../dist/lib/network/hosts.js';
import { plannedNetworks, networksOf } from '../../dist/lib/container/network.js';
import { readNetwork } from '../../dist/lib/network/networks.js';
import { fakeCaller, fakeCgroupInfo, removeDir, scratchDir } from './helpers.js';

const host = fakeCgroupInfo('hybrid');
let dir;
let rootfs;
let stateRoot;

/** A network record as createNetwork writes it, in this process's own network namespace. */
function record(name, extra = {}) {
  const d = path.join(stateRoot, 'networks', name);
  fs.mkdirSync(d, { recursive: true });
  const rec = {
    version: 1,
    state: 'ready',
    name,
    bridge: `br-${name}`,
    mac: '02:00:00:00:00:01',
    subnet: '10.77.0.0/24',
    gateway: '10.77.0.1',
    internal: false,
    netns: null,
    netnsInode: fs.statSync('/proc/self/ns/net').ino,
    created: new Date(0).toISOString(),
    creator: { pid: 1, startTime: 0 },
    ...extra,
  };
  fs.writeFileSync(path.join(d, 'network.json'), JSON.stringify(rec));
}

test.before(() => {
  dir = scratchDir('netcfg');
  rootfs = path.join(dir, 'rootfs');
  stateRoot = path.join(dir, 'state');
  fs.mkdirSync(rootfs);
  record('web');
  record('dual', { subnet: '10.78.0.0/24', gateway: '10.78.0.1', ipv6: { subnet: 'fd00:78::/64', gateway: 'fd00:78::1' } });
  record('sealed', { subnet: '10.79.0.0/24', gateway: '10.79.0.1', internal: true });
  record('v6only', { subnet: 'fd00:80::/64', gateway: 'fd00:80::1' });
  record('lost', { subnet: '10.81.0.0/24', gateway: '10.81.0.1', netns: '/nonexistent/netns' });
  record('half', { state: 'creating' });
});
test.after.always(() => removeDir(dir));

const base = (extra = {}) => ({ id: 'c1', rootfs, stateRoot, process: { args: ['/bin/true'] }, ...extra });
const normalize = (cfg, caller = fakeCaller()) => normalizeConfig(cfg, host, caller);

async function refused(t, cfg, field, pattern, caller) {
  const e = await t.throwsAsync(normalize(cfg, caller), { instanceOf: ConfigError });
  t.is(e.field, field, e.message);
  if (pattern) t.regex(e.message, pattern);
  return e;
}

test('one network: eth0, a host interface of 15 bytes at most, names files, nothing without a network', async (t) => {
  const c = await normalize(base({ network: { name: 'web', aliases: ['api', 'www.example'], ports: [{ hostPort: 8080, containerPort: 80 }, { hostPort: 0, containerPort: 53, protocol: 'udp', hostIp: '127.0.0.1' }] } }));
  t.deepEqual(c.network, [
    {
      name: 'web',
      field: 'network',
      interface: 'eth0',
      hostInterface: hostInterfaceName('c1', 'web'),
      aliases: ['api', 'www.example'],
      ports: [
        { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
        { hostPort: 0, containerPort: 53, protocol: 'udp', hostIp: '127.0.0.1' },
      ],
    },
  ]);
  t.regex(c.network[0].hostInterface, /^vb[0-9a-f]{13}$/);
  t.deepEqual(c.names, { hosts: true, hostname: true, resolvConf: true });
  const plain = await normalize(base());
  t.is(plain.network, undefined);
  t.is(plain.names, undefined, 'a container on no network gets no names files (its rootfs says what it says)');
  t.is((await normalize(base({ network: [] }))).network, undefined);
});

test('several networks are eth0, eth1, … in order; fixed addresses, MAC, MTU; dual stack', async (t) => {
  const c = await normalize(base({ network: [{ name: 'web', ip: '10.77.0.9', mac: '02:AA:bb:cc:dd:ee', mtu: 1400 }, { name: 'dual', ip: '10.78.0.5', ip6: 'fd00:78:0::5' }] }));
  t.deepEqual(c.network.map((n) => [n.interface, n.field, n.ip, n.ip6, n.mac, n.mtu]), [
    ['eth0', 'network[0]', '10.77.0.9', undefined, '02:aa:bb:cc:dd:ee', 1400],
    ['eth1', 'network[1]', '10.78.0.5', 'fd00:78::5', undefined, undefined],
  ]);
  t.not(c.network[0].hostInterface, c.network[1].hostInterface);
  t.deepEqual(plannedNetworks(c), c.network.map((n) => ({ name: n.name, interface: n.interface, hostInterface: n.hostInterface })));
  const v6 = await normalize(base({ network: { name: 'v6only', ip: 'fd00:80::7' } }));
  t.is(v6.network[0].ip, 'fd00:80::7', 'an IPv6-only network takes its address in ip');
});

test('refused, naming the field: unknown network, bad addresses, joined twice, MAC, MTU, aliases, ports, unknown fields', async (t) => {
  await refused(t, base({ network: { name: 'nope' } }), 'network.name', /no network "nope"/);
  await refused(t, base({ network: { name: 'half' } }), 'network.name', /no network "half"/);
  await refused(t, base({ network: { name: 'lost' } }), 'network.name', /namespace that is gone/);
  await refused(t, base({ network: {} }), 'network.name', /required/);
  await refused(t, base({ network: { name: 'bad name' } }), 'network.name');
  await refused(t, base({ network: 'web' }), 'network', /must be an object/);
  await refused(t, base({ network: [{ name: 'web' }, { name: 'web' }] }), 'network[1].name', /joined twice/);
  await refused(t, base({ network: [{ name: 'web' }, { name: 'dual', ip: '10.77.0.3' }] }), 'network[1].ip', /outside the subnet 10\.78\.0\.0\/24/);
  await refused(t, base({ network: { name: 'web', ip: 'fd00::1' } }), 'network.ip', /IPv6 address; the subnet 10\.77\.0\.0\/24 is IPv4/);
  await refused(t, base({ network: { name: 'web', ip: '10.77.0.1' } }), 'network.ip', /gateway/);
  await refused(t, base({ network: { name: 'web', ip: '10.77.0.255' } }), 'network.ip', /broadcast/);
  await refused(t, base({ network: { name: 'web', ip: '10.77.0' } }), 'network.ip', /not an IP address/);
  await refused(t, base({ network: { name: 'web', ip6: 'fd00::5' } }), 'network.ip6', /no IPv6 subnet/);
  await refused(t, base({ network: { name: 'dual', ip6: 'fd00:99::5' } }), 'network.ip6', /outside/);
  await refused(t, base({ network: { name: 'web', mac: '02:00:00:00:00' } }), 'network.mac', /MAC address/);
  await refused(t, base({ network: { name: 'web', mac: '01:00:5e:00:00:01' } }), 'network.mac', /multicast/);
  await refused(t, base({ network: { name: 'web', mac: '00:00:00:00:00:00' } }), 'network.mac');
  await refused(t, base({ network: { name: 'web', mtu: 67 } }), 'network.mtu');
  await refused(t, base({ network: { name: 'web', mtu: 1500.5 } }), 'network.mtu');
  await refused(t, base({ network: { name: 'web', aliases: 'api' } }), 'network.aliases', /array/);
  await refused(t, base({ network: { name: 'web', aliases: ['ok', 'has space'] } }), 'network.aliases[1]', /not a host name/);
  await refused(t, base({ network: { name: 'web', aliases: ['a#b'] } }), 'network.aliases[0]');
  await refused(t, base({ network: { name: 'web', aliases: ['-x'] } }), 'network.aliases[0]');
  await refused(t, base({ network: { name: 'web', aliases: ['api', 'API'] } }), 'network.aliases[1]', /twice/);
  await refused(t, base({ network: [{ name: 'dual' }, { name: 'web', ports: [{ hostPort: 70000, containerPort: 80 }] }] }), 'network[1].ports[0].hostPort', /0\.\.65535/);
  await refused(t, base({ network: { name: 'web', ports: [{ hostPort: 80, containerPort: 0 }] } }), 'network.ports[0].containerPort');
  await refused(t, base({ network: { name: 'web', ports: [{ hostPort: 80, containerPort: 80, protocol: 'sctp' }] } }), 'network.ports[0].protocol');
  await refused(t, base({ network: { name: 'web', ports: [{ hostPort: 80, containerPort: 80 }, { hostPort: 80, containerPort: 81 }] } }), 'network.ports[1].hostPort', /twice/);
  await refused(t, base({ network: { name: 'web', ports: [{ hostPort: 80, containerPort: 80, hostIp: 'fd00::1' }] } }), 'network.ports[0].hostIp', /no IPv6 address/);
  await refused(t, base({ network: { name: 'web', ports: [{ hostPort: 80, containerPort: 80, extra: 1 }] } }), 'network.ports[0].extra');
  await refused(t, base({ network: { name: 'sealed', ports: [{ hostPort: 80, containerPort: 80 }] } }), 'network.ports', /internal/);
  await refused(t, base({ network: { name: 'web', gateway: '10.77.0.1' } }), 'network.gateway', /unknown field/);
  t.truthy(await normalize(base({ network: { name: 'sealed', ports: [] } })), 'an internal network without ports is fine');
});

test('refused: a container without a network namespace of its own, a caller that is not root, dns without a network', async (t) => {
  await refused(t, base({ network: { name: 'web' }, linux: { namespaces: [{ type: 'mount' }, { type: 'pid' }] } }), 'network', /network namespace of its own/);
  await refused(t, base({ network: { name: 'web' }, linux: { namespaces: [{ type: 'mount' }, { type: 'network', path: '/proc/self/ns/net' }] } }), 'network', /without a path/);
  await refused(t, base({ network: { name: 'web' } }), 'network', /need root.*mode: "pasta"/, fakeCaller({ euid: 1000, egid: 1000 }));
  await refused(t, base({ dns: { nameservers: ['1.1.1.1'] } }), 'dns', /joins a network/);
  const joined = { linux: { namespaces: [{ type: 'mount' }, { type: 'network' }, { type: 'user', path: '/proc/self/ns/user' }] } };
  await refused(t, base({ network: { name: 'web' }, ...joined }), 'network', /joined by path/);
});

test('dns: nameservers, search and options checked; names files skipped where the caller mounts its own', async (t) => {
  const c = await normalize(base({ network: { name: 'web' }, dns: { nameservers: ['10.0.0.53', 'fd00::0:53'], search: ['corp.example'], options: ['ndots:2', 'edns0'] } }));
  t.deepEqual(c.names.dns, { nameservers: ['10.0.0.53', 'fd00::53'], search: ['corp.example'], options: ['ndots:2', 'edns0'] });
  await refused(t, base({ network: { name: 'web' }, dns: { nameservers: ['dns.example'] } }), 'dns.nameservers[0]');
  await refused(t, base({ network: { name: 'web' }, dns: { search: ['a b'] } }), 'dns.search[0]');
  await refused(t, base({ network: { name: 'web' }, dns: { options: ['nd ots'] } }), 'dns.options[0]');
  await refused(t, base({ network: { name: 'web' }, dns: { servers: [] } }), 'dns.servers');
  fs.writeFileSync(path.join(dir, 'my-hosts'), '');
  const own = await normalize(base({ network: { name: 'web' }, mounts: [{ destination: '/etc/hosts', type: 'bind', source: path.join(dir, 'my-hosts'), options: ['rbind'] }] }));
  t.deepEqual(own.names, { hosts: false, hostname: true, resolvConf: true });
  const noUts = await normalize(base({ network: { name: 'web' }, linux: { namespaces: [{ type: 'mount' }, { type: 'network' }, { type: 'pid' }] } }));
  t.false(noUts.names.hostname, 'no hostname of its own: no /etc/hostname');
});

test('normalizeNetwork directly: the checks are pure given the records', (t) => {
  const ctx = { id: 'x', stateRoot, ownNetworkNs: true, euid: 0, hostname: 'x', mountDestinations: [] };
  t.deepEqual(normalizeNetwork({}, ctx), {});
  t.is(normalizeNetwork({ network: [{ name: 'web' }, { name: 'dual' }] }, ctx).network[1].interface, 'eth1');
  t.is(readNetwork('half', { stateRoot }), undefined, 'a network being made is not there');
  t.is(readNetwork('web', { stateRoot }).bridge, 'br-web');
  t.false('containers' in readNetwork('web', { stateRoot }), 'no lease walk');
});

test('host interface names: vb + 13 hex digits, stable, distinct per container and per network', (t) => {
  const a = hostInterfaceName('c1', 'web');
  t.is(a, hostInterfaceName('c1', 'web'));
  t.is(Buffer.byteLength(a), 15);
  t.not(a, hostInterfaceName('c2', 'web'));
  t.not(a, hostInterfaceName('c1', 'web2'));
  t.not(hostInterfaceName('a', 'bc'), hostInterfaceName('ab', 'c'), 'the parts are separated');
  t.is(hostNameProblem('db.internal'), undefined);
  t.truthy(hostNameProblem(''));
  t.truthy(hostNameProblem('x'.repeat(64)));
});

test("/etc/hosts: a network's file edited per member (its lines replaced, a re-leased address's stale line dropped); a several-network container's composed, its own lines first", (t) => {
  let text = renderHosts();
  t.is(text.split('\n')[0], '127.0.0.1\tlocalhost');
  t.is(text.split('\n')[1], '::1\tlocalhost ip6-localhost ip6-loopback');
  text = editHosts(text, 'c1', [{ address: '10.77.0.2', names: ['c1-host', 'c1', 'api'] }]);
  text = editHosts(text, 'c2', [{ address: '10.77.0.3', names: ['c2-host', 'c2'] }]);
  t.true(text.includes('10.77.0.2\tc1-host c1 api\t# c1\n'));
  t.true(text.includes('10.77.0.3\tc2-host c2\t# c2\n'));
  t.deepEqual(parseMemberLine('10.77.0.3\tc2-host c2\t# c2'), { id: 'c2', address: '10.77.0.3' });
  t.is(parseMemberLine('127.0.0.1\tlocalhost'), undefined);
  const again = editHosts(text, 'c1', [{ address: '10.77.0.9', names: ['c1-host', 'c1'] }]);
  t.false(again.includes('10.77.0.2'), "c1's old line went");
  t.true(again.includes('10.77.0.9\tc1-host c1\t# c1'));
  const stale = editHosts(text, 'c3', [{ address: '10.77.0.3', names: ['c3'] }]);
  t.false(stale.includes('# c2'), 'a dead member whose address was leased again loses its line');
  t.is(editHosts(editHosts(text, 'c1', []), 'c2', []), renderHosts(), 'leaving takes exactly its lines');
  t.is(renderHosts().match(/localhost/g).length, 3, 'the localhost lines once, however often edited');
  t.is(editHosts(text, 'c1', []).match(/^127\.0\.0\.1/gm).length, 1);
  const other = editHosts(renderHosts(), 'c1', [{ address: '10.78.0.5', names: ['c1-host', 'c1', 'db'] }]);
  const composed = composeHosts('c1', [text, other]).split('\n');
  t.is(composed[6], '10.77.0.2\tc1-host c1 api\t# c1', 'its own lines first');
  t.is(composed[7], '10.78.0.5\tc1-host c1 db\t# c1');
  t.is(composed[8], '10.77.0.3\tc2-host c2\t# c2');
  t.is(renderHostname('c1'), 'c1\n');
});

test("/etc/resolv.conf: the host's without loopback nameservers; Docker's fallback; dns replaces", (t) => {
  const hostText = '# generated\nnameserver 127.0.0.53\nnameserver ::1\nnameserver 10.255.255.53\nsearch a.example b.example\noptions edns0 trust-ad\nsortlist 10.0.0.0\n';
  t.is(renderResolvConf(hostText), 'nameserver 10.255.255.53\nsearch a.example b.example\noptions edns0 trust-ad\nsortlist 10.0.0.0\n');
  t.is(renderResolvConf('nameserver 127.0.0.53\nsearch x\n'), 'nameserver 8.8.8.8\nnameserver 8.8.4.4\nsearch x\n', 'only a stub resolver: the fallback');
  t.is(renderResolvConf(''), 'nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
  t.is(renderResolvConf('domain old\nsearch new\n'), 'nameserver 8.8.8.8\nnameserver 8.8.4.4\nsearch new\n', 'the last of search/domain wins');
  t.is(renderResolvConf(hostText, { nameservers: ['10.0.0.53'], search: [], options: ['ndots:1'] }), 'nameserver 10.0.0.53\nsearch a.example b.example\noptions ndots:1\nsortlist 10.0.0.0\n');
});

test('writeInPlace keeps the inode (what a bind mount pins), shrinks and grows; a missing file is false', (t) => {
  const f = path.join(dir, 'hosts');
  fs.writeFileSync(f, 'a long first version of the file\n');
  const ino = fs.statSync(f).ino;
  t.true(writeInPlace(f, 'short\n'));
  t.is(fs.readFileSync(f, 'utf8'), 'short\n');
  t.true(writeInPlace(f, 'x'.repeat(10000)));
  t.is(fs.readFileSync(f, 'utf8').length, 10000);
  t.is(fs.statSync(f).ino, ino);
  t.false(writeInPlace(path.join(dir, 'nope'), 'x'));
});

test('container.networks from the record: planned entries show empty until made', (t) => {
  t.deepEqual(networksOf(undefined), []);
  t.deepEqual(networksOf([{ name: 'web', interface: 'eth0', hostInterface: 'vb0' }]), [{ name: 'web', interface: 'eth0', hostInterface: 'vb0', addresses: [], mac: '', ports: [] }]);
});

test('user-mode networking (mode pasta): a rootless caller\'s, alone; ports checked; names files; root, a second network and bad fields refused naming the field', (t) => {
  const ctx = { id: 'x', stateRoot, ownNetworkNs: true, euid: 1000, hostname: 'x', mountDestinations: [] };
  const r = normalizeNetwork({ network: { mode: 'pasta', ports: [{ hostPort: 0, containerPort: 80 }, { hostPort: 5353, containerPort: 53, protocol: 'udp', hostIp: '127.0.0.1' }] } }, ctx);
  t.is(r.network, undefined);
  t.deepEqual(r.userNetwork, {
    mode: 'pasta',
    field: 'network',
    hostLoopback: false,
    ports: [
      { hostPort: 0, containerPort: 80, protocol: 'tcp' },
      { hostPort: 5353, containerPort: 53, protocol: 'udp', hostIp: '127.0.0.1' },
    ],
  });
  t.deepEqual(r.names, { hosts: true, hostname: true, resolvConf: true });
  t.true(normalizeNetwork({ network: [{ mode: 'pasta', hostLoopback: true }] }, ctx).userNetwork.hostLoopback);
  const field = (cfg, c = ctx) => t.throws(() => normalizeNetwork(cfg, c), { instanceOf: ConfigError }).field;
  t.is(field({ network: { mode: 'pasta' } }, { ...ctx, euid: 0 }), 'network.mode');
  t.is(field({ network: { mode: 'slirp' } }), 'network.mode');
  t.is(field({ network: [{ mode: 'pasta' }, { name: 'web' }] }), 'network[1]');
  t.is(field({ network: [{ name: 'web' }, { mode: 'pasta' }] }), 'network[0]');
  t.is(field({ network: { mode: 'pasta', ip: '10.0.0.2' } }), 'network.ip');
  t.is(field({ network: { mode: 'pasta', ports: [{ hostPort: 70000, containerPort: 80 }] } }), 'network.ports[0].hostPort');
  t.is(field({ network: { mode: 'pasta', ports: [{ hostPort: 8080, containerPort: 0 }] } }), 'network.ports[0].containerPort');
  t.is(field({ network: { mode: 'pasta', ports: [{ hostPort: 8080, containerPort: 80, protocol: 'sctp' }] } }), 'network.ports[0].protocol');
  t.is(field({ network: { mode: 'pasta', ports: [{ hostPort: 8080, containerPort: 80 }, { hostPort: 8080, containerPort: 81 }] } }), 'network.ports[1].hostPort');
  t.is(field({ network: { mode: 'pasta', hostLoopback: 'yes' } }), 'network.hostLoopback');
  t.is(field({ network: { mode: 'pasta' } }, { ...ctx, ownNetworkNs: false }), 'network');
});

test('pasta\'s command line: forwards as [ADDR/]PORT:TARGET, none when there are none, no container-to-host forwards, the gateway mapping only with hostLoopback, the user namespace joined when the container has one', async (t) => {
  const { pastaArgs } = await import('../../dist/lib/container/user-network.js');
  const args = pastaArgs({ pid: 42, ownUserns: true, pidFile: '/s/pasta.pid', hostLoopback: false, ports: [{ hostPort: 0, bound: 40000, containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1' }] });
  t.deepEqual(args, ['--config-net', '--quiet', '-T', 'none', '-U', 'none', '-t', '127.0.0.1/40000:80', '-u', 'none', '--no-map-gw', '--pid', '/s/pasta.pid', '--userns', '/proc/42/ns/user', '--netns', '/proc/42/ns/net']);
  const open = pastaArgs({ pid: 7, ownUserns: false, pidFile: '/p', hostLoopback: true, ports: [{ hostPort: 53, bound: 53, containerPort: 53, protocol: 'udp' }] });
  t.deepEqual(open, ['--config-net', '--quiet', '-T', 'none', '-U', 'none', '-t', 'none', '-u', '53:53', '--pid', '/p', '--netns', '/proc/7/ns/net']);
});
