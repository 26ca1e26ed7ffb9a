// What a process sees from inside a default container: its own pid namespace,
// hostname, mounts, network, ipc, capabilities, masked and read-only paths, fds.
import test from 'ava';
import fs from 'node:fs';
import { DEFAULT_CAPABILITIES, createContainer, run } from '../../dist/lib/index.js';
import { CAPABILITIES } from '../../dist/lib/kernel/abi.js';
import { ROOTFS, stateRootFor } from './helpers.js';

const stateRoot = stateRootFor('isolation');
const sh = (script, extra = {}) => run({ rootfs: ROOTFS, stateRoot, ...extra, process: { args: ['/bin/sh', '-c', script], ...(extra.process ?? {}) } });

test('the process is pid 1 and sees only the container\'s processes', async (t) => {
  const r = await sh('echo $$; ls /proc | grep -E "^[0-9]+$" | sort -n | tr "\\n" " "');
  t.is(r.exitCode, 0, r.stderr.toString());
  const [pid, procs] = r.stdout.toString().split('\n');
  t.is(pid, '1');
  const pids = procs.trim().split(' ').map(Number);
  t.true(pids.includes(1));
  t.true(pids.length <= 6, `processes visible: ${procs}`); // sh and its pipeline
  t.true(Math.max(...pids) < 10, `only low pids of a fresh namespace: ${procs}`);
});

test('the configured hostname, and the container id by default', async (t) => {
  t.is((await sh('hostname', { hostname: 'box' })).stdout.toString(), 'box\n');
  t.is((await sh('hostname', { id: `host-default-${process.pid}` })).stdout.toString(), `host-default-${process.pid}\n`);
});

test('no host mount is visible; only the container\'s own', async (t) => {
  const r = await sh('cat /proc/self/mountinfo');
  const points = r.stdout.toString().trim().split('\n').map((l) => l.split(' ')[4]);
  const allowed = new Set(['/', '/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys',
    '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
    '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
    '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
  // Its own cgroup, read-only: the cgroup2 tree on a pure v2 host; on v1/hybrid a tmpfs holding the container's
  // directory of each hierarchy, bound at the hierarchy's name (as runc does).
  allowed.add('/sys/fs/cgroup');
  const hierarchies = fs.existsSync('/sys/fs/cgroup/cgroup.controllers')
    ? []
    : fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')).filter((f) => /^cgroup2?$/.test(f[f.indexOf('-') + 1]) && !/(^|,)name=/.test(f[f.indexOf('-') + 3] ?? ''))
        .map((f) => f[4]); // controller hierarchies and unified: berth makes no cgroup in a named one (name=systemd)
  for (const h of hierarchies) allowed.add(h);
  for (const p of points) t.true(allowed.has(p), `unexpected mount point in the container: ${p}`);
  t.true(points.includes('/proc') && points.includes('/dev') && points.includes('/sys'));
  t.true(points.includes('/sys/fs/cgroup'));
  for (const h of hierarchies) t.true(points.includes(h), `${h} of the container's own cgroup`);
  const hostPoints = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((p) => p && p !== '/');
  t.true(hostPoints.some((p) => !allowed.has(p)), 'the host has mounts the container must not see');
});

test('a new network namespace holds only lo, and it is up', async (t) => {
  const r = await sh('ls /sys/class/net; cat /sys/class/net/lo/flags');
  const lines = r.stdout.toString().trim().split('\n');
  t.is(lines[0], 'lo');
  t.is(Number(lines[1]) & 1, 1, 'IFF_UP');
  t.is(lines.length, 2, `interfaces: ${lines.slice(0, -1)}`);
});

test('ipc, uts, net, mnt, pid and cgroup namespaces differ from the host\'s', async (t) => {
  const kinds = ['ipc', 'uts', 'net', 'mnt', 'pid', 'cgroup'];
  const r = await sh(kinds.map((k) => `readlink /proc/self/ns/${k}`).join(';'));
  const inside = r.stdout.toString().trim().split('\n');
  kinds.forEach((k, i) => t.not(inside[i], fs.readlinkSync(`/proc/self/ns/${k}`), k));
});

test('CapEff, CapPrm and CapBnd equal the default capability set; nothing ambient or inheritable', async (t) => {
  const r = await sh('grep ^Cap /proc/self/status');
  const caps = Object.fromEntries(r.stdout.toString().trim().split('\n').map((l) => l.split(/:\s+/)));
  let expected = 0n;
  for (const c of DEFAULT_CAPABILITIES) expected |= 1n << BigInt(CAPABILITIES.indexOf(c));
  t.is(BigInt(`0x${caps.CapEff}`), expected);
  t.is(BigInt(`0x${caps.CapPrm}`), expected);
  t.is(BigInt(`0x${caps.CapBnd}`), expected);
  t.is(BigInt(`0x${caps.CapAmb}`), 0n);
  t.is(BigInt(`0x${caps.CapInh}`), 0n);
});

test('no_new_privs is set by default', async (t) => {
  const r = await sh('grep NoNewPrivs /proc/self/status');
  t.regex(r.stdout.toString(), /NoNewPrivs:\s+1/);
});

test('masked paths read as empty and /proc/sys is read-only', async (t) => {
  // Only paths this kernel has can be checked (e.g. /proc/kcore needs CONFIG_PROC_KCORE).
  const files = ['/proc/keys', '/proc/timer_list', '/proc/kcore', '/proc/sched_debug'].filter((f) => fs.existsSync(f));
  const dirs = ['/proc/acpi', '/proc/scsi', '/sys/firmware'].filter((d) => fs.existsSync(d) && fs.readdirSync(d).length > 0);
  t.true(files.length > 0 && dirs.length > 0, 'the host has masked paths with content to compare against');
  for (const f of files) t.true(f === '/proc/kcore' || fs.readFileSync(f).length > 0, `${f} has content on the host`);
  const script = [...files.map((f) => `wc -c < ${f}`), ...dirs.map((d) => `ls -A ${d} | wc -l`), 'echo x > /proc/sys/kernel/domainname && echo wrote || echo refused'].join('; ');
  const r = await sh(script);
  t.deepEqual(r.stdout.toString().trim().split('\n').map((s) => s.trim()), [...files.map(() => '0'), ...dirs.map(() => '0'), 'refused']);
  t.regex(r.stderr.toString(), /Read-only file system/);
});

test('/sys is read-only', async (t) => {
  const r = await sh('touch /sys/x 2>&1; grep " /sys " /proc/self/mountinfo');
  t.regex(r.stdout.toString(), / \/sys ro,/);
});

test('only stdio reaches the process: no fd of the Node process leaks', async (t) => {
  // Open something in Node first: it must not show up inside.
  const fd = fs.openSync('/etc/hostname', 'r');
  const c = await createContainer({ rootfs: ROOTFS, stateRoot, process: { args: ['sleep', '100'] } });
  try {
    await c.start();
    // The exec'd sleep holds exactly what crossed execve.
    t.deepEqual(fs.readdirSync(`/proc/${c.pid}/fd`).sort(), ['0', '1', '2']);
  } finally {
    await c.destroy();
    fs.closeSync(fd);
  }
});

test('root.readonly refuses writes to the root filesystem', async (t) => {
  const r = await sh('touch /newfile 2>&1; echo status=$?; touch /dev/shm/ok && echo tmpfs-ok', { root: { readonly: true } });
  t.regex(r.stdout.toString(), /Read-only file system/);
  t.regex(r.stdout.toString(), /status=1/);
  t.regex(r.stdout.toString(), /tmpfs-ok/);
  t.false(fs.existsSync(`${ROOTFS}/newfile`));
});

test('devices: null, zero, full, random, urandom, tty and the /dev links exist', async (t) => {
  const r = await sh('for d in null zero full random urandom tty; do [ -c /dev/$d ] && echo $d; done; for l in fd stdin ptmx; do readlink /dev/$l; done; head -c 4 /dev/zero | wc -c');
  t.deepEqual(r.stdout.toString().trim().split('\n').map((s) => s.trim()), ['null', 'zero', 'full', 'random', 'urandom', 'tty', '/proc/self/fd', '/proc/self/fd/0', 'pts/ptmx', '4']);
});

// v1: the devices controller; pure v2: berth's eBPF device program (cgroups-v2-devices tests it in depth).
const deviceCgroup = fs.existsSync('/sys/fs/cgroup/devices/devices.list') || fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
if (!deviceCgroup) console.log('core-isolation: device cgroup test skipped: neither a v1 devices controller nor a pure cgroup v2 tree');
(deviceCgroup ? test : test.skip)('the device cgroup denies host devices even to a process that may mknod (v1 controller, v2 device program)', async (t) => {
  const caps = ['CAP_MKNOD'];
  const r = await sh('mknod /dev/disk b 8 0 && echo made; head -c 1 /dev/disk 2>&1; echo x > /dev/null && echo null-ok', {
    process: { capabilities: { bounding: caps, effective: caps, permitted: caps } },
  });
  const out = r.stdout.toString();
  t.regex(out, /made/, 'mknod itself is allowed (CAP_MKNOD, "b *:* m")');
  t.regex(out, /Operation not permitted/, 'but the block device cannot be opened');
  t.regex(out, /null-ok/, 'the default devices still work');
});
