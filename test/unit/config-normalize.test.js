// normalizeConfig: defaults, the bundle merge and the top-level fields, against
// fake host facts and a scratch rootfs (no root, no kernel objects).
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { normalizeConfig } from '../../dist/lib/config/normalize.js';
import {
  DEFAULT_CAPABILITIES,
  DEFAULT_MASKED_PATHS,
  DEFAULT_NAMESPACES,
  DEFAULT_PATH,
  DEFAULT_READONLY_PATHS,
  defaultMounts,
} from '../../dist/lib/config/defaults.js';
import { DEFAULT_STATE_ROOT } from '../../dist/lib/state/state-dir.js';
import { MS } from '../../dist/lib/kernel/abi.js';
import { fakeCaller, fakeCgroupInfo, rejectsField, removeDir, scratchDir } from './helpers.js';

const host = fakeCgroupInfo('hybrid');
let dir;
let rootfs;

test.before(() => {
  dir = scratchDir('normalize');
  rootfs = path.join(dir, 'rootfs');
  fs.mkdirSync(rootfs);
  fs.writeFileSync(path.join(dir, 'a-file'), '');
});
test.after.always(() => removeDir(dir));

const base = (extra = {}) => ({ rootfs, process: { args: ['/bin/true'] }, ...extra });
const normalize = (cfg, h = host) => normalizeConfig(cfg, h, fakeCaller());

test('without a cgroup namespace of its own there is no /sys/fs/cgroup by default (it would show the host\'s tree)', async (t) => {
  const c = await normalizeConfig({ rootfs, process: { args: ['/bin/true'] }, linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }] } }, host, fakeCaller());
  t.false(c.mounts.some((m) => m.destination === '/sys/fs/cgroup'));
});

test('a bare config gets runc-spec defaults: namespaces, capabilities, mounts, masked/readonly paths, rlimits', async (t) => {
  const c = await normalize(base({ id: 'web1' }));
  t.is(c.id, 'web1');
  t.is(c.rootfs, fs.realpathSync(rootfs));
  t.deepEqual(c.namespaces, DEFAULT_NAMESPACES.map((type) => ({ type })));
  t.deepEqual(c.namespaces.map((n) => n.type), ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup']);
  const caps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
  t.deepEqual([...DEFAULT_CAPABILITIES], caps);
  t.deepEqual(c.process.capabilities, { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] });
  // runc spec's mounts, /sys/fs/cgroup last (a cgroup namespace of its own: read-only, as runc mounts it).
  t.deepEqual(c.mounts.map((m) => m.destination), [...defaultMounts().map((m) => m.destination), '/sys/fs/cgroup']);
  t.deepEqual(c.mounts.map((m) => m.destination), ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup']);
  const cg = c.mounts.find((m) => m.destination === '/sys/fs/cgroup');
  t.is(cg.type, 'cgroup');
  t.true((cg.flags & 1) === 1, 'read-only (MS_RDONLY)');
  const sys = c.mounts.find((m) => m.destination === '/sys');
  t.is(sys.type, 'sysfs');
  t.is(sys.flags, MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RDONLY);
  const devMount = c.mounts.find((m) => m.destination === '/dev');
  t.is(devMount.data, 'mode=755,size=65536k');
  t.deepEqual(c.maskedPaths, [...DEFAULT_MASKED_PATHS]);
  t.true(c.maskedPaths.includes('/proc/kcore'));
  t.deepEqual(c.readonlyPaths, [...DEFAULT_READONLY_PATHS]);
  t.true(c.readonlyPaths.includes('/proc/sys'));
  t.deepEqual(c.process.rlimits, [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 }]);
  t.deepEqual(c.process.env, [`PATH=${DEFAULT_PATH}`]);
  t.is(c.process.cwd, '/');
  t.is(c.process.uid, 0);
  t.is(c.process.gid, 0);
  t.is(c.process.umask, 0o022);
  t.true(c.process.noNewPrivileges);
  t.false(c.process.terminal);
  t.deepEqual(c.process.stdio, ['pipe', 'pipe', 'pipe']);
  t.is(c.hostname, 'web1', 'hostname defaults to the id in a new uts namespace');
  t.false(c.readonlyRoot);
  t.true(c.dieWithParent);
  t.is(c.rootfsPropagation, 0);
  t.deepEqual(c.sysctl, {});
  t.deepEqual(c.devices, []);
  t.deepEqual(c.annotations, {});
  t.is(c.stateRoot, process.getuid() === 0 ? DEFAULT_STATE_ROOT : path.join(process.env.XDG_RUNTIME_DIR ?? `/run/user/${process.getuid()}`, 'berth'));
  // The device cgroup rules: deny all, then what every container needs.
  t.deepEqual(c.resources.devices[0], { allow: false, access: 'rwm' });
  t.true(c.resources.devices.some((d) => d.allow && d.type === 'c' && d.major === 1 && d.minor === 3), '/dev/null allowed');
  t.true(c.resources.devices.some((d) => d.allow && d.type === 'c' && d.major === 136 && d.minor === null), '/dev/pts/* allowed');
});

test('an absent id is generated and is a valid hostname', async (t) => {
  const a = await normalize(base());
  const b = await normalize(base());
  t.regex(a.id, /^berth-[0-9a-f]{12}$/);
  t.not(a.id, b.id);
  t.is(a.hostname, a.id);
});

test('a long id is cut to 63 characters for the default hostname', async (t) => {
  const id = `a${'b'.repeat(99)}`;
  const c = await normalize(base({ id }));
  t.is(c.hostname, id.slice(0, 63));
});

test('an id with an underscore and no hostname is accepted (the default hostname must not be invalid)', async (t) => {
  const c = await normalize(base({ id: 'my_app' }));
  t.is(c.id, 'my_app');
});

test('no hostname without a new uts namespace; an explicit one needs it', async (t) => {
  const ns = [{ type: 'mount' }, { type: 'pid' }];
  const c = await normalize(base({ id: 'x1', linux: { namespaces: ns } }));
  t.is(c.hostname, undefined);
  t.deepEqual(c.namespaces, ns);
  await rejectsField(t, () => normalize(base({ hostname: 'h', linux: { namespaces: ns } })), 'hostname', /uts namespace/);
  await rejectsField(t, () => normalize(base({ domainname: 'd', linux: { namespaces: ns } })), 'domainname', /uts namespace/);
  const d = await normalize(base({ hostname: 'box', domainname: 'example.org' }));
  t.is(d.hostname, 'box');
  t.is(d.domainname, 'example.org');
});

test('root.path relative to the bundle, readonly root, annotations, dieWithParent, propagation', async (t) => {
  const c = await normalize({
    root: { path: rootfs, readonly: true },
    process: { args: ['/bin/sh'] },
    annotations: { 'org.example/owner': 'me' },
    dieWithParent: false,
    linux: { rootfsPropagation: 'rslave' },
  });
  t.true(c.readonlyRoot);
  t.deepEqual(c.annotations, { 'org.example/owner': 'me' });
  t.false(c.dieWithParent);
  t.is(c.rootfsPropagation, MS.SLAVE | MS.REC); // the r- variants are recursive
});

test('explicit masked/readonly paths replace the defaults', async (t) => {
  const c = await normalize(base({ linux: { maskedPaths: ['/proc/a'], readonlyPaths: [] } }));
  t.deepEqual(c.maskedPaths, ['/proc/a']);
  t.deepEqual(c.readonlyPaths, []);
});

test('namespaces joined by path are kept, and the path must exist', async (t) => {
  const c = await normalize(base({ linux: { namespaces: [{ type: 'mount' }, { type: 'network', path: '/proc/self/ns/net' }] } }));
  t.deepEqual(c.namespaces, [{ type: 'mount' }, { type: 'network', path: '/proc/self/ns/net' }]);
  await rejectsField(
    t,
    () => normalize(base({ linux: { namespaces: [{ type: 'mount' }, { type: 'network', path: path.join(dir, 'missing') }] } })),
    'linux.namespaces[1].path',
    /ENOENT/,
  );
});

test('sysctls are kept only when namespaced for the container', async (t) => {
  const c = await normalize(base({ linux: { sysctl: { 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '1024' } } }));
  t.deepEqual(c.sysctl, { 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '1024' });
  await rejectsField(t, () => normalize(base({ linux: { sysctl: { 'vm.swappiness': '1' } } })), 'linux.sysctl.vm.swappiness', /change the host/);
  await rejectsField(
    t,
    () => normalize(base({ linux: { namespaces: [{ type: 'mount' }], sysctl: { 'net.ipv4.ip_forward': '1' } } })),
    'linux.sysctl.net.ipv4.ip_forward',
  );
  await rejectsField(t, () => normalize(base({ linux: { sysctl: { 'net..x': '1' } } })), 'linux.sysctl.net..x', /not a sysctl name/);
  await rejectsField(t, () => normalize(base({ linux: { sysctl: { 'net.core.somaxconn': 1 } } })), 'linux.sysctl.net.core.somaxconn', /string/);
});

test('linux.devices add device nodes and their cgroup rules', async (t) => {
  const c = await normalize(base({ linux: { devices: [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }] } }));
  t.deepEqual(c.devices, [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 }]);
  t.deepEqual(c.resources.devices.at(-1), { allow: true, type: 'c', major: 10, minor: 229, access: 'rwm' });
});

test('a config resources.devices list comes first, then the rules every container needs', async (t) => {
  const own = [{ allow: false, type: 'a', access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'r' }];
  const c = await normalize(base({ linux: { resources: { devices: own, pids: { limit: 10 } } } }));
  t.deepEqual(c.resources.devices.slice(0, 2), own);
  t.deepEqual(c.resources.pids, { limit: 10 });
  t.true(c.resources.devices.length > 2);
});

test('a linux.resources.devices that is not an array is a ConfigError naming it', async (t) => {
  await rejectsField(t, () => normalize(base({ linux: { resources: { devices: {} } } })), 'linux.resources.devices');
});

test('cgroupsPath is checked before anything is made', async (t) => {
  const c = await normalize(base({ linux: { cgroupsPath: '/mine/c1' } }));
  t.is(c.cgroupsPath, '/mine/c1');
  await rejectsField(t, () => normalize(base({ linux: { cgroupsPath: '/a/../../etc' } })), 'linux.cgroupsPath', /".."/);
});

test('resources are validated against the host facts passed in', async (t) => {
  await rejectsField(t, () => normalize(base({ linux: { resources: { cpu: { cpus: '0-7' } } } })), 'linux.resources.cpu.cpus', /2,3,4,5,6,7 not present/);
  await rejectsField(
    t,
    () => normalize(base({ linux: { resources: { memory: { swap: 1 << 30 } } } }), fakeCgroupInfo('v2')),
    'linux.resources.memory.swap',
  );
  // The same config is fine on a hybrid host, where swap is memory+swap in v1.
  const c = await normalize(base({ linux: { resources: { memory: { swap: 1 << 30 } } } }), fakeCgroupInfo('hybrid'));
  t.is(c.resources.memory.swap, 1 << 30);
});

test('the bundle: config.json under the caller, process and linux merged field by field, root relative to the bundle', async (t) => {
  const bundle = path.join(dir, 'bundle-merge');
  fs.mkdirSync(path.join(bundle, 'rootfs'), { recursive: true });
  fs.writeFileSync(
    path.join(bundle, 'config.json'),
    JSON.stringify({
      ociVersion: '1.2.0',
      root: { path: 'rootfs', readonly: true },
      hostname: 'from-bundle',
      process: { args: ['/bin/sh'], cwd: '/srv', env: ['A=1'] },
      linux: { namespaces: [{ type: 'mount' }, { type: 'uts' }], maskedPaths: ['/proc/kcore'] },
      mounts: [{ destination: '/data', type: 'bind', source: 'data', options: ['rbind', 'ro'] }],
      annotations: { from: 'bundle' },
    }),
  );
  fs.mkdirSync(path.join(bundle, 'data'));
  const c = await normalize({ bundle, id: 'b1', process: { args: ['/bin/echo', 'hi'] }, linux: { readonlyPaths: [] } });
  t.is(c.bundle, bundle);
  t.is(c.rootfs, fs.realpathSync(path.join(bundle, 'rootfs')));
  t.true(c.readonlyRoot);
  t.is(c.hostname, 'from-bundle');
  t.deepEqual(c.process.args, ['/bin/echo', 'hi'], 'the caller wins field by field');
  t.is(c.process.cwd, '/srv', 'the bundle fills what the caller left out');
  t.deepEqual(c.process.env, [`PATH=${DEFAULT_PATH}`, 'A=1']);
  t.deepEqual(c.namespaces, [{ type: 'mount' }, { type: 'uts' }]);
  t.deepEqual(c.maskedPaths, ['/proc/kcore']);
  t.deepEqual(c.readonlyPaths, []);
  t.is(c.mounts.length, 1);
  t.is(c.mounts[0].source, path.join(bundle, 'data'), 'a relative bind source is taken in the bundle');
  t.true(c.mounts[0].recursive);
  t.deepEqual(c.annotations, { from: 'bundle' });
});

test('a bundle without a readable config.json, or with bad JSON, is a ConfigError at bundle', async (t) => {
  const empty = path.join(dir, 'bundle-empty');
  fs.mkdirSync(empty);
  await rejectsField(t, () => normalize({ bundle: empty }), 'bundle', /config\.json: ENOENT/);
  const bad = path.join(dir, 'bundle-bad');
  fs.mkdirSync(bad);
  fs.writeFileSync(path.join(bad, 'config.json'), '{ not json');
  await rejectsField(t, () => normalize({ bundle: bad }), 'bundle', /not valid JSON/);
  await rejectsField(t, () => normalize({ bundle: 42 }), 'bundle', /string/);
});

const rejections = [
  ['the config itself', () => 'nope', '$'],
  ['an array config', () => [], '$'],
  ['a bad id', () => base({ id: '-x' }), 'id'],
  ['an id with a slash', () => base({ id: 'a/b' }), 'id'],
  ['an id that is not a string', () => base({ id: 7 }), 'id'],
  ['no root filesystem', () => ({ process: { args: ['/bin/true'] } }), 'rootfs'],
  ['a rootfs that does not exist', () => base({ rootfs: path.join(dir, 'nope') }), 'rootfs'],
  ['a rootfs that is a file', () => base({ rootfs: path.join(dir, 'a-file') }), 'rootfs'],
  ['a root.path that does not exist', () => ({ root: { path: path.join(dir, 'nope') }, process: { args: ['/bin/true'] } }), 'root.path'],
  ['a root that is not an object', () => ({ root: 'x', process: { args: ['/bin/true'] } }), 'root'],
  ['root.readonly not a boolean', () => ({ root: { path: rootfs, readonly: 'yes' }, process: { args: ['/bin/true'] } }), 'root.readonly'],
  ['linux not an object', () => base({ linux: [] }), 'linux'],
  ['uid mappings', () => base({ linux: { uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] } }), 'linux.uidMappings'],
  ['gid mappings', () => base({ linux: { gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] } }), 'linux.gidMappings'],
  ['a hook with a relative path', () => base({ hooks: { prestart: [{ path: 'bin/true' }] } }), 'hooks.prestart[0].path'],
  ['a bad hostname', () => base({ hostname: 'a b' }), 'hostname'],
  ['a hostname that is not a string', () => base({ hostname: 5 }), 'hostname'],
  ['mounts not an array', () => base({ mounts: {} }), 'mounts'],
  ['a relative mount destination', () => base({ mounts: [{ destination: 'proc', type: 'proc' }] }), 'mounts[0].destination'],
  ['a relative stateRoot', () => base({ stateRoot: 'run/berth' }), 'stateRoot'],
  ['resources not an object', () => base({ linux: { resources: 3 } }), 'linux.resources'],
  ['a misspelt resources section', () => base({ linux: { resources: { memroy: {} } } }), 'linux.resources.memroy'],
  ['cgroupsPath not a string', () => base({ linux: { cgroupsPath: 1 } }), 'linux.cgroupsPath'],
  ['cgroupsPath naming the root', () => base({ linux: { cgroupsPath: '/' } }), 'linux.cgroupsPath'],
  ['annotations not an object', () => base({ annotations: ['a'] }), 'annotations'],
  ['an annotation that is not a string', () => base({ annotations: { k: 1 } }), 'annotations.k'],
  ['a relative masked path', () => base({ linux: { maskedPaths: ['proc/kcore'] } }), 'linux.maskedPaths[0]'],
  ['a masked path that is not a string', () => base({ linux: { maskedPaths: [1] } }), 'linux.maskedPaths[0]'],
  ['readonlyPaths not an array', () => base({ linux: { readonlyPaths: '/proc' } }), 'linux.readonlyPaths'],
  ['an unknown rootfs propagation', () => base({ linux: { rootfsPropagation: 'sideways' } }), 'linux.rootfsPropagation'],
  ['dieWithParent not a boolean', () => base({ dieWithParent: 1 }), 'dieWithParent'],
  ['a device outside /dev', () => base({ linux: { devices: [{ path: '/tmp/x', type: 'c', major: 1, minor: 3 }] } }), 'linux.devices[0].path'],
  ['an unknown device type', () => base({ linux: { devices: [{ path: '/dev/x', type: 'q', major: 1, minor: 3 }] } }), 'linux.devices[0].type'],
  ['a device without a major', () => base({ linux: { devices: [{ path: '/dev/x', type: 'c', minor: 3 }] } }), 'linux.devices[0].major'],
  ['a device minor out of range', () => base({ linux: { devices: [{ path: '/dev/x', type: 'b', major: 8, minor: 0x100000 }] } }), 'linux.devices[0].minor'],
  ['a device mode out of range', () => base({ linux: { devices: [{ path: '/dev/x', type: 'c', major: 1, minor: 3, fileMode: 0o10000 }] } }), 'linux.devices[0].fileMode'],
  ['an unknown namespace', () => base({ linux: { namespaces: [{ type: 'mnt' }] } }), 'linux.namespaces[0].type'],
  ['a namespace listed twice', () => base({ linux: { namespaces: [{ type: 'pid' }, { type: 'pid' }] } }), 'linux.namespaces[1].type'],
  ['the short name net (the OCI type is network)', () => base({ linux: { namespaces: [{ type: 'net' }] } }), 'linux.namespaces[0].type'],
  ['a relative namespace path (known type)', () => base({ linux: { namespaces: [{ type: 'network', path: 'proc/1/ns/net' }] } }), 'linux.namespaces[0].path'],
  ['namespaces not an array', () => base({ linux: { namespaces: { type: 'pid' } } }), 'linux.namespaces'],
];

for (const [what, make, field] of rejections) {
  test(`rejected: ${what} -> ${field}`, async (t) => {
    await rejectsField(t, () => normalize(make()), field);
  });
}

test('a rejected config is a ConfigError raised before any side effect (no state root is made)', async (t) => {
  const stateRoot = path.join(dir, 'state-never-made');
  await rejectsField(t, () => normalize(base({ stateRoot, linux: { resources: { pids: { limit: -2 } } } })), 'linux.resources.pids.limit');
  t.false(fs.existsSync(stateRoot));
});

// OCI sections and fields berth does not implement: refused naming the JSON
// path, before anything exists; an empty object (or null) asks for nothing.
test('linux.intelRdt, linux.netDevices, process.commandLine and the other platforms\' sections are refused with the reason', async (t) => {
  await rejectsField(t, () => normalize(base({ linux: { intelRdt: { closID: 'guaranteed', l3CacheSchema: 'L3:0=7f0' } } })), 'linux.intelRdt', /Intel RDT \(resctrl\) is not supported by berth/);
  await rejectsField(t, () => normalize(base({ linux: { intelRdt: { enableMonitoring: true } } })), 'linux.intelRdt', /resctrl/);
  await rejectsField(t, () => normalize(base({ linux: { netDevices: { eth1: { name: 'net0' } } } })), 'linux.netDevices', /network devices/);
  await rejectsField(t, () => normalize(base({ process: { args: ['/bin/true'], commandLine: 'cmd /c dir' } })), 'process.commandLine', /Windows-only.*process\.args/);
  await rejectsField(t, () => normalize(base({ windows: { layerFolders: ['C:\\l'] } })), 'windows', /Windows containers/);
  await rejectsField(t, () => normalize(base({ solaris: { milestone: 'svc:/milestone/container:default' } })), 'solaris', /Solaris/);
  await rejectsField(t, () => normalize(base({ zos: { namespaces: [] } })), 'zos', /z\/OS/);
  await rejectsField(t, () => normalize(base({ vm: { kernel: { path: '/vmlinuz' } } })), 'vm', /VM-based runtimes/);
  for (const empty of [{}, null]) {
    await t.notThrowsAsync(() => normalize(base({ linux: { intelRdt: empty, netDevices: empty }, windows: empty, vm: empty })));
  }
});

test('the refusals come from a bundle config.json too, and the resources ones name linux.resources', async (t) => {
  const bundle = path.join(dir, 'bundle-unsupported');
  fs.mkdirSync(bundle, { recursive: true });
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify({ ociVersion: '1.2.0', root: { path: rootfs }, process: { args: ['/bin/true'] }, linux: { intelRdt: { closID: 'x' } } }));
  await rejectsField(t, () => normalize({ bundle }), 'linux.intelRdt');
  await rejectsField(t, () => normalize(base({ linux: { resources: { network: { classID: 7 } } } })), 'linux.resources.network.classID', /net_cls/);
  await rejectsField(t, () => normalize(base({ linux: { resources: { rdma: { mlx5_0: { hcaHandles: 1 } } } } })), 'linux.resources.rdma.mlx5_0', /rdma/);
});

test('memory.kernel in a config warns once (the resources are validated twice: as given and with the device rules)', async (t) => {
  const heard = [];
  const listener = (w) => heard.push(w);
  process.on('warning', listener);
  try {
    await normalize(base({ linux: { resources: { memory: { kernel: 1 << 26 } } } }));
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', listener);
  }
  t.deepEqual(heard.filter((w) => w.code === 'BERTH_IGNORED_FIELD').map((w) => w.message.split(' ')[0]), ['linux.resources.memory.kernel']);
});
