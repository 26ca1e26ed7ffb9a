// commitContainer without a container: an upper directory made by hand as
// overlayfs leaves one (whiteouts as 0:0 character devices, which anyone may
// make since Linux 5.8; overlay's own xattrs), committed over an imported
// image, then read back from the store, exported and imported again; the
// config changes; the refusals, each leaving the store as it was. Root-free:
// the opaque mark needs root (the store writes trusted.overlay.opaque), so
// that part runs only as root. The real overlay is test/integration/image-commit.test.js.
import test from 'ava';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ImageError, exportImage, importImage, inspectImage, removeImage } from '../../dist/lib/index.js';
import { applyChanges, checkChanges, commitConfig, commitContainer } from '../../dist/lib/image/commit.js';
import { readFileInLayers } from '../../dist/lib/image/layer-files.js';
import { nameFile } from '../../dist/lib/image/names.js';
import { native } from '../../dist/lib/native/addon.js';
import { dockerSave, layerTar, tarMembers } from '../integration/image-fixtures.js';
import { removeDir, scratchDir } from './helpers.js';

const asRoot = process.getuid() === 0;
const S_IFCHR = 0o020000;
const sha256 = (b) => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;
const EMPTY_LAYER = sha256(Buffer.alloc(1024)); // a tar of no entries: its two zero blocks

function scratch(t) {
  const dir = scratchDir('commit');
  t.teardown(() => removeDir(dir));
  return { dir, store: path.join(dir, 'store'), upper: path.join(dir, 'upper') };
}

async function baseImage(dir, store) {
  const layer = await layerTar([
    { name: 'etc/', type: 'directory', mode: 0o755 },
    { name: 'etc/keep', data: 'kept' },
    { name: 'etc/change', data: 'old' },
    { name: 'etc/gone', data: 'deleted' },
    { name: 'dir/a', data: 'a' },
    { name: 'dir/sub/b', data: 'b' },
    { name: 'opq/old', data: 'hidden by the opaque dir' },
  ]);
  const { path: archive } = await dockerSave(path.join(dir, 'base.tar'), [layer], { repoTags: ['base:1'] });
  return importImage(archive, { store });
}

/** What an overlay leaves after: echo new > /etc/change; rm /etc/gone; rm -rf /dir; echo n > /etc/new; ln; ln -s; (root) rm -rf /opq; mkdir /opq. */
function makeUpper(upper) {
  const put = (rel, data, mode = 0o644) => {
    fs.mkdirSync(path.dirname(path.join(upper, rel)), { recursive: true });
    fs.writeFileSync(path.join(upper, rel), data, { mode });
  };
  fs.mkdirSync(upper, { mode: 0o755 });
  put('etc/change', 'new');
  native.lsetxattr(path.join(upper, 'etc/change'), asRoot ? 'trusted.overlay.origin' : 'user.overlay.origin', Buffer.from('x'));
  native.lsetxattr(path.join(upper, 'etc/change'), 'user.keep', Buffer.from('1'));
  native.mknod(path.join(upper, 'etc/gone'), S_IFCHR, 0, 0);
  native.mknod(path.join(upper, 'dir'), S_IFCHR, 0, 0);
  put('etc/new', 'n', 0o640);
  fs.linkSync(path.join(upper, 'etc/new'), path.join(upper, 'etc/new-link'));
  fs.symlinkSync('etc/keep', path.join(upper, 'lnk'));
  if (asRoot) {
    fs.mkdirSync(path.join(upper, 'opq'));
    native.lsetxattr(path.join(upper, 'opq'), 'trusted.overlay.opaque', Buffer.from('y'));
    put('opq/fresh', 'f');
  }
}

const storeState = (store) => Object.fromEntries(['layers', 'tar-split', 'blobs/sha256', 'images', 'names', 'tmp'].map((d) => [d, fs.readdirSync(path.join(store, d)).sort()]));
const layerPath = (store, diffId) => path.join(store, 'layers', diffId.slice(7));

test('checkChanges: the config shapes, each bad field named', (t) => {
  t.deepEqual(checkChanges({ ExposedPorts: ['80', '53/UDP', '1000-1002/tcp'], Volumes: ['/data/', '/x/../y'], StopSignal: 'quit', WorkingDir: '/srv' }), {
    ExposedPorts: { '80/tcp': {}, '53/udp': {}, '1000-1002/tcp': {} },
    Volumes: { '/data/': {}, '/y': {} },
    StopSignal: 'SIGQUIT',
    WorkingDir: '/srv',
  });
  t.deepEqual(checkChanges({ ExposedPorts: { '8080/tcp': {} }, Cmd: null }), { ExposedPorts: { '8080/tcp': {} }, Cmd: null });
  const bad = [
    [{ Env: ['NOEQUALS'] }, 'changes.Env[0]'],
    [{ Env: 'A=1' }, 'changes.Env'],
    [{ Cmd: ['ok', 1] }, 'changes.Cmd[1]'],
    [{ WorkingDir: 'relative' }, 'changes.WorkingDir'],
    [{ Labels: { a: 1 } }, 'changes.Labels["a"]'],
    [{ ExposedPorts: ['70000'] }, 'changes.ExposedPorts[0]'],
    [{ Volumes: { rel: {} } }, 'changes.Volumes["rel"]'],
    [{ StopSignal: 'SIGNOPE' }, 'changes.StopSignal'],
    [{ Memory: 1 }, 'changes.Memory'],
    ['Env=1', 'changes'],
  ];
  for (const [changes, field] of bad) {
    const err = t.throws(() => checkChanges(changes), { instanceOf: ImageError }, field);
    t.is(err.field, field);
    t.is(err.code, 'IMAGE_INVALID');
  }
});

test('applyChanges: Env and Labels merge by key, ports and volumes add, a new Entrypoint drops the old Cmd, null and "" clear', (t) => {
  const base = { Env: ['PATH=/bin', 'A=1'], Cmd: ['sh'], Entrypoint: ['/init'], Labels: { x: '1' }, ExposedPorts: { '80/tcp': {} }, WorkingDir: '/w', User: 'app' };
  t.deepEqual(applyChanges(base, checkChanges({ Env: ['A=2', 'B=3'], Labels: { y: '2' }, ExposedPorts: ['443'], Volumes: ['/v'] })), {
    ...base,
    Env: ['PATH=/bin', 'A=2', 'B=3'],
    Labels: { x: '1', y: '2' },
    ExposedPorts: { '80/tcp': {}, '443/tcp': {} },
    Volumes: { '/v': {} },
  });
  const { Cmd: _c, Entrypoint: _e, ...rest } = base;
  t.deepEqual(applyChanges(base, { Entrypoint: ['/new'] }), { ...rest, Entrypoint: ['/new'] });
  t.deepEqual(applyChanges(base, { Entrypoint: ['/new'], Cmd: ['arg'] }), { ...rest, Entrypoint: ['/new'], Cmd: ['arg'] });
  t.deepEqual(applyChanges(base, { Cmd: ['x'] }).Entrypoint, ['/init'], 'a Cmd alone keeps the Entrypoint');
  const { WorkingDir: _w, User: _u, ...noDirUser } = base;
  t.deepEqual(applyChanges(base, { WorkingDir: '', User: '' }), noDirUser);
  t.deepEqual(base.Env, ['PATH=/bin', 'A=1'], 'the base is not changed');
});

test('commitConfig: the new diffID on top, a history entry, created now, the base author not carried over', (t) => {
  const D = (c) => `sha256:${c.repeat(64)}`;
  const base = { architecture: 'amd64', os: 'linux', author: 'someone', created: '2020-01-01T00:00:00Z', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [D('a')] }, history: [{ created_by: 'base' }] };
  const c = commitConfig(base, D('b'), { created: '2026-01-01T00:00:00.000Z', comment: 'why', changes: { Env: ['X=1'] } });
  t.deepEqual(c, {
    architecture: 'amd64',
    os: 'linux',
    created: '2026-01-01T00:00:00.000Z',
    config: { Cmd: ['sh'], Env: ['X=1'] },
    rootfs: { type: 'layers', diff_ids: [D('a'), D('b')] },
    history: [{ created_by: 'base' }, { created: '2026-01-01T00:00:00.000Z', created_by: 'berth commit', comment: 'why' }],
  });
  t.is(commitConfig(base, D('b'), { created: 'now', author: 'me' }).author, 'me');
  t.deepEqual(commitConfig({ rootfs: { type: 'layers', diff_ids: [] } }, D('c'), { created: 'now' }).history, [{ created: 'now', created_by: 'berth commit' }]);
});

test('an upper directory -> a stored layer in overlay form over the base, named, with the changes; export -> import keeps the id', async (t) => {
  const { dir, store, upper } = scratch(t);
  const base = await baseImage(dir, store);
  makeUpper(upper);
  const info = await commitContainer({ upperDir: upper, store, baseImage: base.id, name: 'committed', comment: 'by hand', author: 'tester', changes: { Env: ['ADDED=1'], Labels: { l: 'v' } }, containerId: 'c1' });
  const top = info.layers.at(-1);
  t.deepEqual(info.layers, [...base.layers, top]);
  t.deepEqual(info.names, ['committed:latest']);
  t.deepEqual(info.config.rootfs.diff_ids, info.layers);
  t.deepEqual(info.config.history.at(-1), { created: info.config.created, created_by: 'berth commit', author: 'tester', comment: 'by hand' });
  t.deepEqual(info.config.config.Env, ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'ADDED=1']);
  t.deepEqual(info.config.config.Labels, { l: 'v' });
  t.is(info.id, sha256(fs.readFileSync(path.join(store, 'blobs', 'sha256', info.id.slice(7)))), 'the id is the stored config\'s digest');
  t.deepEqual(await inspectImage('committed', { store }), info);
  t.deepEqual(fs.readdirSync(path.join(store, 'tmp')), [], 'tmp/ is empty');

  // The stored layer as a lowerdir: the merged view has the container's changes.
  const dirs = info.layers.map((l) => layerPath(store, l));
  const read = (f) => readFileInLayers(dirs, f)?.toString() ?? null;
  t.is(read('/etc/change'), 'new');
  t.is(read('/etc/keep'), 'kept');
  t.is(read('/etc/new'), 'n');
  t.is(read('/etc/gone'), null, 'a deleted file stays deleted');
  t.is(read('/dir/a'), null, 'a deleted directory stays deleted');
  t.is(read('/dir/sub/b'), null);
  const st = fs.lstatSync(path.join(dirs.at(-1), 'etc/gone'));
  t.true(st.isCharacterDevice() && st.rdev === 0, 'the whiteout is a 0:0 device again');
  t.is(fs.lstatSync(path.join(dirs.at(-1), 'etc/new')).nlink, 2, 'the hard link is one inode');
  t.is(fs.lstatSync(path.join(dirs.at(-1), 'etc/new')).mode & 0o777, 0o640);
  t.is(fs.readlinkSync(path.join(dirs.at(-1), 'lnk')), 'etc/keep');
  const x = native.lgetxattrs(path.join(dirs.at(-1), 'etc/change'));
  t.is(x['user.keep']?.toString(), '1');
  t.false(Object.keys(x).some((k) => k.includes('overlay.origin')), "overlay's own xattr is not part of the layer");
  if (asRoot) {
    t.is(read('/opq/old'), null, 'the opaque directory hides the lower one');
    t.is(read('/opq/fresh'), 'f');
  }

  // Export: the layer from its tar-split (not regenerated), .wh. entries in it; into a second store with the same id.
  const out = path.join(dir, 'out.tar');
  const r = await exportImage('committed', out, { store });
  t.is(r.id, info.id);
  t.deepEqual(r.regenerated, []);
  const m = await tarMembers(fs.readFileSync(out));
  const layer = m[`${top.slice(7)}/layer.tar`].data;
  t.is(sha256(layer), top);
  const entries = await tarMembers(layer);
  t.truthy(entries['etc/.wh.gone']);
  t.truthy(entries['.wh.dir']);
  t.false('etc/gone' in entries || 'dir' in entries || 'dir/' in entries);
  if (asRoot) t.truthy(entries['opq/.wh..wh..opq']);
  t.false(Object.values(entries).some((e) => Object.keys(e.header.pax ?? {}).some((k) => k.includes('overlay'))), 'no overlay xattr in the tar');
  const again = await importImage(out, { store: path.join(dir, 'store2') });
  t.is(again.id, info.id);
  t.deepEqual(again.layers, info.layers);

  // The base is as it was; removing the commit frees only its own layer.
  t.deepEqual(await inspectImage('base:1', { store }), base);
  t.deepEqual(await removeImage('committed', { store }), { untagged: ['committed:latest'], deleted: info.id, layersRemoved: [top] });
  t.true(fs.existsSync(layerPath(store, base.layers[0])));
});

test('an empty upper makes the empty layer; a second commit of it reuses the stored one', async (t) => {
  const { dir, store, upper } = scratch(t);
  const base = await baseImage(dir, store);
  fs.mkdirSync(upper);
  const a = await commitContainer({ upperDir: upper, store, baseImage: 'base:1' });
  t.is(a.layers.at(-1), EMPTY_LAYER);
  t.deepEqual(a.names, [], 'no name: the id only');
  const layersBefore = fs.readdirSync(path.join(store, 'layers')).sort();
  const b = await commitContainer({ upperDir: upper, store, baseImage: a.id, name: 'again:2', changes: { Cmd: ['true'] } });
  t.deepEqual(b.layers, [...base.layers, EMPTY_LAYER, EMPTY_LAYER]);
  t.deepEqual(fs.readdirSync(path.join(store, 'layers')).sort(), layersBefore, 'no second copy of the layer');
  const r = await exportImage('again:2', path.join(dir, 'e.tar'), { store });
  t.is(r.id, b.id);
  t.deepEqual(r.regenerated, []);
  t.deepEqual((await removeImage(a.id, { store })).layersRemoved, [], 'b still uses the empty layer');
  t.deepEqual((await removeImage('again:2', { store })).layersRemoved, [EMPTY_LAYER]);
});

test('refusals leave the store as it was: bad options, no base, no upper, a .wh. name, an overlay redirect, a failure under the lock (undone)', async (t) => {
  const { dir, store, upper } = scratch(t);
  const base = await baseImage(dir, store);
  fs.mkdirSync(upper);
  fs.writeFileSync(path.join(upper, 'f'), 'x');
  const before = storeState(store);
  const fails = async (opts, code, check) => {
    const err = await t.throwsAsync(commitContainer({ upperDir: upper, store, baseImage: base.id, ...opts }), { instanceOf: ImageError });
    t.is(err.code, code, err.message);
    check?.(err);
    t.deepEqual(storeState(store), before, `nothing written (${err.message})`);
  };
  await fails({ upperDir: 'relative' }, 'IMAGE_INVALID', (e) => t.is(e.field, 'upperDir'));
  await fails({ name: 'Bad Name' }, 'IMAGE_INVALID', (e) => t.is(e.field, 'name'));
  await fails({ changes: { Cmd: 'sh' } }, 'IMAGE_INVALID', (e) => t.is(e.field, 'changes.Cmd'));
  await fails({ baseImage: 'nope:1' }, 'IMAGE_NOT_FOUND');
  await fails({ upperDir: path.join(dir, 'missing') }, 'IMAGE_FAILED', (e) => {
    t.is(e.errno, 'ENOENT');
    t.is(e.path, path.join(dir, 'missing'));
    t.is(e.step, 'commit');
  });

  fs.writeFileSync(path.join(upper, '.wh.sneaky'), '');
  await fails({}, 'IMAGE_INVALID', (e) => t.is(e.path, path.join(upper, '.wh.sneaky')));
  fs.rmSync(path.join(upper, '.wh.sneaky'));

  fs.mkdirSync(path.join(upper, 'moved'));
  native.lsetxattr(path.join(upper, 'moved'), 'user.overlay.redirect', Buffer.from('/orig'));
  await fails({}, 'IMAGE_INVALID', (e) => {
    t.is(e.path, path.join(upper, 'moved'));
    t.regex(e.message, /redirect/);
  });
  fs.rmSync(path.join(upper, 'moved'), { recursive: true });

  // A directory where the name's file goes: the last write under the lock fails, and the layer, blob and record go back.
  fs.mkdirSync(path.join(store, 'names', nameFile('blocked:latest'), 'x'), { recursive: true });
  const blocked = storeState(store);
  const err = await t.throwsAsync(commitContainer({ upperDir: upper, store, baseImage: base.id, name: 'blocked' }), { instanceOf: ImageError });
  t.is(err.code, 'IMAGE_FAILED', err.message);
  t.is(err.step, 'commit');
  t.truthy(err.errno);
  t.deepEqual(storeState(store), blocked, 'the layer, config and record written under the lock were undone');
});
