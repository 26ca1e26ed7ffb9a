// Hostile configs that used to get past validation and fail late (at execve,
// prlimit, setns, mount, capset) or not at all: each must now be a ConfigError
// naming the JSON path of the field, from normalizeConfig alone. Root-free: the
// cgroup facts and the caller's credentials/limits are passed in.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../dist/lib/errors.js';
import { normalizeConfig } from '../../dist/lib/config/normalize.js';
import { resolveExecProcess } from '../../dist/lib/config/exec.js';
import { CAPABILITIES } from '../../dist/lib/kernel/abi.js';

const rootfs = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-hostile-'));
const bundle = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-hostile-bundle-'));
fs.mkdirSync(path.join(bundle, 'rootfs'));
test.after.always(() => {
  fs.rmSync(rootfs, { recursive: true, force: true });
  fs.rmSync(bundle, { recursive: true, force: true });
});

const host = { layout: 'v2', cpus: new Set([0, 1]), mems: new Set([0]), hugepageSizes: ['2MB'], blockDevices: new Set(['8:0']) };
const allCaps = new Set(CAPABILITIES);
const unlimited = { soft: Infinity, hard: Infinity };
/** A root caller with every capability, as berth runs in the integration tests. */
const rootCaller = (over = {}) => ({
  euid: 0,
  egid: 0,
  nrOpen: 1048576,
  rlimits: { RLIMIT_STACK: { soft: 8 * 1024 * 1024, hard: Infinity }, RLIMIT_NOFILE: { soft: 1024, hard: 1048576 } },
  rlimit(type) {
    return this.rlimits[type] ?? unlimited;
  },
  caps: { effective: allCaps, permitted: allCaps, inheritable: new Set(), bounding: allCaps },
  ...over,
});

const base = (extra = {}) => ({ rootfs, stateRoot: '/run/berth-unit', process: { args: ['/bin/true'] }, ...extra });
const withProcess = (p) => base({ process: { args: ['/bin/true'], ...p } });

async function refused(t, config, field, message, caller = rootCaller()) {
  const err = await t.throwsAsync(normalizeConfig(config, host, caller));
  t.true(err instanceof ConfigError, `${err?.stack ?? err}`);
  t.is(err.field, field, err.message);
  if (message) t.regex(err.message, message);
  return err;
}

async function accepted(t, config, caller = rootCaller()) {
  return normalizeConfig(config, host, caller);
}

// --- execve's limits on arguments and environment (E2BIG) ---

test('an environment string longer than MAX_ARG_STRLEN is refused naming its index', async (t) => {
  await refused(t, withProcess({ env: ['A=1', 'B=2', 'C=3', `BIG=${'x'.repeat(10 * 1024 * 1024)}`] }), 'process.env[3]', /131072/);
});

test('an argument longer than MAX_ARG_STRLEN is refused naming its index', async (t) => {
  await refused(t, withProcess({ args: ['/bin/true', 'y'.repeat(200 * 1024)] }), 'process.args[1]', /131072/);
});

test('MAX_ARG_STRLEN counts UTF-8 bytes and the NUL', async (t) => {
  await refused(t, withProcess({ args: ['/bin/true', 'é'.repeat(65536)] }), 'process.args[1]');
  await refused(t, withProcess({ args: ['/bin/true', 'y'.repeat(131072)] }), 'process.args[1]');
  await accepted(t, withProcess({ args: ['/bin/true', 'y'.repeat(131071)] }));
});

test('args and env together beyond a quarter of the stack limit are refused', async (t) => {
  const env = Array.from({ length: 30 }, (_, i) => `V${i}=${'v'.repeat(100 * 1024)}`); // ~3 MB > 8 MiB / 4
  await refused(t, withProcess({ env }), 'process.env', /execve/);
  // The container's own RLIMIT_STACK decides: unlimited gives 6 MiB (3/4 of _STK_LIM).
  await accepted(t, withProcess({ env, rlimits: [{ type: 'RLIMIT_STACK', soft: 2 ** 64, hard: 2 ** 64 }] }));
  const huge = Array.from({ length: 70 }, (_, i) => `V${i}=${'v'.repeat(100 * 1024)}`); // ~7 MB
  await refused(t, withProcess({ env: huge, rlimits: [{ type: 'RLIMIT_STACK', soft: 2 ** 64, hard: 2 ** 64 }] }), 'process.env');
  const args = ['/bin/true', ...Array.from({ length: 30 }, () => 'a'.repeat(100 * 1024))];
  await refused(t, withProcess({ args }), 'process.args', /execve/);
});

test('an exec with a huge argument is refused like the init', (t) => {
  const err = t.throws(() => resolveExecProcess(
    { args: ['/bin/true'], env: ['PATH=/bin'], cwd: '/', uid: 0, gid: 0, additionalGids: [], umask: 0o22, capabilities: { bounding: [], effective: [], permitted: [], inheritable: [], ambient: [] }, rlimits: [], noNewPrivileges: true, terminal: false, stdio: ['pipe', 'pipe', 'pipe'] },
    { args: ['/bin/echo', 'z'.repeat(200 * 1024)] },
    rootCaller(),
  ));
  t.true(err instanceof ConfigError);
  t.is(err.field, 'process.args[1]');
});

// --- rlimits the kernel refuses ---

test('an RLIMIT_NOFILE hard limit above fs.nr_open is refused', async (t) => {
  await refused(t, withProcess({ rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 2 ** 53 - 1 }] }), 'process.rlimits[0].hard', /nr_open/);
  await refused(t, withProcess({ rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 2_000_000 }] }), 'process.rlimits[0].hard', /nr_open/);
  await accepted(t, withProcess({ rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1048576, hard: 1048576 }] }));
});

test('rlimit values: 2^64-1 (as JSON gives it) is unlimited, above it and BigInts are refused', async (t) => {
  const cfg = await accepted(t, withProcess({ rlimits: [{ type: 'RLIMIT_CPU', soft: 18446744073709551615, hard: 18446744073709551615 }] }));
  t.is(cfg.process.rlimits[0].type, 'RLIMIT_CPU');
  await refused(t, withProcess({ rlimits: [{ type: 'RLIMIT_CPU', soft: 1, hard: 2 ** 65 }] }), 'process.rlimits[0].hard');
  await refused(t, withProcess({ rlimits: [{ type: 'RLIMIT_CPU', soft: 1n, hard: 2 }] }), 'process.rlimits[0].soft');
  await refused(t, withProcess({ rlimits: [{ type: 'RLIMIT_CPU', soft: -1, hard: 2 }] }), 'process.rlimits[0].soft');
});

test('raising a hard rlimit without CAP_SYS_RESOURCE is refused', async (t) => {
  const caps = new Set([...allCaps].filter((c) => c !== 'CAP_SYS_RESOURCE'));
  const caller = rootCaller({ caps: { effective: caps, permitted: caps, inheritable: new Set(), bounding: allCaps }, rlimits: { RLIMIT_NOFILE: { soft: 1024, hard: 1024 } } });
  await refused(t, withProcess({ rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 4096 }] }), 'process.rlimits[0].hard', /CAP_SYS_RESOURCE/, caller);
  await accepted(t, withProcess({ rlimits: [{ type: 'RLIMIT_NOFILE', soft: 512, hard: 1024 }] }), caller);
});

// --- namespace paths ---

test('a namespace path that is a regular file is refused', async (t) => {
  const file = path.join(rootfs, 'not-a-namespace');
  fs.writeFileSync(file, '');
  await refused(t, base({ linux: { namespaces: [{ type: 'mount' }, { type: 'network', path: file }] } }), 'linux.namespaces[1].path', /not a namespace/);
  await refused(t, base({ linux: { namespaces: [{ type: 'mount' }, { type: 'network', path: '/dev/null' }] } }), 'linux.namespaces[1].path');
  await refused(t, base({ linux: { namespaces: [{ type: 'mount' }, { type: 'network', path: '/proc/self' }] } }), 'linux.namespaces[1].path');
});

test('a namespace path of another type is refused, naming both types', async (t) => {
  await refused(t, base({ linux: { namespaces: [{ type: 'mount' }, { type: 'network', path: '/proc/self/ns/uts' }] } }), 'linux.namespaces[1].path', /uts/);
  const cfg = await accepted(t, base({ linux: { namespaces: [{ type: 'mount' }, { type: 'network', path: '/proc/self/ns/net' }] } }));
  t.deepEqual(cfg.namespaces[1], { type: 'network', path: '/proc/self/ns/net' });
  await accepted(t, base({ linux: { namespaces: [{ type: 'mount' }, { type: 'ipc', path: `/proc/${process.pid}/ns/ipc` }] } }));
});

// --- filesystem options ---

const tmpfsWith = (...options) => base({ mounts: [{ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options }] });

test('tmpfs options with values the kernel cannot parse are refused', async (t) => {
  for (const [opt, at] of [['size=-1', 0], ['size=1.5G', 0], ['size=', 0], ['size', 0], ['nr_inodes=1x', 0], ['nr_blocks=-2', 0], ['mode=999', 0], ['mode=abc', 0], ['uid=abc', 0], ['uid=-1', 0], ['uid=4294967295', 0], ['gid=4294967296', 0]]) {
    await refused(t, tmpfsWith('nosuid', opt), `mounts[0].options[${at + 1}]`);
  }
  const cfg = await accepted(t, tmpfsWith('size=65536k', 'size=50%', 'nr_inodes=1k', 'nr_blocks=0x100', 'mode=1777', 'uid=1000', 'gid=0x10', 'defaults'));
  t.is(cfg.mounts[0].data, 'size=65536k,size=50%,nr_inodes=1k,nr_blocks=0x100,mode=1777,uid=1000,gid=0x10');
});

test('devpts, mqueue, sysfs and proc options the kernel refuses are refused', async (t) => {
  const m = (type, ...options) => base({ mounts: [{ destination: '/x', type, source: type, options }] });
  await refused(t, m('devpts', 'newinstance', 'max=-1'), 'mounts[0].options[1]');
  await refused(t, m('devpts', 'max=2000000'), 'mounts[0].options[0]');
  await refused(t, m('devpts', 'ptmxmode=0888'), 'mounts[0].options[0]');
  await refused(t, m('devpts', 'newinstance=1'), 'mounts[0].options[0]');
  await refused(t, m('devpts', 'bogus'), 'mounts[0].options[0]');
  await refused(t, m('mqueue', 'nosuid', 'size=1'), 'mounts[0].options[1]');
  await refused(t, m('sysfs', 'ro', 'bogus'), 'mounts[0].options[1]');
  await refused(t, m('proc', 'hidepid=3'), 'mounts[0].options[0]');
  await refused(t, m('proc', 'subset=sys'), 'mounts[0].options[0]');
  await refused(t, m('proc', 'gid=x'), 'mounts[0].options[0]');
  await accepted(t, m('devpts', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5', 'max=1024'));
  await accepted(t, m('proc', 'hidepid=invisible', 'subset=pid', 'gid=0'));
  // Security-module options are the LSM's business; a kernel without one says so itself.
  await accepted(t, m('sysfs', 'context=system_u:object_r:sysfs_t:s0'));
});

test('mount data longer than a page is refused (the kernel would cut it)', async (t) => {
  const opts = Array.from({ length: 400 }, () => 'size=65536k');
  await refused(t, tmpfsWith(...opts), 'mounts[0].options', /4095/);
});

// --- capabilities the kernel refuses at capset ---

test('an inheritable capability outside the bounding set is refused', async (t) => {
  await refused(t, withProcess({ capabilities: { bounding: ['CAP_KILL'], inheritable: ['CAP_CHOWN'] } }), 'process.capabilities.inheritable[0]', /bounding/);
  await accepted(t, withProcess({ capabilities: { bounding: ['CAP_KILL', 'CAP_CHOWN'], permitted: ['CAP_KILL'], effective: [], inheritable: ['CAP_CHOWN'] } }));
});

test('an effective capability outside the permitted set is refused', async (t) => {
  await refused(t, withProcess({ capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: [] } }), 'process.capabilities.effective[0]', /permitted/);
});

test('a permitted capability the caller does not have is refused', async (t) => {
  const caps = new Set(['CAP_KILL', 'CAP_SETPCAP', 'CAP_SYS_RESOURCE']);
  const caller = rootCaller({ caps: { effective: caps, permitted: caps, inheritable: new Set(), bounding: allCaps } });
  await refused(t, withProcess({ capabilities: { bounding: ['CAP_KILL', 'CAP_SYS_ADMIN'], permitted: ['CAP_KILL', 'CAP_SYS_ADMIN'], effective: [] } }), 'process.capabilities.permitted[1]', /CAP_SYS_ADMIN/, caller);
});

// --- values JSON cannot hold ---

test('a BigInt, function, symbol, NaN, Infinity or cycle anywhere is refused naming its path', async (t) => {
  const cyclic = base();
  cyclic.linux = { annotationsCopy: {} };
  cyclic.linux.annotationsCopy.loop = cyclic.linux;
  const cases = [
    [base({ linux: { resources: { memory: { limit: 10n } } } }), 'linux.resources.memory.limit', /BigInt/],
    [base({ extra: 10n }), 'extra', /BigInt/],
    [withProcess({ onExit: () => {} }), 'process.onExit', /function/],
    [base({ annotations: { a: 'x', b: Symbol('s') } }), 'annotations.b', /symbol/],
    [withProcess({ user: { uid: NaN } }), 'process.user.uid', /NaN/],
    [base({ linux: { resources: { pids: { limit: Infinity } } } }), 'linux.resources.pids.limit', /Infinity/],
    [cyclic, 'linux.annotationsCopy.loop', /cycle/],
    [base({ mounts: [new Map()] }), 'mounts[0]', /Map/],
    [base({ annotations: { 'io.example/key': 10n } }), 'annotations["io.example/key"]'],
  ];
  for (const [cfg, field, message] of cases) await refused(t, cfg, field, message);
  // The same object twice (not a cycle) is plain JSON.
  const shared = ['/bin/true'];
  await accepted(t, base({ process: { args: shared }, annotations: { a: 'x' }, extra: { one: shared, two: shared } }));
});

test('nesting deeper than any config needs is refused instead of overflowing the stack', async (t) => {
  let deep = {};
  const top = deep;
  for (let i = 0; i < 100000; i++) deep = deep.x = {};
  const err = await t.throwsAsync(normalizeConfig(base({ extra: top }), host, rootCaller()));
  t.true(err instanceof ConfigError, `${err}`);
  t.regex(err.field, /^extra(\.x)+$/);
});

// --- empty and escaping paths ---

test('an empty rootfs is refused instead of meaning the current directory', async (t) => {
  await refused(t, base({ rootfs: '' }), 'rootfs', /empty/);
  await refused(t, { stateRoot: '/run/berth-unit', root: { path: '' }, process: { args: ['/bin/true'] } }, 'root.path', /empty/);
  await refused(t, base({ bundle: '' }), 'bundle', /empty/);
});

test('an empty bind source is refused instead of meaning the bundle directory', async (t) => {
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify({ root: { path: 'rootfs' }, process: { args: ['/bin/true'] }, linux: { namespaces: [{ type: 'mount' }] } }));
  await refused(t, { bundle, stateRoot: '/run/berth-unit', mounts: [{ destination: '/x', type: 'bind', source: '', options: ['rbind'] }] }, 'mounts[0].source', /empty/);
});

test('container paths are normalized before they are checked, and ".." escapes are refused', async (t) => {
  await refused(t, base({ linux: { devices: [{ path: '/dev/../../tmp/x', type: 'c', major: 1, minor: 3 }] } }), 'linux.devices[0].path');
  await refused(t, base({ linux: { devices: [{ path: '/dev/../etc/x', type: 'c', major: 1, minor: 3 }] } }), 'linux.devices[0].path', /under \/dev/);
  await refused(t, base({ linux: { devices: [{ path: '/dev/', type: 'c', major: 1, minor: 3 }] } }), 'linux.devices[0].path');
  await refused(t, base({ mounts: [{ destination: '/../../etc', type: 'tmpfs', source: 'tmpfs' }] }), 'mounts[0].destination', /\.\./);
  await refused(t, base({ linux: { maskedPaths: ['/proc/../../etc/shadow'] } }), 'linux.maskedPaths[0]');
  await refused(t, base({ linux: { readonlyPaths: ['/../x'] } }), 'linux.readonlyPaths[0]');
  await refused(t, withProcess({ cwd: '/../tmp' }), 'process.cwd');
  const cfg = await accepted(t, base({
    mounts: [{ destination: '/a/./b//c/', type: 'tmpfs', source: 'tmpfs' }],
    linux: { devices: [{ path: '/dev/x/../fuse', type: 'c', major: 10, minor: 229 }], maskedPaths: ['/proc//kcore'], readonlyPaths: ['/proc/sys/'] },
    process: { args: ['/bin/true'], cwd: '/tmp/./x/..' },
  }));
  t.is(cfg.mounts[0].destination, '/a/b/c');
  t.is(cfg.devices[0].path, '/dev/fuse');
  t.deepEqual(cfg.maskedPaths, ['/proc/kcore']);
  t.deepEqual(cfg.readonlyPaths, ['/proc/sys']);
  t.is(cfg.process.cwd, '/tmp');
});

test('path lengths are counted in bytes and per component', async (t) => {
  await refused(t, withProcess({ cwd: `/${'é'.repeat(2100)}` }), 'process.cwd', /PATH_MAX/);
  await refused(t, base({ linux: { devices: [{ path: `/dev/${'x'.repeat(256)}`, type: 'c', major: 1, minor: 3 }] } }), 'linux.devices[0].path', /NAME_MAX/);
});

// --- a root filesystem needs a mount namespace ---

test('a config without a mount namespace is refused instead of ignoring rootfs', async (t) => {
  await refused(t, base({ linux: { namespaces: [{ type: 'pid' }] } }), 'linux.namespaces', /mount/);
  await refused(t, base({ linux: { namespaces: [] } }), 'linux.namespaces', /mount/);
  await accepted(t, base({ linux: { namespaces: [{ type: 'mount' }] } }));
});

test('a joined mount namespace is set up like a new one (rootfs, mounts, masked paths), as runc does', async (t) => {
  const { containerPlan } = await import('../../dist/lib/launch/plan.js');
  const { hostFacts } = await import('../../dist/lib/host/index.js');
  const cfg = await accepted(t, base({ linux: { namespaces: [{ type: 'mount', path: '/proc/self/ns/mnt' }] } }));
  const plan = containerPlan(cfg, { host: hostFacts(), seccomp: null, fds: [0, 1, 2], joins: [] });
  t.true(plan.setupRootfs);
  t.deepEqual(plan.masked, cfg.maskedPaths);
  t.true(plan.mounts.length > 0);
});

// --- siblings: the same mistakes in other fields ---

test('a domainname longer than the kernel takes is refused', async (t) => {
  await refused(t, base({ domainname: 'd'.repeat(65) }), 'domainname', /64/);
  await accepted(t, base({ domainname: 'd'.repeat(64) }));
});

// --- found by test/integration/fuzz-config: each failed late before ---

test('an empty or malformed filesystem type is refused (ENODEV/EINVAL at mount before)', async (t) => {
  await refused(t, base({ mounts: [{ destination: '/tmp', type: '', source: 'tmpfs' }] }), 'mounts[0].type', /empty/);
  await refused(t, base({ mounts: [{ destination: '/tmp', type: '/../../etc', source: 'tmpfs' }] }), 'mounts[0].type');
  await refused(t, base({ mounts: [{ destination: '/tmp', type: 'x'.repeat(5000), source: 'tmpfs' }] }), 'mounts[0].type');
  await accepted(t, base({ mounts: [{ destination: '/tmp', type: 'fuse.sshfs', source: 'x' }] }));
});

test('an option name no kernel has is refused even for filesystems whose keys are open-ended', async (t) => {
  await refused(t, tmpfsWith('nosuid', 'toString'), 'mounts[0].options[1]', /not a tmpfs option/);
  await refused(t, tmpfsWith('/../../etc'), 'mounts[0].options[0]');
  // A lowercase key this table does not know is the kernel's to judge (a newer one may have it).
  await accepted(t, tmpfsWith('huge=within_size', 'noswap', 'quota'));
});

test('a device at a mount point, or inside devpts or mqueue, is refused (EEXIST/EPERM at mknod before)', async (t) => {
  const dev = (p) => base({ linux: { devices: [{ path: p, type: 'c', major: 1, minor: 3 }] } });
  await refused(t, dev('/dev/pts'), 'linux.devices[0].path', /mount point of mounts\[2\]/);
  await refused(t, dev('/dev/mqueue/x'), 'linux.devices[0].path', /mqueue/);
  await refused(t, dev('/dev/pts/x'), 'linux.devices[0].path', /devpts/);
  await accepted(t, dev('/dev/shm/x'));
});

test('sysctls without proc mounted at /proc are refused (ENOENT at the write before)', async (t) => {
  const mounts = [{ destination: '/dev', type: 'tmpfs', source: 'tmpfs' }];
  await refused(t, base({ mounts, linux: { sysctl: { 'net.ipv4.ip_forward': '0' } } }), 'linux.sysctl', /proc/);
  await accepted(t, base({ linux: { sysctl: { 'net.ipv4.ip_forward': '0' } } }));
});

test('pids without a limit is refused, and null limits do not reach the cgroup files', async (t) => {
  await refused(t, base({ linux: { resources: { pids: {} } } }), 'linux.resources.pids.limit', /required/);
  await refused(t, base({ linux: { resources: { pids: { limit: null } } } }), 'linux.resources.pids.limit', /required/);
  const cfg = await accepted(t, base({ linux: { resources: { memory: { limit: null, swap: null }, cpu: { shares: null, quota: 20000 } } } }));
  t.deepEqual(cfg.resources.memory, {});
  t.deepEqual(cfg.resources.cpu, { quota: 20000 });
  t.true(cfg.resources.devices.some((d) => d.major === null), 'device rules keep their null wildcards');
});

test('a missing process or rootfs is named by its own field', async (t) => {
  await refused(t, { rootfs, stateRoot: '/run/berth-unit' }, 'process', /required/);
  await refused(t, { stateRoot: '/run/berth-unit', process: { args: ['/bin/true'] } }, 'rootfs', /required/);
  await refused(t, { root: {}, stateRoot: '/run/berth-unit', process: { args: ['/bin/true'] } }, 'root.path', /required/);
});

test('keys like "toString" never reach Object.prototype', async (t) => {
  await refused(t, withProcess({ rlimits: [{ type: 'toString', soft: 1, hard: 1 }] }), 'process.rlimits[0].type');
  await refused(t, base({ linux: { namespaces: [{ type: 'mount' }, { type: 'constructor' }] } }), 'linux.namespaces[1].type');
  await refused(t, withProcess({ ioPriority: { class: 'toString', priority: 0 } }), 'process.ioPriority.class');
  await refused(t, base({ mounts: [{ destination: '/x', type: 'bind', source: rootfs, options: ['rbind', 'toString'] }] }), 'mounts[0].options[1]');
  // A "__proto__" key from JSON stays a variable, not the copy's prototype.
  const cfg = await accepted(t, withProcess({ env: JSON.parse('{"__proto__": "x", "A": "1"}') }));
  t.deepEqual(cfg.process.env.filter((e) => !e.startsWith('PATH=')), ['__proto__=x', 'A=1']);
});
