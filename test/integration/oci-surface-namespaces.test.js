// The namespace side of the OCI Linux surface, seen from inside containers:
// a time namespace with clock offsets (made, joined by path, and joined by
// exec'd processes), a pid namespace joined by path, and domainname.
import test from 'ava';
import fs from 'node:fs';
import { ConfigError, createContainer, run } from '../../dist/lib/index.js';
import { DEFAULT_NAMESPACES } from '../../dist/lib/config/defaults.js';
import { assertNoLeaks, outputOf, ROOTFS, settledSnapshot, startedSleeper, stateRootFor } from './helpers.js';

const stateRoot = stateRootFor('oci-surface-ns');
const hasTimeNs = fs.existsSync('/proc/self/ns/time');
const YEAR = 365 * 24 * 3600;

const withNamespaces = (...extra) => [...DEFAULT_NAMESPACES.map((type) => ({ type })), ...extra];
const sh = (script, extra = {}) =>
  run({ rootfs: ROOTFS, stateRoot, ...extra, process: { args: ['/bin/sh', '-c', script], ...(extra.process ?? {}) } });

const output = outputOf;

const sleeper = (extra = {}) => startedSleeper(createContainer, stateRoot, extra);

const uptimeSecs = (text) => Number(text.trim().split(/\s+/)[0]);

test.serial('a new time namespace gets linux.timeOffsets before its first process: uptime and the monotonic clock include them', async (t) => {
  if (!hasTimeNs) return t.pass('this kernel has no time namespaces');
  const before = await settledSnapshot(stateRoot);
  const hostUptime = uptimeSecs(fs.readFileSync('/proc/uptime', 'utf8'));
  const r = await sh('cat /proc/uptime; cat /proc/self/timens_offsets; readlink /proc/self/ns/time', {
    linux: {
      namespaces: withNamespaces({ type: 'time' }),
      timeOffsets: { monotonic: { secs: YEAR, nanosecs: 5 }, boottime: { secs: 2 * YEAR, nanosecs: 0 } },
    },
  });
  t.is(r.exitCode, 0, r.stderr.toString());
  const [uptime, mono, boot, ns] = r.stdout.toString().trim().split('\n');
  // /proc/uptime is CLOCK_BOOTTIME in the reader's time namespace.
  t.true(uptimeSecs(uptime) >= 2 * YEAR + hostUptime, `uptime inside: ${uptime}, host: ${hostUptime}`);
  t.true(uptimeSecs(uptime) < 2 * YEAR + hostUptime + 600, `uptime inside: ${uptime}`);
  t.deepEqual(mono.trim().split(/\s+/), ['monotonic', String(YEAR), '5']);
  t.deepEqual(boot.trim().split(/\s+/), ['boottime', String(2 * YEAR), '0']);
  t.not(ns, fs.readlinkSync('/proc/self/ns/time'), 'a time namespace of its own');
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('exec\'d processes join the container\'s time namespace; another container joins it by path', async (t) => {
  if (!hasTimeNs) return t.pass('this kernel has no time namespaces');
  const before = await settledSnapshot(stateRoot);
  const c = await sleeper({
    linux: { namespaces: withNamespaces({ type: 'time' }), timeOffsets: { boottime: { secs: 3 * YEAR } } },
  });
  try {
    const r = await output(await c.exec({ args: ['sh', '-c', 'cat /proc/uptime; readlink /proc/self/ns/time'] }));
    t.is(r.exitCode, 0);
    const [uptime, ns] = r.out.trim().split('\n');
    t.true(uptimeSecs(uptime) >= 3 * YEAR, `exec'd uptime: ${uptime}`);
    t.is(ns, fs.readlinkSync(`/proc/${c.pid}/ns/time`), 'the init\'s time namespace');
    const joined = await sh('cat /proc/uptime; readlink /proc/self/ns/time', {
      linux: { namespaces: withNamespaces({ type: 'time', path: `/proc/${c.pid}/ns/time` }) },
    });
    t.is(joined.exitCode, 0, joined.stderr.toString());
    const [joinedUptime, joinedNs] = joined.stdout.toString().trim().split('\n');
    t.true(uptimeSecs(joinedUptime) >= 3 * YEAR, `joined uptime: ${joinedUptime}`);
    t.is(joinedNs, fs.readlinkSync(`/proc/${c.pid}/ns/time`));
  } finally {
    await c.destroy();
  }
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('an offset the kernel refuses (a clock below zero) rejects with the time-namespace step, errno and file, and leaves nothing', async (t) => {
  if (!hasTimeNs) return t.pass('this kernel has no time namespaces');
  const before = await settledSnapshot(stateRoot);
  const err = await t.throwsAsync(sh('true', {
    linux: { namespaces: withNamespaces({ type: 'time' }), timeOffsets: { boottime: { secs: -1e9 } } },
  }));
  t.is(err?.code, 'SETUP_FAILED', err?.message);
  t.is(err?.step, 'time-namespace');
  t.is(err?.errno, 'ERANGE');
  t.is(err?.syscall, 'write');
  t.is(err?.path, '/proc/self/timens_offsets');
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('linux.timeOffsets is refused, naming the field, without a new time namespace or with a bad clock or value', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const cases = [
    [{ timeOffsets: { boottime: { secs: 10 } } }, 'linux.timeOffsets', /time namespace/],
    [{ namespaces: withNamespaces({ type: 'time', path: '/proc/self/ns/time' }), timeOffsets: { boottime: { secs: 10 } } }, 'linux.timeOffsets', /new time namespace/],
    [{ namespaces: withNamespaces({ type: 'time' }), timeOffsets: { realtime: { secs: 10 } } }, 'linux.timeOffsets.realtime', /monotonic.*boottime/],
    [{ namespaces: withNamespaces({ type: 'time' }), timeOffsets: { monotonic: { secs: 1, nanosecs: 1e9 } } }, 'linux.timeOffsets.monotonic.nanosecs', /999999999/],
    [{ namespaces: withNamespaces({ type: 'time' }), timeOffsets: { monotonic: { secs: 1.5 } } }, 'linux.timeOffsets.monotonic.secs', /integer/],
    [{ namespaces: withNamespaces({ type: 'time' }), timeOffsets: { monotonic: { sec: 1 } } }, 'linux.timeOffsets.monotonic.sec', /unknown field/],
  ];
  for (const [linux, field, message] of cases) {
    const err = await t.throwsAsync(sh('true', { linux }), { instanceOf: ConfigError }, JSON.stringify(linux));
    t.is(err?.field, field);
    t.regex(err?.message ?? '', message);
  }
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('a container that joins another container\'s pid namespace by path sees its processes, and Node tracks the process that execs', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const host = await sleeper();
  try {
    const pidNs = `/proc/${host.pid}/ns/pid`;
    const guest = await createContainer({
      rootfs: ROOTFS,
      stateRoot,
      linux: { namespaces: [...DEFAULT_NAMESPACES.filter((n) => n !== 'pid').map((type) => ({ type })), { type: 'pid', path: pidNs }] },
      process: { args: ['sh', '-c', 'ps -o pid,comm | tr -s " " | sed 1d; echo self=$$; exec sleep 1000'] },
    });
    try {
      const chunks = [];
      guest.process.stdout.on('data', (d) => chunks.push(d));
      // The process Node tracks is the one in the joined namespace (berth-init
      // forked it after setns), and a child of this Node process.
      t.is(fs.readlinkSync(`/proc/${guest.pid}/ns/pid`), fs.readlinkSync(pidNs));
      const ppid = Number(fs.readFileSync(`/proc/${guest.pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      t.is(ppid, process.pid, 'the tracked process is our child');
      t.is((await guest.state()).pid, guest.pid);
      await guest.start();
      for (let i = 0; i < 200 && !Buffer.concat(chunks).toString().includes('self='); i++) await new Promise((r) => setTimeout(r, 20));
      const lines = Buffer.concat(chunks).toString().trim().split('\n').map((l) => l.trim());
      t.true(lines.includes('1 sleep'), `the other container's init is visible: ${lines}`);
      const self = Number(lines.find((l) => l.startsWith('self=')).slice(5));
      t.true(self > 1, `a pid in the joined namespace: ${self}`);
      // exec joins the same pid namespace through the tracked process.
      const r = await output(await guest.exec({ args: ['sh', '-c', 'ps -o pid,comm | tr -s " " | sed 1d'] }));
      t.true(r.out.trim().split('\n').map((l) => l.trim()).includes('1 sleep'), r.out);
      await guest.kill('SIGKILL');
      t.is((await guest.process.wait()).signal, 'SIGKILL');
      t.true(fs.existsSync(`/proc/${host.pid}`), 'the other container is untouched');
    } finally {
      await guest.destroy();
    }
  } finally {
    await host.destroy();
  }
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('a pid namespace joined by path: setup failures still reject with the step and leave nothing', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const host = await sleeper();
  try {
    const linux = { namespaces: [...DEFAULT_NAMESPACES.filter((n) => n !== 'pid').map((type) => ({ type })), { type: 'pid', path: `/proc/${host.pid}/ns/pid` }] };
    const err = await t.throwsAsync(sh('true', { linux, process: { cwd: '/no/such/dir' } }));
    t.is(err?.step, 'cwd');
    t.is(err?.errno, 'ENOENT');
    const wrongType = { namespaces: [...linux.namespaces.slice(0, -1), { type: 'pid', path: `/proc/${host.pid}/ns/net` }] };
    // Refused before anything exists where validation reads the namespace file's type, else by setns.
    const wrong = await t.throwsAsync(sh('true', { linux: wrongType }));
    if (wrong instanceof ConfigError) t.is(wrong.field, `linux.namespaces[${wrongType.namespaces.length - 1}].path`);
    else t.deepEqual([wrong?.step, wrong?.errno], ['setns', 'EINVAL'], String(wrong));
    const ok = await sh('echo $$', { linux });
    t.is(ok.exitCode, 0);
    t.not(ok.stdout.toString().trim(), '1', 'not the init of the joined namespace');
  } finally {
    await host.destroy();
  }
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('domainname is set in the container\'s uts namespace and needs one', async (t) => {
  const r = await sh('cat /proc/sys/kernel/domainname; hostname', { hostname: 'box', domainname: 'example.org' });
  t.is(r.exitCode, 0, r.stderr.toString());
  t.is(r.stdout.toString(), 'example.org\nbox\n');
  t.not(fs.readFileSync('/proc/sys/kernel/domainname', 'utf8'), 'example.org\n', 'the host\'s is untouched');
  const err = await t.throwsAsync(sh('true', { domainname: 'example.org', linux: { namespaces: [{ type: 'mount' }] } }), { instanceOf: ConfigError });
  t.is(err?.field, 'domainname');
});
