// Mount option parsing (config/mounts.js): flags for mount(2), attributes for
// mount_setattr(2) (bind mounts), propagation, fs data, and the refusals.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { propagationFlag, resolveMount } from '../../dist/lib/config/mounts.js';
import { MOUNT_ATTR, MS } from '../../dist/lib/kernel/abi.js';
import { rejectsField, removeDir, scratchDir } from './helpers.js';

let dir;
let file;
test.before(() => {
  dir = scratchDir('mounts');
  file = path.join(dir, 'resolv.conf');
  fs.writeFileSync(file, '');
});
test.after.always(() => removeDir(dir));

const resolve = (m, bundle) => resolveMount(m, 'mounts[0]', bundle);

test('a filesystem mount: flags from the known options, the rest is fs data in order', (t) => {
  const m = resolve({ destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] });
  t.deepEqual(m, {
    destination: '/dev',
    type: 'tmpfs',
    source: 'tmpfs',
    bind: false,
    recursive: false,
    flags: MS.NOSUID | MS.STRICTATIME,
    attrSet: MOUNT_ATTR.NOSUID | MOUNT_ATTR.STRICTATIME,
    propagation: 0,
    data: 'mode=755,size=65536k',
    destIsFile: false,
  });
});

test('no options and no source', (t) => {
  const m = resolve({ destination: '/proc', type: 'proc' });
  t.is(m.flags, 0);
  t.is(m.attrSet, 0);
  t.is(m.data, '');
  t.false('source' in m);
});

test('every flag option sets its MS_ bit', (t) => {
  const cases = {
    ro: MS.RDONLY, nosuid: MS.NOSUID, nodev: MS.NODEV, noexec: MS.NOEXEC, sync: MS.SYNCHRONOUS, dirsync: MS.DIRSYNC,
    mand: MS.MANDLOCK, noatime: MS.NOATIME, nodiratime: MS.NODIRATIME, relatime: MS.RELATIME, strictatime: MS.STRICTATIME,
    lazytime: MS.LAZYTIME,
  };
  for (const [opt, bit] of Object.entries(cases)) t.is(resolve({ destination: '/x', type: 'tmpfs', options: [opt] }).flags, bit, opt);
});

test('the runtime-spec options added in 1.1/1.2: nosymfollow/symfollow, iversion, silent/loud, and every recursive r-variant', (t) => {
  t.is(resolve({ destination: '/x', type: 'tmpfs', options: ['nosymfollow'] }).flags, MS.NOSYMFOLLOW);
  t.is(resolve({ destination: '/x', type: 'tmpfs', options: ['nosymfollow', 'symfollow'] }).flags, 0);
  t.is(resolve({ destination: '/x', type: 'tmpfs', options: ['iversion', 'silent'] }).flags, MS.I_VERSION | MS.SILENT);
  t.is(resolve({ destination: '/x', type: 'tmpfs', options: ['iversion', 'noiversion', 'silent', 'loud'] }).flags, 0);
  t.is(resolve({ destination: '/d', source: dir, options: ['bind', 'nosymfollow'] }).attrSet, MOUNT_ATTR.NOSYMFOLLOW);
  // Recursive variants: the plain option's flag and attribute (applied to the whole cloned tree with rbind).
  const r = resolve({ destination: '/d', source: dir, options: ['rbind', 'rro', 'rnosuid', 'rnodev', 'rnoexec', 'rnoatime', 'rnosymfollow'] });
  t.true(r.recursive);
  t.is(r.attrSet, MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOEXEC | MOUNT_ATTR.NOATIME | MOUNT_ATTR.NOSYMFOLLOW);
  t.is(resolve({ destination: '/d', source: dir, options: ['rbind', 'rro', 'rrw', 'rnoexec', 'rexec', 'rnosuid', 'rsuid', 'rnodev', 'rdev', 'rnosymfollow', 'rsymfollow'] }).attrSet, 0);
  t.is(resolve({ destination: '/x', type: 'tmpfs', options: ['rro', 'rnodiratime', 'rstrictatime'] }).flags, MS.RDONLY | MS.NODIRATIME | MS.STRICTATIME);
  t.is(resolve({ destination: '/x', type: 'tmpfs', options: ['rnoatime', 'ratime', 'rrelatime', 'rnorelatime', 'rnostrictatime'] }).flags, 0);
  t.is(resolve({ destination: '/x', type: 'tmpfs', options: ['rro'] }).data, '', 'never passed as filesystem data');
});

test('refused mount options name the option: superblock flags on a bind, remount, tmpcopyup', async (t) => {
  for (const opt of ['sync', 'dirsync', 'mand', 'lazytime', 'iversion']) {
    await rejectsField(t, () => resolve({ destination: '/d', source: dir, options: ['rbind', opt] }), 'mounts[0].options[1]', /superblock\) flag: a bind mount/);
  }
  t.notThrows(() => resolve({ destination: '/d', source: dir, options: ['rbind', 'async', 'nomand', 'nolazytime', 'noiversion'] }), 'the defaults may be said');
  await rejectsField(t, () => resolve({ destination: '/x', type: 'tmpfs', options: ['nodev', 'remount'] }), 'mounts[0].options[1]', /"remount" is not supported/);
  await rejectsField(t, () => resolve({ destination: '/tmp', type: 'tmpfs', options: ['tmpcopyup'] }), 'mounts[0].options[0]', /"tmpcopyup" is not supported by berth/);
  await rejectsField(t, () => resolve({ destination: '/d', source: dir, options: ['bind', 'tmpcopyup'] }), 'mounts[0].options[1]', /tmpcopyup/);
});

test('a later option clears what an earlier one set (mount(8): the last one wins)', (t) => {
  const pairs = [['ro', 'rw'], ['nosuid', 'suid'], ['nodev', 'dev'], ['noexec', 'exec'], ['sync', 'async'], ['mand', 'nomand'],
    ['noatime', 'atime'], ['nodiratime', 'diratime'], ['relatime', 'norelatime'], ['strictatime', 'nostrictatime'], ['lazytime', 'nolazytime']];
  for (const [set, clear] of pairs) t.is(resolve({ destination: '/x', type: 'tmpfs', options: [set, clear] }).flags, 0, `${set},${clear}`);
  t.is(resolve({ destination: '/x', type: 'tmpfs', options: ['rw', 'ro'] }).flags, MS.RDONLY);
});

test('a bind mount: type bind or a bind/rbind option; the source must exist; a file source is a file destination', (t) => {
  const a = resolve({ destination: '/data', type: 'bind', source: dir, options: ['ro', 'nosuid'] });
  t.true(a.bind);
  t.false(a.recursive);
  t.false('type' in a, 'a bind mount has no fs type');
  t.is(a.source, dir);
  t.is(a.attrSet, MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID);
  t.false(a.destIsFile);
  const b = resolve({ destination: '/etc/resolv.conf', source: file, options: ['rbind'] });
  t.true(b.bind);
  t.true(b.recursive);
  t.true(b.destIsFile);
  const c = resolve({ destination: '/x', type: 'none', source: dir, options: ['bind', 'rprivate'] });
  t.true(c.bind);
  t.false('type' in c);
  t.is(c.propagation, MS.PRIVATE);
});

test('rw after ro clears the read-only attribute of a bind mount', (t) => {
  t.is(resolve({ destination: '/d', source: dir, options: ['rbind', 'ro', 'rw'] }).attrSet, 0);
});

test('a later exec/suid/dev clears the attribute an earlier noexec/nosuid/nodev set on a bind mount', (t) => {
  t.is(resolve({ destination: '/d', source: dir, options: ['rbind', 'noexec', 'exec'] }).attrSet, 0, 'noexec,exec');
  t.is(resolve({ destination: '/d', source: dir, options: ['rbind', 'nosuid', 'suid'] }).attrSet, 0, 'nosuid,suid');
  t.is(resolve({ destination: '/d', source: dir, options: ['rbind', 'nodev', 'dev'] }).attrSet, 0, 'nodev,dev');
});

test('a relative bind source is taken in the bundle, and refused without one', async (t) => {
  fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
  t.is(resolve({ destination: '/d', type: 'bind', source: 'sub' }, dir).source, `${dir}/sub`);
  await rejectsField(t, () => resolve({ destination: '/d', type: 'bind', source: 'sub' }), 'mounts[0].source', /absolute/);
});

test('propagation options and propagationFlag()', async (t) => {
  const names = { private: MS.PRIVATE, rprivate: MS.PRIVATE, shared: MS.SHARED, rshared: MS.SHARED, slave: MS.SLAVE, rslave: MS.SLAVE, unbindable: MS.UNBINDABLE, runbindable: MS.UNBINDABLE };
  for (const [name, flag] of Object.entries(names)) {
    t.is(propagationFlag(name, 'f'), flag, name);
    t.is(resolve({ destination: '/x', type: 'tmpfs', options: [name] }).propagation, flag, name);
  }
  await rejectsField(t, () => propagationFlag('rpriv', 'linux.rootfsPropagation'), 'linux.rootfsPropagation', /unknown propagation "rpriv"/);
});

const rejections = [
  ['not an object', null, 'mounts[0]'],
  ['a string', '/proc', 'mounts[0]'],
  ['no destination', { type: 'proc' }, 'mounts[0].destination'],
  ['a relative destination', { destination: 'proc', type: 'proc' }, 'mounts[0].destination'],
  ['a destination with a NUL', { destination: '/a\0b', type: 'proc' }, 'mounts[0].destination'],
  ['a type that is not a string', { destination: '/p', type: 1 }, 'mounts[0].type'],
  ['a non-bind mount without a type', { destination: '/p', source: 'proc' }, 'mounts[0].type'],
  ['options not an array', { destination: '/p', type: 'proc', options: 'ro' }, 'mounts[0].options'],
  ['an option that is not a string', { destination: '/p', type: 'proc', options: ['ro', 1] }, 'mounts[0].options[1]'],
  ['a bind without a source', { destination: '/p', type: 'bind' }, 'mounts[0].source'],
  ['a bind source that does not exist', { destination: '/p', type: 'bind', source: '/nonexistent/berth-unit' }, 'mounts[0].source'],
  ['an unknown option on a bind', { destination: '/p', type: 'bind', source: '/', options: ['ro', 'mode=755'] }, 'mounts[0].options[1]'],
  ['a source that is not a string', { destination: '/p', type: 'tmpfs', source: 5 }, 'mounts[0].source'],
];

for (const [what, m, field] of rejections) {
  test(`rejected: ${what} -> ${field}`, async (t) => {
    await rejectsField(t, () => resolve(m), field);
  });
}

test('the field prefix is the caller\'s', async (t) => {
  await rejectsField(t, () => resolveMount({ destination: 'x', type: 'proc' }, 'mounts[7]', undefined), 'mounts[7].destination');
});
