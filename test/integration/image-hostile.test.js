// Hostile and broken archives: nothing is written outside the layer
// directory, nothing half-made stays in the store, earlier images are
// untouched, and each failure is a typed ImageError naming the image and blob.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { importImage, listImages, ImageError } from '../../dist/lib/index.js';
import { dockerSave, imageConfig, layerTar, ociLayout, sha256 } from './image-fixtures.js';

function scratch(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-hostile-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const outside = path.join(dir, 'outside');
  fs.mkdirSync(outside);
  return { dir, store: path.join(dir, 'store'), outside };
}

const layersIn = (store) => fs.readdirSync(path.join(store, 'layers')).filter((f) => !f.endsWith('.size'));
const tmpIn = (store) => fs.readdirSync(path.join(store, 'tmp'));

/** Imports a good image first, so every refusal can be checked to leave it alone. */
async function withEarlierImage(t, dir, store) {
  const good = await layerTar([{ name: 'good', data: 'g' }]);
  const info = await importImage((await dockerSave(path.join(dir, 'good.tar'), [good], { repoTags: ['good:1'] })).path, { store });
  return { info, good };
}

async function refused(t, store, earlier, archive, { blob } = {}) {
  const err = await t.throwsAsync(importImage(archive, { store }), { instanceOf: ImageError });
  t.is(err.code, 'IMAGE_INVALID', err.message);
  t.is(err.image, typeof archive === 'string' ? archive : 'stream');
  if (blob) t.is(err.blob, blob, err.message);
  t.deepEqual(layersIn(store), earlier.info.layers.map((l) => l.slice(7)), 'only the earlier image\'s layer is stored');
  t.deepEqual(tmpIn(store), [], 'nothing half-made in tmp/');
  t.deepEqual((await listImages({ store })).map((i) => i.id), [earlier.info.id], 'the earlier image is untouched');
  return err;
}

test('entries that climb out with ".." are refused; absolute names land inside the layer', async (t) => {
  const { dir, store, outside } = scratch(t);
  const earlier = await withEarlierImage(t, dir, store);
  const rel = path.relative('/', outside);
  const climb = await layerTar([{ name: `../../../../../../../${rel}/pwned`, data: 'x' }]);
  const err = await refused(t, store, earlier, (await dockerSave(path.join(dir, 'climb.tar'), [climb])).path, { blob: `${sha256(climb).slice(7)}/layer.tar` });
  t.regex(err.message, /climbs out/);
  t.deepEqual(fs.readdirSync(outside), []);

  const abs = await layerTar([{ name: `/${rel}/abs`, data: 'a' }]);
  const info = await importImage((await dockerSave(path.join(dir, 'abs.tar'), [abs])).path, { store });
  t.deepEqual(fs.readdirSync(outside), [], 'an absolute name did not reach the host');
  t.is(fs.readFileSync(path.join(store, 'layers', info.layers[0].slice(7), rel, 'abs'), 'utf8'), 'a');
});

test('a symlink then a file through it stays inside the layer (absolute and ../ link targets)', async (t) => {
  const { dir, store, outside } = scratch(t);
  const layer = await layerTar([
    { name: 'abs-link', type: 'symlink', linkname: outside },
    { name: 'abs-link/through-abs', data: 'a' },
    { name: 'deep/up-link', type: 'symlink', linkname: '../../../../../../..' + outside },
    { name: 'deep/up-link/through-up', data: 'u' },
    { name: 'loop', type: 'symlink', linkname: 'loop' },
  ]);
  const info = await importImage((await dockerSave(path.join(dir, 'links.tar'), [layer])).path, { store });
  t.deepEqual(fs.readdirSync(outside), [], 'nothing written through a symlink to the host');
  const root = path.join(store, 'layers', info.layers[0].slice(7));
  t.is(fs.readlinkSync(path.join(root, 'abs-link')), outside, 'the symlink itself is kept');
  t.is(fs.readFileSync(path.join(root, path.relative('/', outside), 'through-abs'), 'utf8'), 'a', 'the file landed at the link target inside the layer');
  t.is(fs.readFileSync(path.join(root, path.relative('/', outside), 'through-up'), 'utf8'), 'u');

  const loop = await layerTar([{ name: 'l', type: 'symlink', linkname: 'l' }, { name: 'l/x', data: 'x' }]);
  const err = await t.throwsAsync(importImage((await dockerSave(path.join(dir, 'loop.tar'), [loop])).path, { store }), { instanceOf: ImageError });
  t.regex(err.message, /too many levels/);
});

test('a hard link to a host file, a lower layer\'s file or through a symlink is refused', async (t) => {
  const { dir, store, outside } = scratch(t);
  const earlier = await withEarlierImage(t, dir, store);
  fs.writeFileSync(path.join(outside, 'secret'), 's');
  const toHost = await layerTar([{ name: 'steal', type: 'link', linkname: path.join(outside, 'secret') }]);
  let err = await refused(t, store, earlier, (await dockerSave(path.join(dir, 'h1.tar'), [toHost])).path);
  t.regex(err.message, /not in this layer/);
  const viaLink = await layerTar([
    { name: 'out', type: 'symlink', linkname: outside },
    { name: 'steal', type: 'link', linkname: 'out/secret' },
  ]);
  err = await refused(t, store, earlier, (await dockerSave(path.join(dir, 'h2.tar'), [viaLink])).path);
  t.regex(err.message, /not in this layer/);
  // Across layers: the upper layer links to a file only the lower one has.
  const lower = await layerTar([{ name: 'lower-file', data: 'l' }]);
  const upper = await layerTar([{ name: 'up', type: 'link', linkname: 'lower-file' }]);
  err = await refused(t, store, earlier, (await dockerSave(path.join(dir, 'h3.tar'), [lower, upper])).path, { blob: `${sha256(upper).slice(7)}/layer.tar` });
  t.regex(err.message, /not in this layer/);
  t.is(fs.statSync(path.join(outside, 'secret')).nlink, 1, 'the host file gained no link');
});

test('a truncated layer, a truncated archive, a digest mismatch, a diffID mismatch and a missing blob are refused', async (t) => {
  const { dir, store } = scratch(t);
  const earlier = await withEarlierImage(t, dir, store);
  const layer = await layerTar([{ name: 'big', data: Buffer.alloc(200_000, 7) }]);

  // Truncated layer tar inside a well-formed archive (the config still names its full diffID).
  const cut = layer.subarray(0, 100_000);
  await refused(t, store, earlier, (await dockerSave(path.join(dir, 't1.tar'), [layer], { members: [cut] })).path);
  // The whole archive truncated.
  const whole = fs.readFileSync((await dockerSave(path.join(dir, 'full.tar'), [layer])).path);
  fs.writeFileSync(path.join(dir, 't2.tar'), whole.subarray(0, whole.length - 300_000 > 0 ? 150_000 : whole.length / 2));
  await refused(t, store, earlier, path.join(dir, 't2.tar'));

  // OCI: the blob's bytes differ from its descriptor's digest.
  const evil = await layerTar([{ name: 'evil', data: 'e' }]);
  const mism = ociLayout(path.join(dir, 'mism'), [layer], { compression: 'none', blobOverride: { 0: evil } });
  const err = await refused(t, store, earlier, mism.dir, { blob: mism.layerDigests[0] });
  t.regex(err.message, /digest mismatch/);

  // docker save: the layer is a valid tar, but not the one the config names.
  const other = await layerTar([{ name: 'other', data: 'o' }]);
  const diff = await refused(t, store, earlier, (await dockerSave(path.join(dir, 'd.tar'), [layer], { config: imageConfig([layer]), members: [other] })).path);
  t.regex(diff.message, /diffID mismatch/);

  // The config blob itself altered after the manifest was made.
  const cfgBad = ociLayout(path.join(dir, 'cfg'), [layer], { compression: 'none' });
  fs.appendFileSync(path.join(cfgBad.dir, 'blobs', 'sha256', cfgBad.id.slice(7)), ' ');
  t.regex((await refused(t, store, earlier, cfgBad.dir)).message, /digest mismatch/);

  // A manifest naming a blob the layout lacks.
  const missing = ociLayout(path.join(dir, 'miss'), [layer], { compression: 'gzip', omit: [0] });
  const m = await refused(t, store, earlier, missing.dir);
  t.regex(m.message, /has no blobs\/sha256\//);
  t.is(m.blob, `blobs/sha256/${missing.layerDigests[0].slice(7)}`);

  // Not an image at all.
  fs.writeFileSync(path.join(dir, 'junk.tar'), 'not a tar at all');
  await refused(t, store, earlier, path.join(dir, 'junk.tar'));
});

test('a malformed whiteout and a name with overlay xattrs are refused or dropped', async (t) => {
  const { dir, store } = scratch(t);
  const earlier = await withEarlierImage(t, dir, store);
  const bad = await layerTar([{ name: 'x/.wh...', data: '' }]);
  t.regex((await refused(t, store, earlier, (await dockerSave(path.join(dir, 'w.tar'), [bad])).path)).message, /malformed whiteout/);
  const forged = await layerTar([{ name: 'd/', type: 'directory', mode: 0o755, pax: { 'SCHILY.xattr.trusted.overlay.opaque': 'y' } }]);
  const info = await importImage((await dockerSave(path.join(dir, 'f.tar'), [forged])).path, { store });
  const { native } = await import('../../dist/lib/native/addon.js');
  t.is(native.lgetxattrs(path.join(store, 'layers', info.layers[0].slice(7), 'd'))['trusted.overlay.opaque'], undefined, 'only a .wh..wh..opq entry makes a directory opaque');
});
