// User namespaces against the real kernel: linux.uidMappings/gidMappings
// written by the parent while berth-init waits, the container's view (id,
// maps, capabilities, devices, /sys, sysctls, rlimits) and the host's view
// (the real uid of its processes, the owner of what it creates), exec into
// it, and a user namespace joined by path. Runs on the host and in the VM lane.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createContainer, run } from '../../dist/lib/index.js';
import { DEFAULT_NAMESPACES } from '../../dist/lib/config/defaults.js';
import { assertNoLeaks, outputOf, ROOTFS, settledSnapshot, startedSleeper, stateRootFor } from './helpers.js';

const stateRoot = stateRootFor('userns-basic');
const HOST_ID = 300000;
const MAP = [{ containerID: 0, hostID: HOST_ID, size: 65536 }];
const hasUserNs = fs.existsSync('/proc/self/ns/user');
const skipReason = !hasUserNs ? 'this kernel has no user namespaces' : process.getuid() !== 0 ? 'needs root (the rootless lane covers the rest)' : null;
if (skipReason) console.log(`userns-basic: skipped: ${skipReason}`);
const maybe = skipReason ? test.skip : test.serial;

const namespaces = (types = DEFAULT_NAMESPACES) => [...types.map((type) => ({ type })), { type: 'user' }];
const userns = (extra = {}) => ({ namespaces: namespaces(), uidMappings: MAP, gidMappings: MAP, ...extra });
const sh = (script, extra = {}) =>
  run({ rootfs: ROOTFS, stateRoot, ...extra, linux: userns(extra.linux), process: { args: ['/bin/sh', '-c', script], ...(extra.process ?? {}) } });

/** Real, effective, saved, fs ids of a host pid, from the host's /proc. */
function hostIds(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const ids = (key) => status.match(new RegExp(`^${key}:\\s+(.*)$`, 'm'))[1].trim().split(/\s+/).map(Number);
  return { uid: ids('Uid'), gid: ids('Gid') };
}

let scratch;
test.before(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-userns-'));
  fs.chmodSync(scratch, 0o777);
});
test.after.always(() => fs.rmSync(scratch, { recursive: true, force: true }));

maybe('inside: root with the mapping and the default capabilities; the host sees the mapped uid; host-root files are nobody', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const r = await sh('id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; grep CapEff /proc/self/status; stat -c %u:%g /bin/sh; cat /proc/self/setgroups');
  t.is(r.exitCode, 0, r.stderr.toString());
  const [uid, gid, uidMap, gidMap, capEff, owner, setgroups] = r.stdout.toString().trim().split('\n');
  t.is(uid, '0');
  t.is(gid, '0');
  t.deepEqual(uidMap.trim().split(/\s+/), ['0', String(HOST_ID), '65536']);
  t.deepEqual(gidMap.trim().split(/\s+/), ['0', String(HOST_ID), '65536']);
  // CAP_KILL, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE: runc's default set, as without a user namespace.
  t.is(capEff.split(/\s+/)[1], '0000000020000420');
  // The rootfs belongs to host root, which the namespace does not map.
  t.is(owner, '65534:65534');
  // Root in the parent namespace wrote gid_map: setgroups stays allowed.
  t.is(setgroups, 'allow');
  await assertNoLeaks(t, before, stateRoot);
});

maybe('from the host: every id of the container process is the mapped one (an escape is an unprivileged uid)', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const c = await startedSleeper(createContainer, stateRoot, { linux: userns(), process: { user: { uid: 1000, gid: 1000 } } });
  try {
    const ids = hostIds(c.pid);
    t.deepEqual(ids.uid, [HOST_ID + 1000, HOST_ID + 1000, HOST_ID + 1000, HOST_ID + 1000]);
    t.deepEqual(ids.gid, [HOST_ID + 1000, HOST_ID + 1000, HOST_ID + 1000, HOST_ID + 1000]);
    // Its user namespace is not the host's.
    t.not(fs.readlinkSync(`/proc/${c.pid}/ns/user`), fs.readlinkSync('/proc/self/ns/user'));
    // Every namespace it has of its own is owned by that user namespace: the
    // network one is where it could set sysctls as root (see below).
    t.not(fs.readlinkSync(`/proc/${c.pid}/ns/net`), fs.readlinkSync('/proc/self/ns/net'));
  } finally {
    await c.destroy();
  }
  await assertNoLeaks(t, before, stateRoot);
});

maybe('a file the container creates in a bind lands on the host owned by the mapped ids', async (t) => {
  const before = await settledSnapshot(stateRoot);
  // Onto a directory the rootfs has: the container's root cannot make one in
  // a rootfs owned by host root (as with runc; an idmapped rootfs can).
  const r = await sh('echo hi > /tmp/made-inside && mkdir /tmp/dir-inside && stat -c %u:%g /tmp/made-inside', {
    mounts: [...defaultMountsWith(), { destination: '/tmp', type: 'bind', source: scratch, options: ['rbind'] }],
  });
  t.is(r.exitCode, 0, r.stderr.toString());
  t.is(r.stdout.toString().trim(), '0:0');
  for (const name of ['made-inside', 'dir-inside']) {
    const st = fs.statSync(path.join(scratch, name));
    t.is(st.uid, HOST_ID, name);
    t.is(st.gid, HOST_ID, name);
  }
  await assertNoLeaks(t, before, stateRoot);
});

function defaultMountsWith() {
  return [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
  ];
}

maybe('devices are the host\'s nodes bound in (mknod is refused in a user namespace), and they work', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const r = await sh('stat -c "%u %t:%T" /dev/null /dev/zero; echo x > /dev/null && head -c 4 /dev/zero | od -An -tx1; grep " /dev/null " /proc/self/mountinfo | wc -l');
  t.is(r.exitCode, 0, r.stderr.toString());
  const [nul, zero, bytes, mounted] = r.stdout.toString().trim().split('\n');
  // A node made inside would belong to the container's root (0); the host's is host root's, unmapped here.
  t.is(nul, '65534 1:3');
  t.is(zero, '65534 1:5');
  t.is(bytes.trim(), '00 00 00 00');
  t.is(mounted.trim(), '1', '/dev/null is a bind mount');
  await assertNoLeaks(t, before, stateRoot);
});

maybe('/sys: sysfs of its own with a network namespace of its own; without one the host\'s /sys, bound read-only', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const own = await sh('ls /sys/class/net; echo --; grep " /sys " /proc/self/mountinfo');
  t.is(own.exitCode, 0, own.stderr.toString());
  const [nets, mounts] = own.stdout.toString().trim().split('--\n');
  t.deepEqual(nets.trim().split('\n'), ['lo'], 'only the container\'s own loopback');
  t.regex(mounts, / \/sys ro,.* - sysfs /);
  const hostNet = await sh('ls /sys/class/net | wc -l; grep " /sys " /proc/self/mountinfo; touch /sys/x 2>&1 || echo refused', {
    linux: { namespaces: namespaces(DEFAULT_NAMESPACES.filter((n) => n !== 'network')) },
  });
  t.is(hostNet.exitCode, 0, hostNet.stderr.toString());
  const [count, line, ...rest] = hostNet.stdout.toString().trim().split('\n');
  t.is(Number(count), fs.readdirSync('/sys/class/net').length, 'the host\'s interfaces');
  t.regex(line, / \/sys ro,/);
  t.is(rest.at(-1), 'refused');
  await assertNoLeaks(t, before, stateRoot);
});

const hostHardNofile = () => Number(fs.readFileSync('/proc/self/limits', 'utf8').match(/^Max open files\s+\d+\s+(\d+)/m)[1]);

maybe('sysctls of the container\'s own network namespace are set as its root; rlimits are set', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const hard = hostHardNofile();
  const r = await sh('cat /proc/sys/net/ipv4/ip_forward; ulimit -Sn; ulimit -Hn', {
    linux: { sysctl: { 'net.ipv4.ip_forward': '1' } },
    process: { rlimits: [{ type: 'RLIMIT_NOFILE', soft: 77, hard }] },
  });
  t.is(r.exitCode, 0, r.stderr.toString());
  t.deepEqual(r.stdout.toString().trim().split('\n'), ['1', '77', String(hard)]);
  await assertNoLeaks(t, before, stateRoot);
});

maybe('exec into a user namespace container: root by default, another mapped user when asked, its limits set by the host', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const c = await startedSleeper(createContainer, stateRoot, { linux: userns() });
  try {
    const root = await outputOf(await c.exec({ args: ['/bin/sh', '-c', 'id -u; cat /proc/self/uid_map; grep CapEff /proc/self/status'] }));
    t.is(root.exitCode, 0);
    const [uid, map, capEff] = root.out.trim().split('\n');
    t.is(uid, '0');
    t.deepEqual(map.trim().split(/\s+/), ['0', String(HOST_ID), '65536']);
    t.is(capEff.split(/\s+/)[1], '0000000020000420');
    // The exec's limits are set by the parent (prlimit) before it joins: its plan carries none.
    const hard = hostHardNofile();
    const p = await c.exec({ args: ['/bin/sh', '-c', 'id -u; id -g; ulimit -Sn; ulimit -Hn; sleep 1000'], user: { uid: 1234, gid: 1234 }, rlimits: [{ type: 'RLIMIT_NOFILE', soft: 64, hard: hard - 1 }] });
    const chunks = [];
    p.stdout.on('data', (d) => chunks.push(d));
    while (Buffer.concat(chunks).toString().split('\n').length < 5) await new Promise((r) => setTimeout(r, 20));
    t.deepEqual(Buffer.concat(chunks).toString().trim().split('\n'), ['1234', '1234', '64', String(hard - 1)]);
    t.deepEqual(hostIds(p.pid).uid, Array(4).fill(HOST_ID + 1234));
    await p.kill('SIGKILL');
    await p.wait();
  } finally {
    await c.destroy();
  }
  await assertNoLeaks(t, before, stateRoot);
});

maybe('a user namespace joined by path: its maps, root inside, and new namespaces of the container owned by it', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const other = { containerID: 0, hostID: 400000, size: 1000 };
  const a = await startedSleeper(createContainer, stateRoot, { linux: userns({ uidMappings: [other], gidMappings: [other] }) });
  try {
    const r = await run({
      rootfs: ROOTFS,
      stateRoot,
      linux: { namespaces: [...DEFAULT_NAMESPACES.map((type) => ({ type })), { type: 'user', path: `/proc/${a.pid}/ns/user` }], sysctl: { 'net.ipv4.ip_forward': '1' } },
      process: { args: ['/bin/sh', '-c', 'id -u; cat /proc/self/uid_map; readlink /proc/self/ns/user; cat /proc/sys/net/ipv4/ip_forward'] },
    });
    t.is(r.exitCode, 0, r.stderr.toString());
    const [uid, map, ns, fwd] = r.stdout.toString().trim().split('\n');
    t.is(uid, '0');
    t.deepEqual(map.trim().split(/\s+/), ['0', '400000', '1000']);
    t.is(ns, fs.readlinkSync(`/proc/${a.pid}/ns/user`));
    t.is(fwd, '1', 'its network namespace is the joined user namespace\'s: its root set the sysctl');
  } finally {
    await a.destroy();
  }
  await assertNoLeaks(t, before, stateRoot);
});

maybe('a failure after the maps (a missing executable) leaves nothing behind', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const err = await t.throwsAsync(run({ rootfs: ROOTFS, stateRoot, linux: userns(), process: { args: ['/no/such'] } }));
  t.is(err.code, 'EXECUTABLE_NOT_FOUND');
  const cwd = await t.throwsAsync(run({ rootfs: ROOTFS, stateRoot, linux: userns(), process: { args: ['/bin/true'], cwd: '/no/such/dir' } }));
  t.is(cwd.code, 'SETUP_FAILED');
  t.is(cwd.step, 'cwd');
  await assertNoLeaks(t, before, stateRoot);
});

maybe('the lifecycle with a user namespace: terminal, pause and resume, processes, destroy', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const c = await createContainer({ rootfs: ROOTFS, stateRoot, linux: userns(), process: { args: ['/bin/sh', '-c', 'tty; id -u; sleep 1000'], terminal: true } });
  try {
    const init = await c.start();
    let out = '';
    init.terminal.on('data', (d) => (out += d.toString()));
    while (out.split('\n').length < 3) await new Promise((r) => setTimeout(r, 20));
    const [tty, uid] = out.replace(/\r/g, '').trim().split('\n');
    t.regex(tty, /^\/dev\/pts\/\d+$/);
    t.is(uid, '0');
    t.true((await c.processes()).includes(c.pid));
    await c.pause();
    t.is(c.status, 'paused');
    await c.resume();
    t.is(c.status, 'running');
  } finally {
    await c.destroy();
  }
  await assertNoLeaks(t, before, stateRoot);
});
