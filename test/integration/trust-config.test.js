// Configs from a caller berth cannot trust (issue #10): what used to fail late —
// E2BIG at execve, EPERM at prlimit/capset, EINVAL at setns/mount — or not at
// all (rootfs "" was the cwd, a device node landed outside /dev, rootfs was
// ignored without a mount namespace) is a ConfigError before anything exists.
// And the edges are the kernel's: what validation lets through really runs.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, createContainer, run } from '../../dist/lib/index.js';
import { assertNoLeaks, quiesce, ROOTFS, settledSnapshot, stateRootFor } from './helpers.js';

const stateRoot = stateRootFor('trust');
// Mount destinations are made in the rootfs when missing: remove what the tests made.
const madeMountpoint = !fs.existsSync(path.join(ROOTFS, 'mnt'));
test.after.always(() => {
  if (madeMountpoint) fs.rmSync(path.join(ROOTFS, 'mnt'), { recursive: true, force: true });
});
const base = (extra = {}) => ({ rootfs: ROOTFS, stateRoot, process: { args: ['/bin/true'] }, ...extra });
const withProcess = (p) => base({ process: { args: ['/bin/true'], ...p } });

async function refusedCleanly(t, config, field, message) {
  await quiesce();
  const before = await settledSnapshot(stateRoot);
  const mountsBefore = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  const err = await t.throwsAsync(run(config));
  t.true(err instanceof ConfigError, `${err?.stack ?? err}`);
  t.is(err.code, 'INVALID_CONFIG');
  t.is(err.step, 'validate');
  t.is(err.field, field, err.message);
  if (message) t.regex(err.message, message);
  t.is(fs.readFileSync('/proc/self/mountinfo', 'utf8'), mountsBefore, 'mount table');
  await assertNoLeaks(t, before, stateRoot);
}

async function runs(t, config, script) {
  const r = await run(script ? { ...config, process: { ...config.process, args: ['/bin/sh', '-c', script] } } : config);
  t.is(r.exitCode, 0, String(r.stderr));
  return String(r.stdout);
}

/** This process's limit of a resource, from its /proc/self/limits line ("Max open files"). */
function limitOf(name) {
  const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith(name));
  const [, soft, hard] = line.trim().split(/\s{2,}/);
  const value = (v) => (v === 'unlimited' ? Infinity : Number(v));
  return { soft: value(soft), hard: value(hard) };
}
const hardLimit = (name) => limitOf(name).hard;

/** Env entries of 100 KiB filling args + env to `budget` bytes as execve counts them (strings, NULs, pointers). */
function envFilling(budget, args) {
  const count = (s) => Buffer.byteLength(s) + 1 + 8;
  let used = args.reduce((n, a) => n + count(a), 0) + count('PATH=/bin');
  const env = ['PATH=/bin'];
  for (let i = 0; used < budget; i++) {
    const len = Math.min(100 * 1024, budget - used - 9);
    env.push(`V${i}=`.padEnd(len, 'v'));
    used += len + 9;
  }
  return env;
}

test.serial('a 10 MB environment variable is refused naming it, not E2BIG at execve', async (t) => {
  await refusedCleanly(t, withProcess({ env: ['A=1', 'B=2', 'C=3', `BIG=${'x'.repeat(10 * 1024 * 1024)}`] }), 'process.env[3]', /MAX_ARG_STRLEN/);
});

test.serial('a 200 KB argument is refused naming it; one of 131071 bytes runs', async (t) => {
  await refusedCleanly(t, withProcess({ args: ['/bin/true', 'y'.repeat(200 * 1024)] }), 'process.args[1]', /MAX_ARG_STRLEN/);
  await runs(t, withProcess({ args: ['/bin/true', 'y'.repeat(131071)] }));
});

test.serial('args + env: the largest total validation allows execs, one byte more is refused', async (t) => {
  const reserved = 2 * 4096 + 256 + 8;
  // This process's stack rlimit, which the container inherits: a quarter of it, within [128 KiB, 6 MiB].
  const stack = limitOf('Max stack size').soft;
  const atLimit = envFilling(Math.max(Math.min(6 * 1024 * 1024, Math.floor(stack / 4)), 128 * 1024) - reserved, ['/bin/true']);
  await runs(t, withProcess({ env: atLimit }));
  await refusedCleanly(t, withProcess({ env: [...atLimit.slice(0, -1), `${atLimit.at(-1)}v`] }), 'process.env', /execve/);
  // The container's own unlimited stack: 3/4 of _STK_LIM (if this process may set it).
  if (hardLimit('Max stack size') !== Infinity && !mayRaiseLimits) return;
  const rlimits = [{ type: 'RLIMIT_STACK', soft: 18446744073709551615, hard: 18446744073709551615 }];
  const big = envFilling(6 * 1024 * 1024 - reserved, ['/bin/true']);
  await runs(t, withProcess({ env: big, rlimits }));
  await refusedCleanly(t, withProcess({ env: [...big, 'ONE=1'], rlimits }), 'process.env', /execve/);
});

const mayRaiseLimits = (BigInt(`0x${/CapEff:\s*(\w+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]}`) >> 24n) & 1n;

test.serial('an RLIMIT_NOFILE hard limit above fs.nr_open (or above ours, without CAP_SYS_RESOURCE) is refused; the highest allowed works', async (t) => {
  const nrOpen = Number(fs.readFileSync('/proc/sys/fs/nr_open', 'utf8'));
  await refusedCleanly(t, withProcess({ rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 2 ** 53 - 1 }] }), 'process.rlimits[0].hard', /nr_open/);
  await refusedCleanly(t, withProcess({ rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: nrOpen + 1 }] }), 'process.rlimits[0].hard', /nr_open/);
  await refusedCleanly(t, withProcess({ rlimits: [{ type: 'RLIMIT_CPU', soft: 1, hard: 2 ** 65 }] }), 'process.rlimits[0].hard');
  await refusedCleanly(t, withProcess({ rlimits: [{ type: 'RLIMIT_CPU', soft: 1n, hard: 2 }] }), 'process.rlimits[0].soft', /BigInt/);
  // Some CI containers (this machine's among them) run root without CAP_SYS_RESOURCE.
  const highest = mayRaiseLimits ? nrOpen : Math.min(nrOpen, hardLimit('Max open files'));
  if (highest < nrOpen) {
    await refusedCleanly(t, withProcess({ rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: highest + 1 }] }), 'process.rlimits[0].hard', /CAP_SYS_RESOURCE/);
  }
  const cpu = hardLimit('Max cpu time') === Infinity || mayRaiseLimits ? 18446744073709551615 : hardLimit('Max cpu time');
  const out = await runs(t, withProcess({
    rlimits: [{ type: 'RLIMIT_NOFILE', soft: highest, hard: highest }, { type: 'RLIMIT_CPU', soft: cpu, hard: cpu }],
  }), 'grep -E "open files|cpu time" /proc/self/limits');
  t.regex(out, new RegExp(`Max open files\\s+${highest}\\s+${highest}`));
  if (cpu > 2 ** 53) t.regex(out, /Max cpu time\s+unlimited\s+unlimited/);
});

test.serial('a namespace path that is a regular file, or a namespace of another type, is refused before setns', async (t) => {
  const file = path.join(ROOTFS, 'tmp', `not-a-netns-${process.pid}`);
  fs.writeFileSync(file, '');
  try {
    const ns = (p) => base({ linux: { namespaces: [{ type: 'mount' }, { type: 'pid' }, { type: 'network', path: p }] } });
    await refusedCleanly(t, ns(file), 'linux.namespaces[2].path', /not a namespace file/);
    await refusedCleanly(t, ns('/proc/self/ns/uts'), 'linux.namespaces[2].path', /"uts" namespace, not network/);
    // A running container's netns, reached by /proc/<pid>/ns/net, is what setns takes.
    const holder = await createContainer(base({ process: { args: ['sleep', '100'] } }));
    try {
      await holder.start();
      const inside = await runs(t, ns(`/proc/${holder.pid}/ns/net`), 'readlink /proc/self/ns/net');
      t.is(inside.trim(), fs.readlinkSync(`/proc/${holder.pid}/ns/net`));
    } finally {
      await holder.destroy();
    }
  } finally {
    fs.rmSync(file, { force: true });
  }
});

test.serial('tmpfs size=-1 and other options the kernel refuses are refused; the accepted forms mount', async (t) => {
  const tmpfs = (...options) => base({ mounts: [{ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options }] });
  for (const [opt, re] of [['size=-1', /size/], ['size=1.5G', /size/], ['mode=999', /mode/], ['uid=abc', /uid/], ['nr_inodes=1x', /nr_inodes/], ['uid=4294967295', /uid/]]) {
    await refusedCleanly(t, tmpfs('nosuid', opt), 'mounts[0].options[1]', re);
  }
  const dev = (type, ...options) => base({ mounts: [{ destination: '/mnt', type, source: type, options }] });
  await refusedCleanly(t, dev('devpts', 'newinstance', 'max=-1'), 'mounts[0].options[1]');
  await refusedCleanly(t, dev('mqueue', 'size=1'), 'mounts[0].options[0]');
  await refusedCleanly(t, dev('sysfs', 'bogus'), 'mounts[0].options[0]');
  await refusedCleanly(t, dev('proc', 'hidepid=3'), 'mounts[0].options[0]');
  const out = await runs(t, tmpfs('defaults', 'size=50%', 'nr_inodes=1k', 'mode=1777', 'uid=0x3e8', 'gid=010'), 'stat -c "%a %u %g" /tmp');
  t.is(out.trim(), '1777 1000 8');
  await runs(t, dev('devpts', 'newinstance', 'max=1024', 'ptmxmode=0666'));
  await runs(t, dev('proc', 'hidepid=invisible', 'subset=pid'));
});

test.serial('capabilities capset would refuse are refused; inheritable within bounding is set', async (t) => {
  await refusedCleanly(t, withProcess({ capabilities: { bounding: ['CAP_KILL'], inheritable: ['CAP_CHOWN'] } }), 'process.capabilities.inheritable[0]', /bounding/);
  await refusedCleanly(t, withProcess({ capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: [] } }), 'process.capabilities.effective[0]', /permitted/);
  const out = await runs(t, withProcess({ capabilities: { bounding: ['CAP_KILL', 'CAP_CHOWN'], permitted: ['CAP_KILL'], effective: ['CAP_KILL'], inheritable: ['CAP_CHOWN'] } }), 'grep CapInh /proc/self/status');
  t.regex(out, /CapInh:\s+0000000000000001/);
});

test.serial('a BigInt, function or cycle anywhere in the config is refused naming its path', async (t) => {
  await refusedCleanly(t, base({ linux: { resources: { memory: { limit: 10n } } } }), 'linux.resources.memory.limit', /BigInt/);
  await refusedCleanly(t, base({ annotations: { note: 'x' }, extra: 10n }), 'extra', /BigInt/);
  await refusedCleanly(t, withProcess({ onExit: () => {} }), 'process.onExit', /function/);
  const cyclic = base({ linux: {} });
  cyclic.linux.loop = cyclic.linux;
  await refusedCleanly(t, cyclic, 'linux.loop', /cycle/);
});

test.serial('rootfs "" is refused instead of setting up the current directory', async (t) => {
  const cwd = process.cwd();
  const had = ['dev', 'proc', 'sys'].filter((d) => fs.existsSync(path.join(cwd, d)));
  await refusedCleanly(t, base({ rootfs: '' }), 'rootfs', /empty/);
  t.deepEqual(['dev', 'proc', 'sys'].filter((d) => fs.existsSync(path.join(cwd, d))), had);
});

test.serial('a device path that climbs out of /dev is refused and no node is made outside it', async (t) => {
  const escaped = path.join(ROOTFS, 'tmp', `x-${process.pid}`);
  await refusedCleanly(t, base({ linux: { devices: [{ path: `/dev/../../tmp/x-${process.pid}`, type: 'c', major: 1, minor: 3 }] } }), 'linux.devices[0].path', /\.\./);
  await refusedCleanly(t, base({ linux: { devices: [{ path: `/dev/../tmp/x-${process.pid}`, type: 'c', major: 1, minor: 3 }] } }), 'linux.devices[0].path', /under \/dev/);
  await refusedCleanly(t, base({ mounts: [{ destination: '/../../etc', type: 'tmpfs', source: 'tmpfs' }] }), 'mounts[0].destination', /\.\./);
  t.false(fs.existsSync(escaped));
  // Normalized, a path with ".." inside /dev is just a device in /dev.
  const out = await runs(t, base({ linux: { devices: [{ path: '/dev/sub/../mynull', type: 'c', major: 1, minor: 3 }] } }), 'ls -l /dev/mynull && ! test -e /dev/sub');
  t.regex(out, /^c.* 1,\s+3 /);
});

test.serial('a config without a mount namespace is refused instead of running in the host\'s filesystem', async (t) => {
  await refusedCleanly(t, base({ linux: { namespaces: [{ type: 'pid' }, { type: 'uts' }] } }), 'linux.namespaces', /mount/);
});

test.serial('an exec with an argument execve would refuse is a ConfigError and the container keeps running', async (t) => {
  const c = await createContainer(base({ process: { args: ['sleep', '100'] } }));
  try {
    await c.start();
    const err = await t.throwsAsync(c.exec({ args: ['/bin/echo', 'z'.repeat(200 * 1024)] }));
    t.true(err instanceof ConfigError, `${err}`);
    t.is(err.field, 'process.args[1]');
    t.is(c.status, 'running');
  } finally {
    await c.destroy();
  }
});

test.serial('update() with null limits (as OCI writers emit them) applies the rest instead of writing "null"', async (t) => {
  const c = await createContainer(base({ process: { args: ['sleep', '100'] }, linux: { resources: { pids: { limit: 100 } } } }));
  try {
    await c.start();
    await c.update({ memory: { limit: null, reservation: null }, cpu: { shares: null }, pids: { limit: 50 } });
    t.is((await c.stats()).pids.limit, 50);
    const err = await t.throwsAsync(c.update({ pids: { limit: null } }));
    t.true(err instanceof ConfigError, `${err}`);
    t.is(err.field, 'resources.pids.limit');
  } finally {
    await c.destroy();
  }
});
