// exportImage: a stored image back into a `docker save` tarball. Layers
// imported by berth come back byte for byte (their tar-split), so the image
// keeps its id through export -> import and `podman load`; a layer without a
// split gets a canonical tar (whiteouts as .wh. entries, ownership, modes,
// xattrs, hard links, devices kept) and a rewritten config. Every store and
// podman's storage are fresh directories under /tmp, removed after the test;
// podman runs in a private mount namespace, so nothing of it reaches the host.
import test from 'ava';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { exportImage, importImage, inspectImage, removeImage, ImageError } from '../../dist/lib/index.js';
import { native } from '../../dist/lib/native/addon.js';
import { ROOTFS } from './helpers.js';
import { dirTar, dockerSave, hasZstd, layerTar, ociLayout, sha256, tarMembers } from './image-fixtures.js';
import { when } from './when.js';
import { hostState, isolatedPodman, podmanMissing } from './podman-isolated.js';

const asRoot = process.getuid() === 0;

function scratch(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-export-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return { dir, store: path.join(dir, 'store'), store2: path.join(dir, 'store2') };
}

const tmpIn = (store) => fs.readdirSync(path.join(store, 'tmp'));
const layerPath = (store, diffId) => path.join(store, 'layers', diffId.slice(7));

let baseTar;
let upperTar;
test.before(async () => {
  baseTar = await dirTar(ROOTFS);
  upperTar = await layerTar([
    { name: 'bin/busybox', type: 'file', data: 'replaced' },
    { name: 'etc/.wh.passwd-gone', data: '' },
    { name: 'opaque/', type: 'directory', mode: 0o755 },
    { name: 'opaque/.wh..wh..opq', data: '' },
    { name: 'opaque/kept', data: 'k' },
    { name: 'suid', data: '#!/bin/sh\n', mode: 0o4755, uid: 1234, gid: 2345 },
    { name: 'no-perms', data: 'secret', mode: 0o100000 }, // mode 0 (tar-stream would take a bare 0 for "none")
    { name: 'hard-a', data: 'shared inode' },
    { name: 'hard-b', type: 'link', linkname: 'hard-a' },
    { name: 'link', type: 'symlink', linkname: '../etc/passwd' },
    { name: 'dev/null2', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 },
    { name: 'dev/fifo', type: 'fifo', mode: 0o644 },
    { name: 'xattr-file', data: 'x', pax: { 'SCHILY.xattr.user.berth': 'hello' } },
    { name: 'ro-dir/', type: 'directory', mode: 0o555 },
    { name: 'ro-dir/inside', data: 'i' },
    { name: `long/${'n'.repeat(120)}/${'m'.repeat(120)}`, data: 'a name past ustar\'s 100+155 bytes' },
  ]);
});

async function fixtureImage(dir, store, repoTags = ['busy:1']) {
  const { path: archive, id } = await dockerSave(path.join(dir, 'img.tar'), [baseTar, upperTar], { repoTags });
  const info = await importImage(archive, { store });
  return { archive, id, info };
}

/** Every path of a layer directory with what an image cares about (directory times aside: the tar may not name a directory its entries make). */
function tree(root) {
  const out = {};
  const walk = (rel) => {
    for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const full = path.join(root, r);
      const st = fs.lstatSync(full);
      const x = st.isSymbolicLink() ? {} : native.lgetxattrs(full);
      const e = { mode: st.mode, uid: st.uid, gid: st.gid, nlink: st.nlink, xattrs: Object.fromEntries(Object.entries(x).map(([k, v]) => [k, v.toString('hex')])) };
      if (st.isFile()) Object.assign(e, { size: st.size, sha: crypto.createHash('sha256').update(fs.readFileSync(full)).digest('hex'), mtime: Math.floor(st.mtimeMs / 1000) });
      if (st.isSymbolicLink()) Object.assign(e, { link: fs.readlinkSync(full), mtime: Math.floor(st.mtimeMs / 1000) });
      if (st.isCharacterDevice() || st.isBlockDevice()) e.rdev = st.rdev;
      out[r] = e;
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}

test('export -> import into a second store: the same image id, names and layer trees; nothing left behind', async (t) => {
  const { dir, store, store2 } = scratch(t);
  const { id, info } = await fixtureImage(dir, store);
  const dest = path.join(dir, 'out.tar');
  const r = await exportImage('busy:1', dest, { store });
  t.is(r.id, id);
  t.deepEqual(r.names, ['busy:1']);
  t.deepEqual(r.layers, info.layers);
  t.deepEqual(r.regenerated, [], 'every layer came from its tar-split');
  t.is(r.bytes, fs.statSync(dest).size);
  t.deepEqual(fs.readdirSync(dir).sort(), ['img.tar', 'out.tar', 'store'], 'no temporary beside the destination');
  t.deepEqual(tmpIn(store), [], 'the export\'s hold is gone');

  const m = await tarMembers(fs.readFileSync(dest));
  const manifest = JSON.parse(m['manifest.json'].data);
  t.deepEqual(manifest, [{ Config: `${id.slice(7)}.json`, RepoTags: ['busy:1'], Layers: info.layers.map((l) => `${l.slice(7)}/layer.tar`) }]);
  t.deepEqual(JSON.parse(m.repositories.data), { busy: { 1: info.layers[1].slice(7) } });
  t.is(sha256(m[`${id.slice(7)}.json`].data), id, 'the config blob as imported');
  t.true(m[`${info.layers[0].slice(7)}/layer.tar`].data.equals(baseTar), 'the base layer tar, byte for byte');
  t.true(m[`${info.layers[1].slice(7)}/layer.tar`].data.equals(upperTar), 'the upper layer tar, byte for byte');

  const again = await importImage(dest, { store: store2 });
  t.is(again.id, id);
  t.deepEqual(again.names, ['busy:1']);
  for (const l of info.layers) t.deepEqual(tree(layerPath(store2, l)), tree(layerPath(store, l)), `layer ${l}`);
});

test('export to a Writable, by id (every name of the image), imported back from the stream', async (t) => {
  const { dir, store, store2 } = scratch(t);
  const { id } = await fixtureImage(dir, store, ['busy:1', 'docker.io/library/busy:2']);
  const out = new PassThrough();
  const chunks = [];
  out.on('data', (c) => chunks.push(c));
  const r = await exportImage(id, out, { store });
  t.deepEqual(r.names, ['busy:1', 'docker.io/library/busy:2']);
  t.true(out.writableEnded, 'the stream was ended');
  const buf = Buffer.concat(chunks);
  t.is(buf.length, r.bytes);
  const p = new PassThrough();
  p.end(buf);
  const again = await importImage(p, { store: store2 });
  t.is(again.id, id);
  t.deepEqual(again.names, ['busy:1', 'docker.io/library/busy:2']);
});

test('a layer without a tar-split: a canonical tar (.wh. entries, ownership, modes, xattrs, links, devices) and a config with the new diffIDs', async (t) => {
  const { dir, store, store2 } = scratch(t);
  const { id, info } = await fixtureImage(dir, store);
  fs.rmSync(path.join(store, 'tar-split', `${info.layers[1].slice(7)}.gz`));
  const dest = path.join(dir, 'out.tar');
  const r = await exportImage('busy:1', dest, { store });
  t.deepEqual(r.regenerated, [info.layers[1]]);
  t.is(r.layers[0], info.layers[0], 'the layer with a split keeps its diffID');
  t.not(r.layers[1], info.layers[1]);
  t.not(r.id, id);

  const m = await tarMembers(fs.readFileSync(dest));
  const config = JSON.parse(m[`${r.id.slice(7)}.json`].data);
  t.deepEqual(config.rootfs.diff_ids, r.layers);
  t.deepEqual(config.config, info.config.config, 'the rest of the config as it was');
  const layer = m[`${r.layers[1].slice(7)}/layer.tar`].data;
  t.is(sha256(layer), r.layers[1]);
  const entries = await tarMembers(layer);
  t.is(entries['etc/.wh.passwd-gone']?.header.type, 'file', 'a whiteout is a .wh. entry again');
  t.is(entries['opaque/.wh..wh..opq']?.header.type, 'file', 'the opaque xattr is a .wh..wh..opq entry again');
  t.false('etc/passwd-gone' in entries);
  t.deepEqual([entries.suid.header.mode, entries.suid.header.uid, entries.suid.header.gid], [0o4755, asRoot ? 1234 : process.getuid(), asRoot ? 2345 : process.getgid()]);
  t.is(entries['no-perms'].header.mode, 0, 'mode 0 stays 0');
  t.is(entries['hard-b'].header.type, 'link');
  t.is(entries['hard-b'].header.linkname, 'hard-a');
  t.is(entries.link.header.linkname, '../etc/passwd');
  t.is(entries['dev/fifo'].header.type, 'fifo');
  if (asRoot) t.deepEqual([entries['dev/null2'].header.type, entries['dev/null2'].header.devmajor, entries['dev/null2'].header.devminor], ['character-device', 1, 3]);
  if (native.lgetxattrs(path.join(layerPath(store, info.layers[1]), 'xattr-file'))['user.berth']) t.is(entries['xattr-file'].header.pax['SCHILY.xattr.user.berth'], 'hello');
  t.false(Object.keys(entries['opaque/'].header.pax ?? {}).some((k) => k.includes('overlay')), 'no overlay xattr in the tar');

  const again = await importImage(dest, { store: store2 });
  t.is(again.id, r.id);
  t.deepEqual(tree(layerPath(store2, r.layers[1])), tree(layerPath(store, info.layers[1])), 'the regenerated tar unpacks to the same tree');
  // Deterministic: the same layer exports to the same bytes.
  const r2 = await exportImage('busy:1', path.join(dir, 'out2.tar'), { store });
  t.is(r2.id, r.id);
});

test('an OCI layout with gzip/zstd layers exports as uncompressed tars with the same diffIDs: the same image id', async (t) => {
  const { dir, store, store2 } = scratch(t);
  const layout = ociLayout(path.join(dir, 'oci'), [baseTar, upperTar], { compression: hasZstd() ? ['gzip', 'zstd'] : ['gzip', 'gzip'], refName: 'oci-img:v1' });
  const a = await importImage(layout.dir, { store });
  const r = await exportImage('oci-img:v1', path.join(dir, 'oci-out.tar'), { store });
  t.is(r.id, layout.id);
  t.deepEqual(r.regenerated, []);
  const m = await tarMembers(fs.readFileSync(path.join(dir, 'oci-out.tar')));
  t.true(m[`${a.layers[1].slice(7)}/layer.tar`].data.equals(upperTar), 'the zstd layer, decompressed');
  t.is((await importImage(path.join(dir, 'oci-out.tar'), { store: store2 })).id, layout.id);
});

test('entries through symlinks and long names export byte for byte; a file a later entry replaced voids the split (regenerated)', async (t) => {
  const { dir, store } = scratch(t);
  const tricky = await layerTar([
    { name: 'real/', type: 'directory', mode: 0o755 },
    { name: 'lnk', type: 'symlink', linkname: 'real' },
    { name: 'lnk/through', data: 'lands in real/' },
    { name: 'abs', type: 'symlink', linkname: '/real' },
    { name: 'abs/again', data: 'also real/' },
    { name: `${'d'.repeat(150)}/${'f'.repeat(150)}`, data: 'pax path' },
    { name: 'x', data: 'a file' },
    { name: 'x', type: 'directory', mode: 0o755 }, // replaces the file: no content of it was kept
    { name: 'y/z', data: 'unrelated, kept' },
    { name: 'big', data: Buffer.alloc(3 << 20, 7) },
  ]);
  const info = await importImage((await dockerSave(path.join(dir, 't.tar'), [tricky], { repoTags: ['tricky:1'] })).path, { store });
  t.is(fs.readFileSync(path.join(layerPath(store, info.layers[0]), 'real', 'through'), 'utf8'), 'lands in real/');
  const r = await exportImage('tricky:1', path.join(dir, 'out.tar'), { store });
  // The file "x" became a directory: the split is void, and the layer is regenerated.
  t.deepEqual(r.regenerated, info.layers);
  const layer = (await tarMembers(fs.readFileSync(path.join(dir, 'out.tar'))))[`${r.layers[0].slice(7)}/layer.tar`].data;
  const e = await tarMembers(layer);
  t.is(e['real/through'].data.toString(), 'lands in real/', 'regenerated from the directory: the path it landed at');
  t.is(e.lnk.header.linkname, 'real');
  t.is(e.big.data.length, 3 << 20);

  const clean = await layerTar([
    { name: 'real/', type: 'directory', mode: 0o755 },
    { name: 'lnk', type: 'symlink', linkname: 'real' },
    { name: 'lnk/through', data: 'lands in real/' },
    { name: `${'d'.repeat(150)}/${'f'.repeat(150)}`, data: 'pax path' },
    { name: 'big', data: Buffer.alloc(3 << 20, 7) },
  ]);
  const c = await importImage((await dockerSave(path.join(dir, 'c.tar'), [clean], { repoTags: ['clean:1'] })).path, { store });
  const rc = await exportImage('clean:1', path.join(dir, 'c-out.tar'), { store });
  t.deepEqual(rc.regenerated, [], 'a file written through a symlink is found at the path it landed at');
  t.true((await tarMembers(fs.readFileSync(path.join(dir, 'c-out.tar'))))[`${c.layers[0].slice(7)}/layer.tar`].data.equals(clean));
});

test('a layer that names a file twice keeps no tar-split (its first content is gone) and is regenerated', async (t) => {
  const { dir, store } = scratch(t);
  const twice = await layerTar([
    { name: 'f', data: 'first' },
    { name: 'g', data: 'kept' },
    { name: 'f', data: 'second, longer' },
  ]);
  const dup = await importImage((await dockerSave(path.join(dir, 'dup.tar'), [twice], { repoTags: ['dup:1'] })).path, { store });
  t.false(fs.existsSync(path.join(store, 'tar-split', `${dup.layers[0].slice(7)}.gz`)));
  const r = await exportImage('dup:1', path.join(dir, 'dup-out.tar'), { store });
  t.deepEqual(r.regenerated, dup.layers);
  const layer = (await tarMembers(fs.readFileSync(path.join(dir, 'dup-out.tar'))))[`${r.layers[0].slice(7)}/layer.tar`].data;
  t.is((await tarMembers(layer)).f.data.toString(), 'second, longer');
});

test('a layer directory changed on disk: the export fails naming the layer, and writes nothing', async (t) => {
  const { dir, store } = scratch(t);
  const { info } = await fixtureImage(dir, store);
  fs.writeFileSync(path.join(layerPath(store, info.layers[1]), 'opaque', 'kept'), 'K'); // same size, other bytes
  const dest = path.join(dir, 'out.tar');
  const err = await t.throwsAsync(exportImage('busy:1', dest, { store }), { instanceOf: ImageError });
  t.is(err.code, 'IMAGE_FAILED');
  t.regex(err.message, new RegExp(`layer ${info.layers[1]}`));
  t.false(fs.existsSync(dest));
  t.deepEqual(fs.readdirSync(dir).sort(), ['img.tar', 'store']);
  t.deepEqual(tmpIn(store), []);

  const missing = await t.throwsAsync(exportImage('nope', dest, { store }), { instanceOf: ImageError });
  t.is(missing.code, 'IMAGE_NOT_FOUND');
});

test('the image cannot be removed while an export reads it', async (t) => {
  const { dir, store } = scratch(t);
  const { id } = await fixtureImage(dir, store);
  let release;
  const gate = new Promise((r) => (release = r));
  let first = true;
  const slow = new Writable({
    write(chunk, _e, cb) {
      if (first) {
        first = false;
        gate.then(() => cb());
      } else cb();
    },
  });
  const exporting = exportImage(id, slow, { store });
  await new Promise((r) => setTimeout(r, 100));
  const busy = await t.throwsAsync(removeImage('busy:1', { store }), { instanceOf: ImageError });
  t.is(busy.code, 'IMAGE_IN_USE');
  t.regex(busy.message, /export \(pid \d+\)/);
  release();
  await exporting;
  t.is((await removeImage('busy:1', { store })).deleted, id);
  t.deepEqual(tmpIn(store), []);
});

// ---- podman load (podman-isolated.js) ----

when(podmanMissing(), 'the export loads into podman: the same image id, layers and config (and so does a regenerated one)', async (t) => {
  const { dir, store } = scratch(t);
  const before = hostState();
  const { id, info } = await fixtureImage(dir, store);
  const podman = isolatedPodman(path.join(dir, 'podman'));
  const dest = path.join(dir, 'out.tar');
  await exportImage('busy:1', dest, { store });
  const loaded = await podman(['load', '-i', dest]);
  t.is(loaded.code, 0, loaded.stderr);
  t.regex(loaded.stdout, /Loaded image: localhost\/busy:1/);
  const inspected = await podman(['image', 'inspect', 'busy:1']);
  t.is(inspected.code, 0, inspected.stderr);
  const [img] = JSON.parse(inspected.stdout);
  t.is(`sha256:${img.Id}`, id);
  t.deepEqual(img.RootFS.Layers, info.layers);
  t.deepEqual(img.Config, info.config.config);
  t.is(img.Architecture, 'amd64');
  t.deepEqual(img.RepoTags, ['localhost/busy:1']);

  // A regenerated layer (no tar-split): podman takes the rewritten config as well.
  fs.rmSync(path.join(store, 'tar-split'), { recursive: true });
  fs.mkdirSync(path.join(store, 'tar-split'));
  const r = await exportImage(id, path.join(dir, 'regen.tar'), { store });
  t.is(r.regenerated.length, 2);
  const loaded2 = await podman(['load', '-i', path.join(dir, 'regen.tar')]);
  t.is(loaded2.code, 0, loaded2.stderr);
  const [img2] = JSON.parse((await podman(['image', 'inspect', r.id.slice(7)])).stdout);
  t.deepEqual(img2.RootFS.Layers, r.layers);
  t.deepEqual(img2.Config, info.config.config);

  t.is((await podman(['rmi', '--all', '--force'])).code, 0);
  t.deepEqual(hostState(), before, 'podman made nothing on the host');
});
