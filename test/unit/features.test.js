// features(): the runtime-spec features document (features.md,
// features-linux.md). Root-free: its shape, and that what it lists is what
// berth's own validation accepts — a caller that asks first must not be refused.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { features } from '../../dist/lib/index.js';
import { resolveMount } from '../../dist/lib/config/mounts.js';
import { normalizeNamespaces } from '../../dist/lib/config/namespaces.js';
import { normalizeProcess } from '../../dist/lib/config/process.js';
import { normalizeMemoryPolicy } from '../../dist/lib/config/memory-policy.js';
import { normalizeHooks } from '../../dist/lib/config/hooks.js';
import { CAPABILITIES } from '../../dist/lib/kernel/abi.js';
import { fakeCaller } from './helpers.js';

const SEMVER = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;
const version = (v) => v.split(/[.-]/).slice(0, 3).map(Number);

test('the document has the runtime-spec shape and only its properties', (t) => {
  const f = features();
  t.regex(f.ociVersionMin, SEMVER);
  t.regex(f.ociVersionMax, SEMVER);
  const [a, b] = [version(f.ociVersionMin), version(f.ociVersionMax)];
  t.true(a[0] < b[0] || (a[0] === b[0] && (a[1] < b[1] || (a[1] === b[1] && a[2] <= b[2]))), 'min <= max');
  t.deepEqual(Object.keys(f).sort(), ['annotations', 'hooks', 'linux', 'mountOptions', 'ociVersionMax', 'ociVersionMin', 'potentiallyUnsafeConfigAnnotations']);
  t.deepEqual(
    Object.keys(f.linux).sort(),
    ['apparmor', 'capabilities', 'cgroup', 'intelRdt', 'memoryPolicy', 'mountExtensions', 'namespaces', 'netDevices', 'seccomp', 'selinux'],
  );
  t.deepEqual(Object.keys(f.linux.cgroup).sort(), ['rdma', 'systemd', 'systemdUser', 'v1', 'v2']);
  for (const v of Object.values(f.linux.cgroup)) t.is(typeof v, 'boolean');
  t.deepEqual(Object.keys(f.linux.seccomp).sort(), ['actions', 'archs', 'enabled', 'knownFlags', 'operators', 'supportedFlags']);
  t.is(typeof f.linux.apparmor.enabled, 'boolean');
  t.is(typeof f.linux.selinux.enabled, 'boolean');
  t.is(typeof f.linux.mountExtensions.idmap.enabled, 'boolean');
  for (const [k, v] of Object.entries(f.annotations)) t.is(typeof v, 'string', k);
  t.deepEqual(JSON.parse(JSON.stringify(f)), f, 'plain JSON');
});

test('each call returns a fresh document', (t) => {
  const f = features();
  f.linux.namespaces.push('bogus');
  f.mountOptions.length = 0;
  t.false(features().linux.namespaces.includes('bogus'));
  t.true(features().mountOptions.length > 0);
});

test('every namespace listed is accepted by validation, and the kernel has it', (t) => {
  const { namespaces } = features().linux;
  t.true(namespaces.includes('mount') && namespaces.includes('pid'));
  for (const type of namespaces) {
    t.notThrows(() => normalizeNamespaces([{ type }], 'linux.namespaces'), type);
    const procName = { mount: 'mnt', network: 'net' }[type] ?? type;
    t.true(fs.existsSync(`/proc/self/ns/${procName}`), `/proc/self/ns/${procName}`);
  }
  t.is(namespaces.includes('time'), fs.existsSync('/proc/self/ns/time'));
});

test('every mount option listed is accepted by the mount validation (a bind mount refuses unknown ones, and superblock flags it cannot set)', (t) => {
  const { mountOptions } = features();
  t.true(mountOptions.includes('rbind') && mountOptions.includes('ro') && mountOptions.includes('rprivate'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-features-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const superblock = [];
  for (const opt of mountOptions) {
    try {
      resolveMount({ destination: '/x', type: 'bind', source: dir, options: ['bind', opt] }, 'mounts[0]', undefined);
    } catch (err) {
      t.regex(err.message, /filesystem \(superblock\) flag/, opt);
      superblock.push(opt);
      t.notThrows(() => resolveMount({ destination: '/x', type: 'tmpfs', options: [opt] }, 'mounts[0]', undefined), opt);
    }
  }
  t.deepEqual(superblock.sort(), ['dirsync', 'iversion', 'lazytime', 'mand', 'sync']);
  t.throws(() => resolveMount({ destination: '/x', type: 'bind', source: dir, options: ['bind', 'not-an-option'] }, 'mounts[0]', undefined));
});

test('every capability listed is accepted by validation, and this kernel knows it', (t) => {
  const { capabilities } = features().linux;
  const last = Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
  // Those this kernel has, as far as berth knows their names.
  t.is(capabilities.length, Math.min(last + 1, CAPABILITIES.length));
  for (const cap of capabilities) {
    t.notThrows(() => normalizeProcess({ args: ['x'], capabilities: { bounding: [cap] } }, 'process', fakeCaller()), cap);
  }
});

test('every memory policy mode and flag listed is accepted by validation', (t) => {
  const { modes, flags } = features().linux.memoryPolicy;
  t.true(modes.includes('MPOL_DEFAULT') && modes.includes('MPOL_BIND'));
  for (const mode of modes) {
    const nodes = mode === 'MPOL_DEFAULT' || mode === 'MPOL_LOCAL' ? undefined : '0';
    t.notThrows(() => normalizeMemoryPolicy({ mode, ...(nodes ? { nodes } : {}) }, 'linux.memoryPolicy'), mode);
  }
  for (const flag of flags) t.notThrows(() => normalizeMemoryPolicy({ mode: 'MPOL_BIND', nodes: '0', flags: [flag] }, 'linux.memoryPolicy'), flag);
});

test('what berth refuses is not advertised: seccomp (until it lands), Intel RDT, LSMs this host lacks', (t) => {
  const f = features();
  // Every hook kind of runtime-spec 1.3, each one accepted by the config.
  t.deepEqual(f.hooks, ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
  for (const kind of f.hooks) t.notThrows(() => normalizeHooks({ [kind]: [{ path: '/bin/true' }] }), kind);
  const { seccomp } = f.linux;
  if (!seccomp.enabled) {
    for (const k of ['actions', 'operators', 'archs', 'knownFlags', 'supportedFlags']) t.deepEqual(seccomp[k], [], k);
  } else {
    t.true(seccomp.actions.includes('SCMP_ACT_ALLOW'));
  }
  // Idmapped mounts and user namespaces go together (the idmapping is the container's user namespace).
  t.is(f.linux.mountExtensions.idmap.enabled, fs.existsSync('/proc/self/ns/user'));
  t.is(f.linux.namespaces.includes('user'), fs.existsSync('/proc/self/ns/user'));
  t.true(f.mountOptions.includes('idmap') && f.mountOptions.includes('ridmap'));
  t.false(f.linux.intelRdt.enabled);
  t.false(f.linux.netDevices.enabled);
  const apparmorOk = (() => {
    try {
      normalizeProcess({ args: ['x'], apparmorProfile: 'p' }, 'process', fakeCaller());
      return true;
    } catch {
      return false;
    }
  })();
  t.is(f.linux.apparmor.enabled, apparmorOk, 'apparmor.enabled is what validation does with a profile');
  const selinuxOk = (() => {
    try {
      normalizeProcess({ args: ['x'], selinuxLabel: 'a:b:c:s0' }, 'process', fakeCaller());
      return true;
    } catch {
      return false;
    }
  })();
  t.is(f.linux.selinux.enabled, selinuxOk, 'selinux.enabled is what validation does with a label');
});
