// Addresses and subnets, root-free: strict parsing, canonical formatting
// (RFC 5952), containment and overlap, the host range, the default gateway,
// and every refusal as a ConfigError naming the caller's field.
import test from 'ava';
import { ConfigError } from '../../dist/lib/errors.js';
import {
  addressBytes,
  checkHostAddress,
  checkNetworkSubnet,
  contains,
  defaultGateway,
  firstAddress,
  formatAddress,
  formatSubnet,
  hostCount,
  hostRange,
  lastAddress,
  overlaps,
  parseAddress,
  parseInterfaceAddress,
  parseSubnet,
} from '../../dist/lib/network/subnet.js';

const fmt = (text) => formatAddress(parseAddress(text, 'a'));
const net = (text) => parseSubnet(text, 'subnet');

test('IPv4 addresses: four decimal octets, nothing else', (t) => {
  t.deepEqual(parseAddress('10.88.0.1', 'a'), { family: 4, value: 0x0a580001n });
  t.is(fmt('0.0.0.0'), '0.0.0.0');
  t.is(fmt('255.255.255.255'), '255.255.255.255');
  for (const bad of ['10.88.0', '10.88.0.1.2', '256.0.0.1', '010.0.0.1', '1.2.3.-1', '1.2.3.4 ', '', '0x0a.0.0.1', '1..2.3']) {
    const e = t.throws(() => parseAddress(bad, 'network.ip'), { instanceOf: ConfigError }, bad);
    t.is(e.field, 'network.ip');
    t.is(e.code, 'INVALID_CONFIG');
  }
  t.throws(() => parseAddress(42, 'x'), { instanceOf: ConfigError, message: /must be an IP address string, got number/ });
});

test('IPv6 addresses parse in every spelling and format as RFC 5952 says', (t) => {
  const cases = {
    '2001:DB8:0:0:0:0:2:1': '2001:db8::2:1',
    '2001:db8::1': '2001:db8::1',
    '2001:0db8:0000:0000:0001:0000:0000:0001': '2001:db8::1:0:0:1', // the first of two equal runs
    '2001:db8:0:1:1:1:1:1': '2001:db8:0:1:1:1:1:1', // one zero group is not compressed
    '::': '::',
    '::1': '::1',
    '1::': '1::',
    'fd00:0:0:1::': 'fd00:0:0:1::',
    '1:0:0:2:0:0:0:3': '1:0:0:2::3', // the longest run
    '::ffff:192.0.2.1': '::ffff:192.0.2.1',
    '::ffff:c000:201': '::ffff:192.0.2.1',
    '64:ff9b::192.0.2.33': '64:ff9b::c000:221',
  };
  for (const [input, canonical] of Object.entries(cases)) t.is(fmt(input), canonical, input);
  for (const bad of [':::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '1::2::3', '12345::', 'fe80::1%eth0', ':1::', '1.2.3.4::', '::1.2.3', 'g::1', '1:2:3:4:5:6:7:8::']) {
    t.throws(() => parseAddress(bad, 'a'), { instanceOf: ConfigError }, bad);
  }
  t.throws(() => parseAddress('10.0.0.1', 'gw', 6), { message: /not an IPv6 address/ });
  t.throws(() => parseAddress('::1', 'gw', 4), { message: /not an IPv4 address/ });
});

test('addressBytes: network order, 4 or 16 bytes', (t) => {
  t.deepEqual([...addressBytes(parseAddress('10.88.0.1', 'a'))], [10, 88, 0, 1]);
  const v6 = addressBytes(parseAddress('fd00::1:2', 'a'));
  t.is(v6.length, 16);
  t.deepEqual([...v6], [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2]);
});

test('subnets: host bits set are refused, naming the subnet meant; prefixes in range', (t) => {
  t.deepEqual(net('10.88.0.0/16'), { family: 4, network: 0x0a580000n, prefix: 16 });
  t.is(formatSubnet(net('0.0.0.0/0')), '0.0.0.0/0');
  t.is(formatSubnet(net('FD00:0::/64')), 'fd00::/64');
  t.is(formatSubnet(net('10.0.0.7/32')), '10.0.0.7/32');
  t.throws(() => net('10.88.0.5/16'), { instanceOf: ConfigError, message: /invalid config at subnet: "10.88.0.5\/16" has host bits set: the subnet is 10.88.0.0\/16/ });
  t.throws(() => net('fd00::1/64'), { message: /the subnet is fd00::\/64/ });
  for (const bad of ['10.0.0.0', '10.0.0.0/33', 'fd00::/129', '10.0.0.0/', '10.0.0.0/08', '10.0.0.0/-1', '10.0.0.0/1.5', '/24', 'x/24']) {
    t.throws(() => net(bad), { instanceOf: ConfigError }, bad);
  }
  t.throws(() => net('10.0.0.0'), { message: /has no prefix length/ });
  t.throws(() => parseSubnet(null, 'networks[0].subnet'), { message: /networks\[0\]\.subnet: must be a CIDR string/ });
});

test('an interface address keeps its host bits and knows its subnet', (t) => {
  const { address, subnet } = parseInterfaceAddress('10.88.3.2/16', 'addr');
  t.is(formatAddress(address), '10.88.3.2');
  t.is(formatSubnet(subnet), '10.88.0.0/16');
  t.is(formatSubnet(parseInterfaceAddress('fd00::2/64', 'addr').subnet), 'fd00::/64');
});

test('first, last, the host range and its size', (t) => {
  const s = net('10.88.0.0/24');
  t.is(formatAddress(firstAddress(s)), '10.88.0.0');
  t.is(formatAddress(lastAddress(s)), '10.88.0.255');
  const r = hostRange(s);
  t.is(formatAddress(r.first), '10.88.0.1');
  t.is(formatAddress(r.last), '10.88.0.254', 'IPv4 keeps its broadcast address out');
  t.is(hostCount(s), 254n);
  t.is(hostCount(net('10.0.0.0/30')), 2n);
  t.is(hostCount(net('10.0.0.0/31')), 0n);
  t.is(hostRange(net('10.0.0.0/32')), undefined);
  t.is(hostCount(net('10.0.0.0/8')), 16777214n);
  const v6 = net('fd00::/120');
  t.is(formatAddress(hostRange(v6).last), 'fd00::ff', 'IPv6 has no broadcast address');
  t.is(hostCount(v6), 255n);
  t.is(hostCount(net('fd00::/64')), 2n ** 64n - 1n);
});

test('the default gateway is the first host address', (t) => {
  t.is(formatAddress(defaultGateway(net('172.20.0.0/16'), 'gateway')), '172.20.0.1');
  t.is(formatAddress(defaultGateway(net('fd00:1::/64'), 'gateway')), 'fd00:1::1');
  t.throws(() => defaultGateway(net('10.0.0.0/32'), 'networks[1].gateway'), { instanceOf: ConfigError, message: /networks\[1\]\.gateway: 10.0.0.0\/32 has no host address/ });
});

test('containment and overlap, across families too', (t) => {
  const a = net('10.88.0.0/16');
  t.true(contains(a, parseAddress('10.88.255.255', 'x')));
  t.false(contains(a, parseAddress('10.89.0.0', 'x')));
  t.false(contains(a, parseAddress('::ffff:10.88.0.1', 'x')), 'an IPv6 address is never in an IPv4 subnet');
  t.true(overlaps(a, net('10.88.4.0/24')));
  t.true(overlaps(net('10.88.4.0/24'), a), 'symmetric');
  t.true(overlaps(a, a));
  t.true(overlaps(net('0.0.0.0/0'), net('192.168.1.0/24')));
  t.false(overlaps(a, net('10.89.0.0/16')));
  t.false(overlaps(net('10.0.0.0/25'), net('10.0.0.128/25')));
  t.false(overlaps(net('::/0'), a), 'families never overlap');
  t.true(overlaps(net('fd00::/48'), net('fd00:0:0:ff::/64')));
});

test('a network needs a gateway and a container: /30 is the smallest IPv4 one', (t) => {
  t.notThrows(() => checkNetworkSubnet(net('10.0.0.0/30'), 'subnet'));
  t.notThrows(() => checkNetworkSubnet(net('fd00::/126'), 'subnet'));
  for (const small of ['10.0.0.0/31', '10.0.0.0/32', 'fd00::/127', 'fd00::/128']) {
    t.throws(() => checkNetworkSubnet(net(small), 'subnet'), { instanceOf: ConfigError, message: /is too small/ }, small);
  }
});

test('a container address: refused outside, on the network or broadcast address, on the gateway, of the other family', (t) => {
  const s = net('10.88.0.0/24');
  const gw = parseAddress('10.88.0.1', 'g');
  const check = (ip) => checkHostAddress(s, parseAddress(ip, 'network.ip'), gw, 'network.ip');
  t.notThrows(() => check('10.88.0.2'));
  t.notThrows(() => check('10.88.0.254'));
  const cases = {
    '10.88.1.2': /outside the subnet 10.88.0.0\/24/,
    '10.88.0.0': /the network address of 10.88.0.0\/24/,
    '10.88.0.255': /the broadcast address of 10.88.0.0\/24/,
    '10.88.0.1': /the gateway of 10.88.0.0\/24/,
    'fd00::2': /is an IPv6 address; the subnet 10.88.0.0\/24 is IPv4/,
  };
  for (const [ip, message] of Object.entries(cases)) {
    const e = t.throws(() => check(ip), { instanceOf: ConfigError, message }, ip);
    t.is(e.field, 'network.ip');
  }
  // IPv6: the last address is a host's, the network (subnet-router anycast) address is not.
  const v6 = net('fd00::/120');
  t.notThrows(() => checkHostAddress(v6, parseAddress('fd00::ff', 'x'), undefined, 'ip'));
  t.throws(() => checkHostAddress(v6, parseAddress('fd00::', 'x'), undefined, 'ip'), { message: /network address/ });
});
