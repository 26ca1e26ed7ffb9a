// containerPlan / execPlan: the plain-data plan the child executes, from a
// normalized config and fake host facts (no addon call, no kernel).
import test from 'ava';
import os from 'node:os';
import { containerPlan, execPlan, processPlan } from '../../dist/lib/launch/plan.js';
import { normalizeConfig } from '../../dist/lib/config/normalize.js';
import { resolveExecProcess } from '../../dist/lib/config/exec.js';
import { CAPABILITIES, CLONE_NS, RLIMITS, S_IFBLK, S_IFCHR, S_IFIFO } from '../../dist/lib/kernel/abi.js';
import { DEFAULT_DEV_LINKS, DEFAULT_DEVICES, DEFAULT_PATH } from '../../dist/lib/config/defaults.js';
import { fakeCaller, fakeCgroupInfo, fakeHostFacts, removeDir, scratchDir } from './helpers.js';

const hybrid = fakeHostFacts('hybrid');
const v2 = fakeHostFacts('v2');
let rootfs;
test.before(() => {
  rootfs = scratchDir('plan');
});
test.after.always(() => removeDir(rootfs));

const config = (extra = {}) => normalizeConfig({ id: 'p1', rootfs, process: { args: ['/bin/sh'] }, ...extra }, fakeCgroupInfo(), fakeCaller());
const plan = async (extra, inputs = {}) => containerPlan(await config(extra), { host: hybrid, fds: [0, 1, 2], joins: [], ...inputs });
const bit = (name) => 1n << BigInt(CAPABILITIES.indexOf(name));
const RLIM_INFINITY = 2n ** 64n - 1n;

test('clone flags: one CLONE_NEW* per new namespace, none for joined ones', async (t) => {
  const p = await plan();
  const want = CLONE_NS.pid | CLONE_NS.network | CLONE_NS.ipc | CLONE_NS.uts | CLONE_NS.mount | CLONE_NS.cgroup;
  t.is(p.cloneFlags, want);
  t.is(p.cloneFlags, 0x20000000 | 0x40000000 | 0x08000000 | 0x04000000 | 0x00020000 | 0x02000000);
  const j = await plan({ linux: { namespaces: [{ type: 'mount' }, { type: 'network', path: '/proc/self/ns/net' }, { type: 'time' }] } });
  t.is(j.cloneFlags, CLONE_NS.mount | CLONE_NS.time);
  t.false(j.loopbackUp, 'a joined network namespace is not ours to configure');
  t.true(p.loopbackUp);
});

test('the joins, fds, cgroup fd and execAfterReady come from the inputs', async (t) => {
  const p = await plan({}, { joins: [{ fd: 9, nstype: CLONE_NS.network }], fds: [0, 1, 2, 5], cgroupFd: 12, execAfterReady: true });
  t.deepEqual(p.joins, [{ fd: 9, nstype: CLONE_NS.network }]);
  t.deepEqual(p.fds, [0, 1, 2, 5]);
  t.is(p.cgroupFd, 12);
  t.true(p.execAfterReady);
  const q = await plan({}, { cgroupFd: -1 });
  t.false('cgroupFd' in q, 'a negative cgroup fd means none');
  t.false(q.execAfterReady);
});

test('a v1 placement moves the cgroup namespace after the child placed itself', async (t) => {
  const placement = { dirs: [{ path: '/sys/fs/cgroup/pids/berth/p1', leaf: true, cpuset: false }], writes: [{ path: '/x/pids.max', value: '10' }], procs: ['/sys/fs/cgroup/pids/berth/p1/cgroup.procs'] };
  const p = await plan({}, { placement });
  t.is(p.cloneFlags & CLONE_NS.cgroup, 0);
  t.true(p.unshareCgroupns);
  t.deepEqual(p.cgroupDirs, placement.dirs);
  t.deepEqual(p.cgroupWrites, [{ path: '/x/pids.max', value: '10', optional: false }]);
  t.deepEqual(p.cgroupProcs, placement.procs);
  const noNs = await plan({ linux: { namespaces: [{ type: 'mount' }] } }, { placement });
  t.false(noNs.unshareCgroupns, 'no cgroup namespace asked, none made late');
  const none = await plan();
  t.false(none.unshareCgroupns);
  t.false('cgroupDirs' in none);
});

test('capability masks: one bit per capability number, in bounding/effective/permitted/inheritable/ambient order', async (t) => {
  const p = await plan();
  const dflt = bit('CAP_AUDIT_WRITE') | bit('CAP_KILL') | bit('CAP_NET_BIND_SERVICE');
  t.is(dflt, (1n << 29n) | (1n << 5n) | (1n << 10n));
  t.deepEqual(p.caps, [dflt, dflt, dflt, 0n, 0n]);
  t.true(p.setCaps);
  t.is(p.capLast, 40);
  const q = await plan({
    process: {
      args: ['/bin/sh'],
      capabilities: { bounding: ['CAP_CHOWN', 'CAP_CHECKPOINT_RESTORE'], permitted: ['CAP_CHOWN'], inheritable: ['CAP_CHOWN'], ambient: ['CAP_CHOWN'] },
    },
  });
  t.deepEqual(q.caps, [1n | (1n << 40n), 0n, 1n, 1n, 1n]);
});

test('rlimits become resource numbers and BigInt values; >= 2^53-1 is RLIM_INFINITY', async (t) => {
  const max = Number.MAX_SAFE_INTEGER;
  const p = await plan({
    process: {
      args: ['/bin/sh'],
      rlimits: [{ type: 'RLIMIT_NOFILE', soft: 100, hard: 200 }, { type: 'RLIMIT_CORE', soft: max - 1, hard: max }, { type: 'RLIMIT_RTTIME', soft: 0, hard: 0 }],
    },
  });
  t.deepEqual(p.rlimits, [
    { resource: 7, soft: 100n, hard: 200n },
    { resource: RLIMITS.RLIMIT_CORE, soft: BigInt(max - 1), hard: RLIM_INFINITY },
    { resource: 15, soft: 0n, hard: 0n },
  ]);
  t.deepEqual((await plan()).rlimits, [{ resource: RLIMITS.RLIMIT_NOFILE, soft: 1024n, hard: 1024n }]);
});

test('the process part: args, env, PATH for the lookup, ids, umask, terminal size, oom/io', async (t) => {
  const p = await plan({
    process: {
      args: ['sh', '-c', 'true'],
      env: ['PATH=/opt/bin', 'A=1'],
      cwd: '/work',
      user: { uid: 7, gid: 8, additionalGids: [9], umask: 0o027 },
      terminal: true,
      consoleSize: { width: 132, height: 43 },
      oomScoreAdj: 10,
      ioPriority: { class: 'IOPRIO_CLASS_RT', priority: 2 },
      noNewPrivileges: false,
    },
  });
  t.deepEqual(p.args, ['sh', '-c', 'true']);
  t.deepEqual(p.env, ['PATH=/opt/bin', 'A=1', 'TERM=xterm']);
  t.is(p.pathEnv, '/opt/bin');
  t.is(p.cwd, '/work');
  t.is(p.uid, 7);
  t.is(p.gid, 8);
  t.deepEqual(p.groups, [9]);
  t.true(p.setGroups);
  t.is(p.umask, 0o027);
  t.true(p.terminal);
  t.is(p.consoleWidth, 132);
  t.is(p.consoleHeight, 43);
  t.is(p.oomScoreAdj, 10);
  t.is(p.ioPriority, (1 << 13) | 2);
  t.false(p.noNewPrivs);
  const d = await plan();
  t.is(d.pathEnv, DEFAULT_PATH);
  t.is(d.consoleWidth, 0);
  t.is(d.consoleHeight, 0);
  t.false('oomScoreAdj' in d);
  t.false('ioPriority' in d);
  t.true(d.noNewPrivs);
});

test('processPlan falls back to the default PATH when the env has none', (t) => {
  const p = processPlan(
    { args: ['x'], env: ['A=1'], cwd: '/', uid: 0, gid: 0, additionalGids: [], umask: 0o22, capabilities: { bounding: [], effective: [], permitted: [], inheritable: [], ambient: [] }, rlimits: [], noNewPrivileges: true, terminal: false, stdio: [] },
    hybrid,
  );
  t.is(p.pathEnv, DEFAULT_PATH);
  t.deepEqual(p.caps, [0n, 0n, 0n, 0n, 0n]);
});

test('devices: the defaults on a /dev tmpfs, then the config\'s; a config device overrides a default by path', async (t) => {
  const p = await plan({
    linux: {
      devices: [
        { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o600, uid: 5, gid: 6 },
        { path: '/dev/sda', type: 'b', major: 8, minor: 0 },
        { path: '/dev/fifo', type: 'p' },
        { path: '/dev/kmsg', type: 'u', major: 1, minor: 11 },
      ],
    },
  });
  const defaults = DEFAULT_DEVICES.map((d) => ({ path: d.path, mode: S_IFCHR | 0o666, major: d.major, minor: d.minor, uid: 0, gid: 0 }));
  defaults[0] = { path: '/dev/null', mode: S_IFCHR | 0o600, major: 1, minor: 3, uid: 5, gid: 6 };
  t.deepEqual(p.devices, [
    ...defaults,
    { path: '/dev/sda', mode: S_IFBLK | 0o666, major: 8, minor: 0, uid: 0, gid: 0 },
    { path: '/dev/fifo', mode: S_IFIFO | 0o666, major: 0, minor: 0, uid: 0, gid: 0 },
    { path: '/dev/kmsg', mode: S_IFCHR | 0o666, major: 1, minor: 11, uid: 0, gid: 0 },
  ]);
  t.is(p.devices.filter((d) => d.path === '/dev/null').length, 1);
  t.deepEqual(p.links, DEFAULT_DEV_LINKS.map((l) => ({ ...l })));
});

test('no /dev tmpfs (a bind-mounted /dev, or none): no default devices and no /dev links', async (t) => {
  const p = await plan({ mounts: [{ destination: '/proc', type: 'proc' }], linux: { devices: [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }] } });
  t.deepEqual(p.devices.map((d) => d.path), ['/dev/fuse']);
  t.deepEqual(p.links, []);
  const b = await plan({ mounts: [{ destination: '/dev', type: 'bind', source: '/dev', options: ['rbind'] }] });
  t.deepEqual(b.devices, []);
  t.deepEqual(b.links, []);
});

test('mounts: kinds, flags and data carried; a cgroup mount is cgroup2 on a pure v2 host, a tmpfs of per-hierarchy binds on v1/hybrid', async (t) => {
  const mounts = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid'] },
    { destination: '/data', type: 'bind', source: rootfs, options: ['rbind', 'ro'] },
  ];
  const host = { capLast: 40, cgroups: { layout: 'hybrid', unifiedMount: '/sys/fs/cgroup/unified', v1: { memory: '/sys/fs/cgroup/memory', cpu: '/sys/fs/cgroup/cpu,cpuacct', cpuacct: '/sys/fs/cgroup/cpu,cpuacct' } } };
  const cgroupPaths = ['/sys/fs/cgroup/memory/berth/x', '/sys/fs/cgroup/cpu,cpuacct/berth/x', '/sys/fs/cgroup/unified/berth/x', '/elsewhere/x'];
  const h = await plan({ mounts }, { host, cgroupPaths });
  t.deepEqual(h.mounts.map((m) => m.destination), ['/proc', '/sys/fs/cgroup', '/sys/fs/cgroup/memory', '/sys/fs/cgroup/cpu,cpuacct', '/sys/fs/cgroup/unified', '/data']);
  t.like(h.mounts[0], { source: 'proc', type: 'proc', kind: 0, flags: 2, recursive: false });
  t.like(h.mounts[1], { type: 'tmpfs', data: 'mode=755', kind: 0, flags: 2 });
  t.like(h.mounts[2], { source: '/sys/fs/cgroup/memory/berth/x', kind: 1, recursive: false, attrSet: 0xf });
  t.like(h.mounts[5], { source: rootfs, kind: 1, recursive: true, attrSet: 1, destIsFile: false });
  t.deepEqual(h.links.filter((l) => l.path.startsWith('/sys/fs/cgroup')), [
    { target: 'cpu,cpuacct', path: '/sys/fs/cgroup/cpu' },
    { target: 'cpu,cpuacct', path: '/sys/fs/cgroup/cpuacct' },
  ]);
  t.true(h.readonly.includes('/sys/fs/cgroup'), 'the tmpfs is read-only once the binds are in it');
  t.false('type' in h.mounts[5]);
  t.false('data' in h.mounts[0], 'no fs data, no data field');
  const rw = await plan({ mounts: [{ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['rw'] }] }, { host, cgroupPaths });
  t.is(rw.mounts[1].attrSet & 1, 0, 'rw: the binds are writable');
  t.false(rw.readonly.includes('/sys/fs/cgroup'));
  const v1 = await plan({ mounts }, { host: fakeHostFacts('v1') });
  t.deepEqual(v1.mounts.map((m) => m.destination), ['/proc', '/sys/fs/cgroup', '/data'], 'no cgroup of its own: the tmpfs alone');
  const p2 = await plan({ mounts: [...mounts, { destination: '/sys/fs/cgroup/x', type: 'cgroup2', source: 'cgroup2' }] }, { host: v2 });
  t.deepEqual(p2.mounts.map((m) => m.destination), ['/proc', '/sys/fs/cgroup', '/data', '/sys/fs/cgroup/x']);
  t.is(p2.mounts[1].type, 'cgroup2');
  t.is(p2.mounts[3].type, 'cgroup2');
  const tmp = await plan({ mounts: [{ destination: '/tmp', type: 'tmpfs', options: ['size=1m', 'mode=1777'] }] });
  t.is(tmp.mounts[0].data, 'size=1m,mode=1777');
});

test('rootfs work (mounts, devices, links, masked/readonly paths) only with a new mount namespace', async (t) => {
  const withNs = await plan();
  t.true(withNs.setupRootfs);
  t.true(withNs.mounts.length > 0);
  t.true(withNs.devices.length > 0);
  t.true(withNs.masked.includes('/proc/kcore'));
  t.true(withNs.readonly.includes('/proc/sys'));
  // Config validation refuses both cases (no rootfs without a mount namespace
  // of its own); the plan still must not do rootfs work for them.
  const resolved = await config({ linux: { devices: [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }] } });
  const planOf = (namespaces) => containerPlan({ ...resolved, namespaces }, { host: hybrid, fds: [0, 1, 2], joins: [] });
  const p = planOf([{ type: 'pid' }, { type: 'uts' }]);
  t.false(p.setupRootfs);
  t.deepEqual(p.mounts, []);
  t.deepEqual(p.devices, []);
  t.deepEqual(p.links, []);
  t.deepEqual(p.masked, []);
  t.deepEqual(p.readonly, []);
  t.is(p.rootfs, withNs.rootfs, 'the rootfs is still named (the child chdirs to it)');
  // A joined one is handed to this container and set up like a new one (runc does the same).
  const joined = planOf([{ type: 'mount', path: '/proc/self/ns/mnt' }]);
  t.true(joined.setupRootfs, 'a joined mount namespace is set up too');
  t.deepEqual(joined.masked, resolved.maskedPaths);
});

test('sysctls become /proc/sys paths; hostname, domainname, readonly root, propagation, parent-death signal', async (t) => {
  const p = await plan({
    hostname: 'box',
    domainname: 'lan',
    root: { path: rootfs, readonly: true },
    rootfs: undefined,
    linux: { sysctl: { 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '65536' }, rootfsPropagation: 'shared' },
  });
  t.deepEqual(p.sysctls, [{ path: '/proc/sys/net/ipv4/ip_forward', value: '1' }, { path: '/proc/sys/kernel/shmmax', value: '65536' }]);
  t.is(p.hostname, 'box');
  t.is(p.domainname, 'lan');
  t.true(p.readonlyRoot);
  t.is(p.rootfsPropagation, 1 << 20);
  t.is(p.parentDeathSignal, os.constants.signals.SIGKILL);
  t.is((await plan({ dieWithParent: false })).parentDeathSignal, 0);
  t.false('hostname' in (await plan({ linux: { namespaces: [{ type: 'mount' }] } })));
});

test('exec joins every namespace of the config (new or joined) through the pidfd, and mounts nothing', async (t) => {
  const cfg = await config({ linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'network', path: '/proc/self/ns/net' }, { type: 'ipc' }] } });
  const proc = resolveExecProcess(cfg.process, { args: ['/bin/ps'], env: ['X=1'] });
  const p = execPlan(cfg, proc, { host: hybrid, fds: [0, 1, 2], joinPidfd: 20, joinRootFd: 21, cgroupFd: 22 });
  t.is(p.joinNsFlags, CLONE_NS.pid | CLONE_NS.mount | CLONE_NS.network | CLONE_NS.ipc);
  t.is(p.cloneFlags, 0, 'a fresh clone, no new namespace');
  t.deepEqual(p.joins, []);
  t.is(p.joinPidfd, 20);
  t.is(p.joinRootFd, 21);
  t.is(p.cgroupFd, 22);
  t.false(p.setupRootfs);
  t.deepEqual([p.mounts, p.devices, p.links, p.masked, p.readonly, p.sysctls], [[], [], [], [], [], []]);
  t.false(p.loopbackUp);
  t.false(p.readonlyRoot);
  t.false('hostname' in p);
  t.deepEqual(p.args, ['/bin/ps']);
  t.deepEqual(p.env, [`PATH=${DEFAULT_PATH}`, 'X=1']);
  t.is(p.parentDeathSignal, os.constants.signals.SIGKILL);
  const all = execPlan(await config(), proc, { host: hybrid, fds: [], joinPidfd: 1, joinRootFd: 2 });
  t.is(all.joinNsFlags, CLONE_NS.pid | CLONE_NS.network | CLONE_NS.ipc | CLONE_NS.uts | CLONE_NS.mount | CLONE_NS.cgroup);
  t.false('cgroupFd' in all);
});

test('the plan is plain data: no functions, no shared references into the config', async (t) => {
  const cfg = await config();
  const p = containerPlan(cfg, { host: hybrid, fds: [0, 1, 2], joins: [] });
  p.links[0].path = '/changed';
  t.not(containerPlan(cfg, { host: hybrid, fds: [0, 1, 2], joins: [] }).links[0].path, '/changed');
  const walk = (v) => (typeof v === 'function' ? 1 : v && typeof v === 'object' ? Object.values(v).reduce((n, x) => n + walk(x), 0) : 0);
  t.is(walk(p), 0);
});
