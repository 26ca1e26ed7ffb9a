// The pure parts of networks and their NAT, root-free: createNetwork's option
// checks (each refusal a ConfigError naming its field, before anything
// exists), bridge names (valid, at most 15 bytes, distinct per attempt),
// subnet overlap, the nft text of the table, a network's rules and a port
// mapping's map elements, port-mapping checks, the table's listing read back,
// and which commands remove a network (or the whole table with the last one).
import test from 'ava';
import { ConfigError } from '../../dist/lib/errors.js';
import {
  belongsTo,
  networkCommands,
  ownerKey,
  parsePortComment,
  parseTable,
  portCommands,
  portComment,
  portsClash,
  removalCommands,
  resolvePortRules,
  tableCommands,
  unportCommands,
} from '../../dist/lib/network/nat.js';
import { bridgeName, checkNetworkOptions, networkNameProblem, subnetOverlap } from '../../dist/lib/network/networks.js';
import { interfaceNameProblem } from '../../dist/lib/network/rtnetlink.js';
import { formatAddress, formatSubnet, parseSubnet } from '../../dist/lib/network/subnet.js';

const refused = (t, fn, field, pattern) => {
  const e = t.throws(fn, { instanceOf: ConfigError });
  t.is(e.field, field, e.message);
  t.is(e.code, 'INVALID_CONFIG');
  if (pattern) t.regex(e.message, pattern);
  return e;
};

test('createNetwork options: defaults resolved, and every bad field refused by name', (t) => {
  const s = checkNetworkOptions({ name: 'web', subnet: '10.88.0.0/16', stateRoot: '/run/x' });
  t.is(formatSubnet(s.subnet), '10.88.0.0/16');
  t.is(formatAddress(s.gateway), '10.88.0.1', "the subnet's first host address");
  t.false(s.internal);
  t.is(s.netns, undefined);
  t.is(s.stateRoot, '/run/x');
  const d = checkNetworkOptions({ name: 'd', subnet: '10.89.0.0/24', gateway: '10.89.0.254', ipv6: { subnet: 'fd00:89::/64', gateway: 'fd00:89::fe' }, internal: true, netns: '/run/netns/x' });
  t.is(formatAddress(d.gateway), '10.89.0.254');
  t.is(formatSubnet(d.ipv6.subnet), 'fd00:89::/64');
  t.is(formatAddress(d.ipv6.gateway), 'fd00:89::fe');
  t.true(d.internal);
  t.is(d.netns, '/run/netns/x');
  t.is(formatAddress(checkNetworkOptions({ name: 'e', subnet: '10.90.0.0/24', ipv6: 'fd00:90::/64' }).ipv6.gateway), 'fd00:90::1');
  t.is(checkNetworkOptions({ name: 'v6', subnet: 'fd00:91::/64' }).subnet.family, 6, 'an IPv6-only network');

  refused(t, () => checkNetworkOptions('web'), '$');
  refused(t, () => checkNetworkOptions({ subnet: '10.0.0.0/24' }), 'name');
  refused(t, () => checkNetworkOptions({ name: '', subnet: '10.0.0.0/24' }), 'name');
  refused(t, () => checkNetworkOptions({ name: '-x', subnet: '10.0.0.0/24' }), 'name', /starting with a letter or digit/);
  refused(t, () => checkNetworkOptions({ name: 'a/b', subnet: '10.0.0.0/24' }), 'name');
  refused(t, () => checkNetworkOptions({ name: '..', subnet: '10.0.0.0/24' }), 'name');
  refused(t, () => checkNetworkOptions({ name: 'x'.repeat(65), subnet: '10.0.0.0/24' }), 'name');
  refused(t, () => checkNetworkOptions({ name: 'n' }), 'subnet', /required/);
  refused(t, () => checkNetworkOptions({ name: 'n', subnet: '10.0.0.0' }), 'subnet', /no prefix length/);
  refused(t, () => checkNetworkOptions({ name: 'n', subnet: '10.0.0.1/24' }), 'subnet', /host bits set: the subnet is 10\.0\.0\.0\/24/);
  refused(t, () => checkNetworkOptions({ name: 'n', subnet: '10.0.0.0/31' }), 'subnet', /too small/);
  refused(t, () => checkNetworkOptions({ name: 'n', subnet: '10.0.0.0/33' }), 'subnet');
  refused(t, () => checkNetworkOptions({ name: 'n', subnet: 'fd00::/127' }), 'subnet', /too small/);
  refused(t, () => checkNetworkOptions({ name: 'n', subnet: '10.0.0.0/24', gateway: '10.0.1.1' }), 'gateway', /outside the subnet/);
  refused(t, () => checkNetworkOptions({ name: 'n', subnet: '10.0.0.0/24', gateway: '10.0.0.0' }), 'gateway', /network address/);
  refused(t, () => checkNetworkOptions({ name: 'n', subnet: '10.0.0.0/24', gateway: '10.0.0.255' }), 'gateway', /broadcast/);
  refused(t, () => checkNetworkOptions({ name: 'n', subnet: '10.0.0.0/24', gateway: 'fd00::1' }), 'gateway');
  refused(t, () => checkNetworkOptions({ name: 'n', subnet: '10.0.0.0/24', ipv6: '10.1.0.0/24' }), 'ipv6', /not an IPv6 subnet/);
  refused(t, () => checkNetworkOptions({ name: 'n', subnet: '10.0.0.0/24', ipv6: { subnet: 'fd00::/64', gateway: 'fd01::1' } }), 'ipv6.gateway', /outside/);
  refused(t, () => checkNetworkOptions({ name: 'n', subnet: '10.0.0.0/24', ipv6: { subnet: 'fd00::/64', mtu: 1 } }), 'ipv6.mtu');
  refused(t, () => checkNetworkOptions({ name: 'n', subnet: 'fd00::/64', ipv6: 'fd01::/64' }), 'ipv6', /IPv6 already/);
  refused(t, () => checkNetworkOptions({ name: 'n', subnet: '10.0.0.0/24', internal: 'yes' }), 'internal');
  refused(t, () => checkNetworkOptions({ name: 'n', subnet: '10.0.0.0/24', netns: 'relative/x' }), 'netns');
  refused(t, () => checkNetworkOptions({ name: 'n', subnet: '10.0.0.0/24', stateRoot: 'rel' }), 'stateRoot');
  refused(t, () => checkNetworkOptions({ name: 'n', subnet: '10.0.0.0/24', driver: 'macvlan' }), 'driver');
  t.is(networkNameProblem('ok.name_1-2'), undefined);
});

test('bridge names: br-<name> when it fits, else a hashed form; always a valid interface name of at most 15 bytes, distinct per attempt', (t) => {
  t.is(bridgeName('web'), 'br-web');
  t.is(bridgeName('twelve-chars'), 'br-twelve-chars');
  t.regex(bridgeName('thirteen-char'), /^br-thirte-[0-9a-f]{5}$/);
  for (const name of ['a', 'web', 'x'.repeat(64), 'dots.and_under-scores', '0', 'twelve-chars']) {
    const seen = new Set();
    for (let i = 0; i < 20; i++) {
      const b = bridgeName(name, i);
      t.is(interfaceNameProblem(b), undefined, b);
      t.true(Buffer.byteLength(b) <= 15, b);
      seen.add(b);
    }
    t.is(seen.size, 20, `20 attempts, 20 names for ${name}`);
  }
  t.is(bridgeName('x'.repeat(64), 3), bridgeName('x'.repeat(64), 3), 'stable');
  t.not(bridgeName('long-name-one'), bridgeName('long-name-two'));
});

test('subnet overlap, per family, naming the two subnets', (t) => {
  const s = (x) => parseSubnet(x, 'subnet');
  t.deepEqual(subnetOverlap({ subnet: s('10.88.0.0/16') }, { subnet: s('10.88.3.0/24') }), ['10.88.0.0/16', '10.88.3.0/24']);
  t.is(subnetOverlap({ subnet: s('10.88.0.0/16') }, { subnet: s('10.89.0.0/16') }), undefined);
  t.is(subnetOverlap({ subnet: s('10.88.0.0/16') }, { subnet: s('fd00::/8') }), undefined, 'families never overlap');
  t.deepEqual(subnetOverlap({ subnet: s('10.1.0.0/24'), ipv6: { subnet: s('fd00:1::/64') } }, { subnet: s('10.2.0.0/24'), ipv6: { subnet: s('fd00::/16') } }), ['fd00:1::/64', 'fd00::/16']);
  t.deepEqual(subnetOverlap({ subnet: s('fd00:5::/64') }, { subnet: s('10.2.0.0/24'), ipv6: { subnet: s('fd00:5::/80') } }), ['fd00:5::/64', 'fd00:5::/80']);
});

test("the table's commands: inet berth, six chains at the documented hooks, the port maps, jumps to ports only for local destinations", (t) => {
  const c = tableCommands();
  t.is(c[0], 'add table inet berth');
  t.true(c.includes('add chain inet berth forward { type filter hook forward priority filter; policy accept; }'));
  t.true(c.includes('add chain inet berth guard { type filter hook prerouting priority raw; policy accept; }'));
  t.true(c.includes('add chain inet berth prerouting { type nat hook prerouting priority dstnat; policy accept; }'));
  t.true(c.includes('add chain inet berth output { type nat hook output priority -100; policy accept; }'));
  t.true(c.includes('add chain inet berth postrouting { type nat hook postrouting priority srcnat; policy accept; }'));
  t.true(c.includes('add chain inet berth ports'));
  t.true(c.includes('add set inet berth taken4 { type inet_proto . inet_service; }'));
  t.true(c.includes('add map inet berth ports4 { type inet_proto . inet_service : ipv4_addr . inet_service; }'));
  t.true(c.includes('add map inet berth ports6h { type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service; }'));
  t.true(c.includes('add rule inet berth ports dnat ip to ip daddr . meta l4proto . th dport map @ports4h comment "berth base"'));
  t.true(c.includes('add rule inet berth ports meta nfproto ipv6 dnat ip6 to meta l4proto . th dport map @ports6 comment "berth base"'));
  t.is(c.filter((x) => x.endsWith('fib daddr type local jump ports comment "berth base"')).length, 2);
  t.true(c.every((x) => /^add (table|chain|set|map|rule) inet berth( |$)/.test(x)), "only berth's table is ever named");
});

test("a network's rules: masquerade of its subnets, hairpin and loopback, the 127/8 guard, forward policy; internal: nothing leaves", (t) => {
  const open = networkCommands({ bridge: 'br-web', subnets: [parseSubnet('10.88.0.0/16', 's'), parseSubnet('fd00:88::/64', 's')], internal: false });
  t.deepEqual(open, [
    'add rule inet berth forward oifname "br-web" ct state established,related accept comment "berth net br-web"',
    'add rule inet berth forward oifname "br-web" iifname "br-web" accept comment "berth net br-web"',
    'add rule inet berth forward oifname "br-web" ct status dnat accept comment "berth net br-web"',
    'add rule inet berth forward oifname "br-web" drop comment "berth net br-web"',
    'add rule inet berth forward iifname "br-web" accept comment "berth net br-web"',
    'add rule inet berth guard iifname "br-web" ip daddr 127.0.0.0/8 drop comment "berth net br-web"',
    'add rule inet berth postrouting oifname != "br-web" ip saddr 10.88.0.0/16 masquerade comment "berth net br-web"',
    'add rule inet berth postrouting oifname != "br-web" ip6 saddr fd00:88::/64 masquerade comment "berth net br-web"',
    'add rule inet berth postrouting oifname "br-web" ip saddr 10.88.0.0/16 ct status dnat masquerade comment "berth net br-web"',
    'add rule inet berth postrouting oifname "br-web" ip6 saddr fd00:88::/64 ct status dnat masquerade comment "berth net br-web"',
    'add rule inet berth postrouting oifname "br-web" ip saddr 127.0.0.0/8 masquerade comment "berth net br-web"',
  ]);
  const sealed = networkCommands({ bridge: 'br-in', subnets: [parseSubnet('10.9.0.0/24', 's')], internal: true });
  t.true(sealed.includes('add rule inet berth forward iifname "br-in" drop comment "berth net br-in"'));
  t.false(sealed.some((c) => c.includes('masquerade')), 'no NAT for an internal network');
  const v6only = networkCommands({ bridge: 'br-6', subnets: [parseSubnet('fd00:6::/64', 's')], internal: false });
  t.false(v6only.some((c) => c.includes('127.0.0.0/8')), 'no IPv4 loopback rules on an IPv6-only network');
  t.true(open.every((c) => belongsTo(/comment "([^"]+)"$/.exec(c)[1], 'br-web')));
  t.false(belongsTo('berth net br-web2', 'br-web'));
  t.false(belongsTo('berth base', 'br-web'));
  t.throws(() => networkCommands({ bridge: 'br-"; flush ruleset', subnets: [], internal: true }), { message: /refusing to quote/ });
});

test('port mappings: checked, resolved per family, two map elements each (the host port taken, the DNAT entry)', (t) => {
  const addrs = { ipv4: '10.88.0.2', ipv6: 'fd00:88::2' };
  const rules = resolvePortRules(
    [
      { hostPort: 8080, containerPort: 80 },
      { hostPort: 5353, containerPort: 53, protocol: 'udp', hostIp: '127.0.0.1' },
      { hostPort: 0, containerPort: 22, hostIp: 'fd00:1::5' },
      { hostPort: 9000, containerPort: 90, hostIp: '0.0.0.0' },
    ],
    addrs,
  );
  t.deepEqual(rules, [
    { protocol: 'tcp', family: 4, hostPort: 8080, containerIp: '10.88.0.2', containerPort: 80, mapping: 0 },
    { protocol: 'tcp', family: 6, hostPort: 8080, containerIp: 'fd00:88::2', containerPort: 80, mapping: 0 },
    { protocol: 'udp', family: 4, hostIp: '127.0.0.1', hostPort: 5353, containerIp: '10.88.0.2', containerPort: 53, mapping: 1 },
    { protocol: 'tcp', family: 6, hostIp: 'fd00:1::5', hostPort: 0, containerIp: 'fd00:88::2', containerPort: 22, mapping: 2 },
    { protocol: 'tcp', family: 4, hostPort: 9000, containerIp: '10.88.0.2', containerPort: 90, mapping: 3 },
  ]);
  const owner = ownerKey('my-container');
  t.regex(owner, /^[0-9a-f]{16}$/);
  t.not(ownerKey('my-container2'), owner);
  const c = `"berth br-web ${owner}"`;
  t.deepEqual(portCommands('br-web', owner, [rules[0], rules[1], rules[2]]), [
    `create element inet berth taken4 { tcp . 8080 comment ${c} }`,
    `add element inet berth ports4 { tcp . 8080 comment ${c} : 10.88.0.2 . 80 }`,
    `create element inet berth taken6 { tcp . 8080 comment ${c} }`,
    `add element inet berth ports6 { tcp . 8080 comment ${c} : fd00:88::2 . 80 }`,
    `create element inet berth taken4 { udp . 5353 comment ${c} }`,
    `add element inet berth ports4h { 127.0.0.1 . udp . 5353 comment ${c} : 10.88.0.2 . 53 }`,
  ]);
  t.deepEqual(unportCommands([rules[2]]), ['delete element inet berth taken4 { udp . 5353 }', 'delete element inet berth ports4h { 127.0.0.1 . udp . 5353 }']);
  t.is(portComment('br-web', owner), `berth br-web ${owner}`);
  t.deepEqual(parsePortComment(`berth br-0123456789ab ${owner}`), { bridge: 'br-0123456789ab', owner });
  t.is(parsePortComment('berth net br-web'), undefined);
  t.is(parsePortComment(undefined), undefined);

  t.true(portsClash({ protocol: 'tcp', family: 4, hostPort: 80 }, { protocol: 'tcp', family: 4, hostIp: '127.0.0.1', hostPort: 80 }), 'a host port is one mapping, whatever its address');
  t.false(portsClash({ protocol: 'tcp', family: 4, hostPort: 80 }, { protocol: 'udp', family: 4, hostPort: 80 }));
  t.false(portsClash({ protocol: 'tcp', family: 4, hostPort: 80 }, { protocol: 'tcp', family: 6, hostPort: 80 }));

  refused(t, () => resolvePortRules({ hostPort: 1 }, addrs), 'ports');
  refused(t, () => resolvePortRules([null], addrs), 'ports[0]');
  refused(t, () => resolvePortRules([{ hostPort: 65536, containerPort: 1 }], addrs), 'ports[0].hostPort');
  refused(t, () => resolvePortRules([{ hostPort: 1, containerPort: 0 }], addrs), 'ports[0].containerPort');
  refused(t, () => resolvePortRules([{ hostPort: 1.5, containerPort: 1 }], addrs), 'ports[0].hostPort');
  refused(t, () => resolvePortRules([{ hostPort: '80', containerPort: 1 }], addrs), 'ports[0].hostPort');
  refused(t, () => resolvePortRules([{ hostPort: 1, containerPort: 1, protocol: 'sctp' }], addrs), 'ports[0].protocol');
  refused(t, () => resolvePortRules([{ hostPort: 1, containerPort: 1, hostIp: 'localhost' }], addrs), 'ports[0].hostIp');
  refused(t, () => resolvePortRules([{ hostPort: 1, containerPort: 1, hostPortt: 2 }], addrs), 'ports[0].hostPortt');
  refused(t, () => resolvePortRules([{ hostPort: 1, containerPort: 1, hostIp: 'fd00::9' }], { ipv4: '10.0.0.2' }), 'ports[0].hostIp', /no IPv6 address/);
  refused(t, () => resolvePortRules([{ hostPort: 1, containerPort: 1 }], {}), 'ports[0]');
  refused(t, () => resolvePortRules([{ hostPort: 1, containerPort: 1, hostIp: '::1' }], addrs), 'ports[0].hostIp', /IPv6 loopback/);
  refused(t, () => resolvePortRules([{ hostPort: 80, containerPort: 1 }, { hostPort: 80, containerPort: 2, hostIp: '127.0.0.1' }], addrs), 'ports[1].hostPort', /mapped twice/);
  t.is(resolvePortRules([{ hostPort: 0, containerPort: 1 }, { hostPort: 0, containerPort: 2 }], { ipv4: '10.0.0.2' }).length, 2, 'two "any port" mappings do not clash');
  t.is(resolvePortRules([{ hostPort: 80, containerPort: 1, protocol: 'udp' }, { hostPort: 80, containerPort: 1 }], { ipv4: '10.0.0.2' }).length, 2);
});

test("the table read back, and removal: exactly a network's rules by handle, or the whole table when no other berth rule would be left", (t) => {
  const o = 'a'.repeat(16);
  const json = JSON.stringify({
    nftables: [
      { metainfo: { version: '1.0.6' } },
      { table: { family: 'inet', name: 'berth', handle: 1 } },
      { map: { family: 'inet', name: 'ports4', table: 'berth', type: ['inet_proto', 'inet_service'], map: 'ipv4_addr . inet_service', elem: [[{ elem: { val: { concat: ['tcp', 8080] }, comment: `berth br-a ${o}` } }, { concat: ['10.88.0.2', 80] }]] } },
      { map: { family: 'inet', name: 'ports4h', table: 'berth', type: ['ipv4_addr', 'inet_proto', 'inet_service'], map: 'ipv4_addr . inet_service', elem: [[{ elem: { val: { concat: ['127.0.0.1', 'udp', 53] }, comment: `berth br-b ${o}` } }, { concat: ['10.89.0.2', 53] }]] } },
      { map: { family: 'inet', name: 'ports6', table: 'berth', type: ['inet_proto', 'inet_service'], map: 'ipv6_addr . inet_service', elem: [[{ concat: ['tcp', 22] }, { concat: ['fd00::2', 22] }]] } },
      { map: { family: 'inet', name: 'ports6h', table: 'berth', elem: [] } },
      { rule: { family: 'inet', table: 'berth', chain: 'prerouting', handle: 7, comment: 'berth base', expr: [] } },
      { rule: { family: 'inet', table: 'berth', chain: 'output', handle: 8, comment: 'berth base', expr: [] } },
      { rule: { family: 'inet', table: 'berth', chain: 'forward', handle: 9, comment: 'berth net br-a', expr: [] } },
      { rule: { family: 'inet', table: 'berth', chain: 'postrouting', handle: 10, comment: 'berth net br-a', expr: [] } },
      { rule: { family: 'inet', table: 'berth', chain: 'forward', handle: 11, comment: 'berth net br-b', expr: [] } },
      { rule: { family: 'ip', table: 'berth', chain: 'forward', handle: 13, comment: 'berth net br-a', expr: [] } },
    ],
  });
  const { rules, ports } = parseTable(json);
  t.is(rules.length, 5, "another family's table of the same name is not ours");
  t.deepEqual(ports, [
    { protocol: 'tcp', family: 4, hostPort: 8080, containerIp: '10.88.0.2', containerPort: 80, bridge: 'br-a', owner: o },
    { protocol: 'udp', family: 4, hostIp: '127.0.0.1', hostPort: 53, containerIp: '10.89.0.2', containerPort: 53, bridge: 'br-b', owner: o },
    { protocol: 'tcp', family: 6, hostPort: 22, containerIp: 'fd00::2', containerPort: 22 },
  ]);
  t.deepEqual(removalCommands(rules, (r) => belongsTo(r.comment, 'br-a')), ['delete rule inet berth forward handle 9', 'delete rule inet berth postrouting handle 10']);
  const afterA = rules.filter((r) => !belongsTo(r.comment, 'br-a'));
  t.deepEqual(removalCommands(afterA, (r) => belongsTo(r.comment, 'br-b')), ['delete table inet berth'], 'the last network takes the table');
  t.deepEqual(removalCommands(afterA.filter((r) => r.comment === 'berth base'), () => false), ['delete table inet berth'], 'a table with only its base rules is ours to delete');
  const foreign = [...afterA, { chain: 'forward', handle: 40 }];
  t.deepEqual(removalCommands(foreign, (r) => belongsTo(r.comment, 'br-b')), ['delete rule inet berth forward handle 11'], 'a rule berth did not write keeps the table');
  t.deepEqual(parseTable('{"nftables": []}'), { rules: [], ports: [] });
});
