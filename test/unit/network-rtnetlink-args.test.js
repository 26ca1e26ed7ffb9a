// What lib/network/rtnetlink.ts checks before the kernel sees a request,
// root-free: interface names (the kernel's dev_valid_name), MAC addresses,
// sysctl keys under net, and refusals that never reach a socket.
import test from 'ava';
import { NetworkError } from '../../dist/lib/network/errors.js';
import { interfaceNameProblem, netSysctlPath, parseMac, writeNetSysctl } from '../../dist/lib/network/rtnetlink.js';

test('interface names: 1-15 bytes, no "/", ":", whitespace, "." or ".."', (t) => {
  for (const ok of ['eth0', 'br-berth0', 'veth1a2b3c4d5e6', 'a', 'eth0.100', 'é1']) t.is(interfaceNameProblem(ok), undefined, ok);
  for (const bad of ['', '.', '..', 'a/b', 'a:b', 'a b', 'a\tb', 'a\0b', 'x'.repeat(16), 'éééééééé', 42, undefined]) {
    t.is(typeof interfaceNameProblem(bad), 'string', String(bad));
  }
  t.regex(interfaceNameProblem('x'.repeat(16)), /longer than 15 bytes/);
});

test('MAC addresses: six hex pairs', (t) => {
  t.deepEqual([...parseMac('02:42:AC:11:00:0f')], [2, 0x42, 0xac, 0x11, 0, 0x0f]);
  for (const bad of ['02:42:ac:11:00', '02-42-ac-11-00-0f', '2:42:ac:11:00:0f', '02:42:ac:11:00:0g', '']) t.is(parseMac(bad), undefined, bad);
});

test('sysctl keys: under net, dotted or slashed (for names with dots), never climbing out', (t) => {
  t.is(netSysctlPath('net.ipv4.ip_forward'), 'ipv4/ip_forward');
  t.is(netSysctlPath('net/ipv4/conf/eth0.100/forwarding'), 'ipv4/conf/eth0.100/forwarding');
  t.is(netSysctlPath('net.ipv6.conf.all.disable_ipv6'), 'ipv6/conf/all/disable_ipv6');
  for (const bad of ['kernel.hostname', 'net', 'net.', 'net..ipv4', 'net/../kernel/hostname', 'net/ipv4/./x', '/net/ipv4/ip_forward', 'ipv4.ip_forward']) {
    t.throws(() => netSysctlPath(bad), { instanceOf: NetworkError, message: /is not a sysctl under net/ }, bad);
  }
  const e = t.throws(() => writeNetSysctl(undefined, 'kernel.hostname', 'x'), { instanceOf: NetworkError });
  t.like(e, { code: 'NETWORK_FAILED', errno: 'EINVAL', step: 'network' });
});
