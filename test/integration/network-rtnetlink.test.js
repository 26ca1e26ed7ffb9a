// rtnetlink from the addon against the real kernel (root), all of it inside
// network namespaces this file makes (`unshare --net sleep infinity`, killed
// by pid): one stands in for the host and holds a bridge, another for a
// container, joined by a veth pair whose container end becomes eth0,
// addressed and routed; a ping crosses it both ways, IPv4 and IPv6. Then the
// kernel's refusals, as NetworkErrors naming errno, message and interface.
// Every namespace is shown gone (a witness veth whose other end lived in it
// disappears), and the real host's `ip -j addr/link/route` and ip_forward are
// byte-identical before and after.
import test from 'ava';
import { execFile, execFileSync, spawnSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { NetworkError } from '../../dist/lib/network/errors.js';
import { Rtnetlink, readNetSysctl, writeNetSysctl } from '../../dist/lib/network/rtnetlink.js';
import { openFds } from './helpers.js';
import { when } from './when.js';
import { endAndWitness, eventually, hostNetwork, inNetns, makeNetns, networkTestsMissing } from './netns.js';

const run = promisify(execFile);

const skip = networkTestsMissing({ tools: ['busybox'] });

const before = skip ? undefined : hostNetwork();
const fdsBefore = openFds();
const inodesMade = [];

when(skip, 'a bridge, a veth pair, eth0 in a second namespace, addresses and default routes: ping crosses both ways (IPv4 and IPv6)', async (t) => {
  const host = await makeNetns(t, inodesMade);
  const ctr = await makeNetns(t, inodesMade);
  const observer = await makeNetns(t, inodesMade);
  const h = Rtnetlink.open(host.path);
  t.teardown(() => h.close());

  t.is(readNetSysctl(host.path, 'net.ipv4.ip_forward'), '0');
  writeNetSysctl(host.path, 'net.ipv4.ip_forward', '1');
  t.is(readNetSysctl(host.path, 'net/ipv4/ip_forward'), '1', 'set inside the stand-in host');
  t.is(fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8'), before.forward, 'and not on the real host');

  h.setUp('lo');
  h.createBridge('br-berth0');
  h.addAddress('br-berth0', '10.201.0.1/24');
  h.addAddress('br-berth0', 'fd42:b3e7:201::1/64', { nodad: true });
  h.setUp('br-berth0');
  h.createVeth('vb-c1', 'vc-c1', { mtu: 1450, peerMtu: 1450 });
  h.setMaster('vb-c1', 'br-berth0');
  h.setHairpin('vb-c1', true);
  h.setUp('vb-c1');
  h.setMac('vc-c1', '02:42:0a:c9:00:02');
  h.moveToNetns('vc-c1', ctr.path, 'eth0');
  t.is(h.findLink('vc-c1'), undefined, 'moved out of the host');
  t.is(h.findLink('eth0'), undefined, 'and renamed only over there');

  const c = Rtnetlink.open(ctr.path);
  t.teardown(() => c.close());
  c.setUp('lo');
  c.addAddress('eth0', '10.201.0.2/24');
  c.addAddress('eth0', 'fd42:b3e7:201::2/64', { nodad: true });
  c.setUp('eth0');
  c.addDefaultRoute('10.201.0.1');
  c.addDefaultRoute('fd42:b3e7:201::1');

  t.like(c.findLink('eth0'), { name: 'eth0', kind: 'veth', mac: '02:42:0a:c9:00:02', mtu: 1450, up: true, masterIndex: 0 });
  const links = h.listLinks();
  const bridge = links.find((l) => l.name === 'br-berth0');
  t.like(bridge, { kind: 'bridge', up: true });
  t.like(links.find((l) => l.name === 'vb-c1'), { kind: 'veth', master: 'br-berth0', masterIndex: bridge.index, mtu: 1450, up: true });
  t.like(h.findLink('vb-c1'), { master: 'br-berth0' });
  t.is(h.linkIndex('br-berth0'), bridge.index);
  t.like(links.find((l) => l.name === 'lo'), { kind: '', index: 1, up: true });

  // What `ip` sees in there (read-only), as a second opinion on the kernel's state.
  const addrs = JSON.parse(await inNetns(ctr, 'ip', '-j', 'addr', 'show', 'dev', 'eth0'))[0].addr_info.map((a) => `${a.local}/${a.prefixlen}`);
  t.true(addrs.includes('10.201.0.2/24') && addrs.includes('fd42:b3e7:201::2/64'), addrs.join(' '));
  const v4 = JSON.parse(await inNetns(ctr, 'ip', '-j', 'addr', 'show', 'dev', 'eth0'))[0].addr_info.find((a) => a.family === 'inet');
  t.is(v4.broadcast, '10.201.0.255');
  t.like(JSON.parse(await inNetns(ctr, 'ip', '-j', 'route', 'show', 'default'))[0], { gateway: '10.201.0.1', dev: 'eth0' });
  t.like(JSON.parse(await inNetns(ctr, 'ip', '-j', '-6', 'route', 'show', 'default'))[0], { gateway: 'fd42:b3e7:201::1', dev: 'eth0' });
  const port = JSON.parse(await inNetns(host, 'ip', '-d', '-j', 'link', 'show', 'dev', 'vb-c1'))[0];
  t.is(port.linkinfo.info_slave_kind, 'bridge');
  t.true(port.linkinfo.info_slave_data.hairpin, 'hairpin on');
  h.setHairpin('vb-c1', false);
  t.false(JSON.parse(await inNetns(host, 'ip', '-d', '-j', 'link', 'show', 'dev', 'vb-c1'))[0].linkinfo.info_slave_data.hairpin);

  t.regex(await inNetns(ctr, 'busybox', 'ping', '-c', '1', '-W', '5', '10.201.0.1'), /1 packets received/);
  t.regex(await inNetns(host, 'busybox', 'ping', '-c', '1', '-W', '5', '10.201.0.2'), /1 packets received/);
  t.regex(await inNetns(ctr, 'busybox', 'ping6', '-c', '1', '-W', '5', 'fd42:b3e7:201::1'), /1 packets received/);

  // Down, and away: deleting the host end takes eth0 with it.
  h.setDown('vb-c1');
  t.false(h.findLink('vb-c1').up);
  h.setMaster('vb-c1', null);
  t.is(h.findLink('vb-c1').masterIndex, 0);
  h.rename('vb-c1', 'vb-renamed');
  t.truthy(h.findLink('vb-renamed'));
  h.deleteLink('vb-renamed');
  t.is(c.findLink('eth0'), undefined, "the veth's peer went with it");
  h.deleteLink('br-berth0');
  t.deepEqual(h.listLinks().map((l) => l.name), ['lo']);

  h.close();
  c.close();
  await endAndWitness(t, observer, [host, ctr]);
});

when(skip, "a veth's peer made straight inside another namespace, by path or by fd", async (t) => {
  const host = await makeNetns(t, inodesMade);
  const ctr = await makeNetns(t, inodesMade);
  const observer = await makeNetns(t, inodesMade);
  const h = Rtnetlink.open(host.path);
  const c = Rtnetlink.open(ctr.path);
  t.teardown(() => (h.close(), c.close()));
  h.createBridge('br-p', { up: true });
  h.createVeth('vb-p1', 'eth0', { peerNetns: ctr.path, peerMac: '02:00:00:00:00:01', master: 'br-p', up: true });
  t.like(h.findLink('vb-p1'), { master: 'br-p', up: true }, 'bridged and up in the creating request');
  t.is(h.findLink('eth0'), undefined, 'the peer never existed in the host');
  t.like(c.findLink('eth0'), { kind: 'veth', mac: '02:00:00:00:00:01' });
  const fd = fs.openSync(ctr.path, 'r');
  try {
    h.createVeth('vb-p2', 'eth1', { peerNetns: fd });
  } finally {
    fs.closeSync(fd);
  }
  t.truthy(c.findLink('eth1'));
  // The kernel's peer index (in the peer's namespace) says which pairs belong together.
  t.is(h.findLink('vb-p1').peerIndex, c.linkIndex('eth0'));
  t.is(c.findLink('eth1').peerIndex, h.linkIndex('vb-p2'));
  c.deleteLink('eth1');
  t.is(h.findLink('vb-p2'), undefined);
  // An on-link route and a metric, in the container.
  c.addAddress('eth0', '10.202.0.2/16');
  c.setUp('eth0');
  c.addRoute({ dst: '10.203.0.0/24', ifname: 'eth0', metric: 50 });
  t.like(JSON.parse(await inNetns(ctr, 'ip', '-j', 'route', 'show', '10.203.0.0/24'))[0], { dev: 'eth0', scope: 'link', metric: 50 });
  h.close();
  c.close();
  await endAndWitness(t, observer, [host, ctr]);
});

when(skip, "the kernel's refusals are NetworkErrors naming errno, the netlink message and the interface", async (t) => {
  const host = await makeNetns(t, inodesMade);
  const ctr = await makeNetns(t, inodesMade);
  const observer = await makeNetns(t, inodesMade);
  const h = Rtnetlink.open(host.path);
  const c = Rtnetlink.open(ctr.path);
  t.teardown(() => (h.close(), c.close()));
  const refused = (fn, expected) => {
    const e = t.throws(fn, { instanceOf: NetworkError });
    t.like(e, { code: 'NETWORK_FAILED', step: 'network', ...expected });
    return e;
  };

  h.createBridge('br-dup');
  let e = refused(() => h.createBridge('br-dup'), { errno: 'EEXIST', syscall: 'rtnetlink RTM_NEWLINK', ifname: 'br-dup' });
  t.regex(e.message, /^rtnetlink RTM_NEWLINK failed: File exists \(br-dup/);
  c.createBridge('taken');
  e = refused(() => h.createVeth('vb-x', 'taken', { peerNetns: ctr.path }), { errno: 'EEXIST', ifname: 'vb-x' });
  t.regex(e.message, /peer taken/, 'the peer named too');
  t.is(h.findLink('vb-x'), undefined, 'nothing half-made');

  h.createVeth('vb-m', 'vc-m');
  const notNetns = fs.openSync('/proc/self/stat', 'r');
  try {
    e = refused(() => h.moveToNetns('vc-m', notNetns), { errno: 'EINVAL', syscall: 'rtnetlink RTM_SETLINK', ifname: 'vc-m' });
  } finally {
    fs.closeSync(notNetns);
  }
  refused(() => h.moveToNetns('vc-m', 100_000), { errno: 'EBADF', ifname: 'vc-m' });
  t.truthy(h.findLink('vc-m'), 'still here');
  refused(() => h.moveToNetns('vc-m', ctr.path, 'taken'), { errno: 'EEXIST', ifname: 'vc-m' });
  refused(() => h.moveToNetns('vc-m', '/nonexistent/netns'), { errno: 'ENOENT', syscall: 'open', path: '/nonexistent/netns' });

  refused(() => h.deleteLink('nosuch0'), { errno: 'ENODEV', syscall: 'rtnetlink RTM_DELLINK', ifname: 'nosuch0' });
  refused(() => h.setUp('nosuch0'), { errno: 'ENODEV', ifname: 'nosuch0' });
  refused(() => h.linkIndex('nosuch0'), { errno: 'ENODEV', syscall: 'rtnetlink RTM_GETLINK', ifname: 'nosuch0' });
  e = refused(() => h.setMaster('vb-m', 'nobridge'), { errno: 'ENODEV', ifname: 'nobridge' });
  t.regex(e.message, /the master for vb-m/);
  refused(() => h.addAddress('nosuch0', '10.0.0.1/24'), { errno: 'ENODEV', ifname: 'nosuch0' });
  h.addAddress('br-dup', '10.204.0.1/24');
  refused(() => h.addAddress('br-dup', '10.204.0.1/24'), { errno: 'EEXIST', syscall: 'rtnetlink RTM_NEWADDR', ifname: 'br-dup' });
  // No route to the gateway yet: the kernel explains itself (extended ack).
  e = refused(() => h.addDefaultRoute('10.205.0.1'), { errno: 'ENETUNREACH', syscall: 'rtnetlink RTM_NEWROUTE' });
  t.is(typeof e.kernelMessage, 'string');
  t.is(e.message, `rtnetlink RTM_NEWROUTE failed: Network is unreachable (${e.kernelMessage}) (the route to 0.0.0.0/0 via 10.205.0.1)`);
  refused(() => h.setMtu('br-dup', 40), { errno: 'EINVAL', ifname: 'br-dup' });
  refused(() => h.setHairpin('br-dup', true), { errno: 'ENOTSUP', syscall: 'rtnetlink RTM_SETLINK', ifname: 'br-dup' }); // a bridge is no bridge port
  refused(() => h.createBridge('a-name-longer-than-15'), { errno: 'EINVAL', ifname: 'a-name-longer-than-15' });
  refused(() => h.rename('br-dup', 'bad/name'), { errno: 'EINVAL', ifname: 'bad/name' });
  refused(() => h.setMac('br-dup', '02:00:00:00:00'), { errno: 'EINVAL' });

  refused(() => Rtnetlink.open('/nonexistent/netns'), { errno: 'ENOENT', syscall: 'open' });
  e = refused(() => Rtnetlink.open('/proc/self/stat'), { errno: 'EINVAL', syscall: 'setns', path: '/proc/self/stat' });
  t.regex(e.message, /^setns failed: Invalid argument \(\/proc\/self\/stat\)$/);
  refused(() => Rtnetlink.open(100_000), { errno: 'EBADF', syscall: 'setns' });
  refused(() => writeNetSysctl(host.path, 'net.ipv4.no_such_knob', '1'), { errno: 'ENOENT', syscall: 'open' });
  refused(() => writeNetSysctl(host.path, 'kernel.hostname', 'x'), { errno: 'EINVAL' });
  refused(() => writeNetSysctl(host.path, 'net/../../kernel/hostname', 'x'), { errno: 'EINVAL' });
  refused(() => writeNetSysctl(host.path, 'net.ipv4.ip_forward', 'yes'), { errno: 'EINVAL', syscall: 'write' });

  const closed = Rtnetlink.open(host.path);
  closed.close();
  closed.close(); // idempotent
  refused(() => closed.listLinks(), { errno: 'EBADF' });

  h.deleteLink('vb-m');
  h.close();
  c.close();
  await endAndWitness(t, observer, [host, ctr]);
});

when(skip, "nothing is left: no process, no fd, no namespace of this file's, and the real host's network is byte-identical", async (t) => {
  t.is(openFds(), fdsBefore, 'no fd (netlink socket, namespace file) left open');
  const alive = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // This file's processes are its children; a namespace inode is recycled once its namespace
      // is gone, so another file's process (ava runs files at once) may sit in one with the same number.
      const ppid = Number(fs.readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      if (ppid === process.pid && inodesMade.includes(fs.statSync(`/proc/${entry}/ns/net`).ino)) alive.push(entry);
    } catch {
      // raced with an exit, or not ours to look at
    }
  }
  t.deepEqual(alive, [], 'no process is in a namespace this file made');
  t.true(inodesMade.length >= 9);
  // The setns calls happened on the addon's own short-lived threads: every thread of this process is where it started.
  const self = fs.readlinkSync('/proc/self/ns/net');
  const tasks = fs.readdirSync('/proc/self/task');
  t.deepEqual(tasks.filter((tid) => fs.readlinkSync(`/proc/self/task/${tid}/ns/net`) !== self), [], 'no thread of ours moved');
  t.deepEqual(hostNetwork(), before);
});
