// The image store's pure decisions: entry names and their resolution in the
// layer root, whiteout names, manifest/config parsing, reference lookup,
// layer refcounts. Root-free, no file system.
import test from 'ava';
import { entryComponents, isInside, resolveInRoot } from '../../dist/lib/image/entry-path.js';
import { classifyTarName, isOverlayWhiteout, tarWhiteoutName } from '../../dist/lib/image/whiteout.js';
import { parseImageConfig, pickFromIndex, planFromManifest, plansFromDockerManifest } from '../../dist/lib/image/manifest.js';
import { isValidName, nameCandidates, withTag } from '../../dist/lib/image/names.js';
import { containersUsing, layersFreedBy } from '../../dist/lib/image/refcount.js';

const D = (c) => `sha256:${c.repeat(64)}`;

test('entry names: leading / and ./ are the layer root; .. that climbs out is refused; NUL refused', (t) => {
  t.deepEqual(entryComponents('./a/b/'), ['a', 'b']);
  t.deepEqual(entryComponents('/etc/passwd'), ['etc', 'passwd']);
  t.deepEqual(entryComponents('a/../b'), ['b']);
  t.deepEqual(entryComponents('./'), []);
  t.throws(() => entryComponents('../x'), { message: /climbs out/ });
  t.throws(() => entryComponents('a/../../x'), { message: /climbs out/ });
  t.throws(() => entryComponents('a\0b'), { message: /NUL/ });
});

/** A fake tree: path -> 'dir' | { link } | 'file'. */
const tree = (entries) => ({
  kind: (p) => {
    const e = entries[p];
    return e === undefined ? null : typeof e === 'object' ? 'symlink' : e === 'dir' ? 'dir' : 'other';
  },
  readlink: (p) => entries[p].link,
});

test('resolveInRoot: symlinks followed inside the root, absolute and .. targets clamped to it, the last one only when asked', (t) => {
  const fsTree = tree({ '/L/abs': { link: '/etc' }, '/L/up': { link: '../../../..' }, '/L/d': 'dir', '/L/d/rel': { link: '../abs' }, '/L/loop': { link: 'loop' } });
  t.is(resolveInRoot('/L', ['abs', 'x'], fsTree), '/L/etc/x');
  t.is(resolveInRoot('/L', ['up', 'x'], fsTree), '/L/x');
  t.is(resolveInRoot('/L', ['d', 'rel', 'y'], fsTree), '/L/etc/y');
  t.is(resolveInRoot('/L', ['abs'], fsTree), '/L/abs', 'the last component is not followed by default');
  t.is(resolveInRoot('/L', ['abs'], fsTree, true), '/L/etc');
  t.throws(() => resolveInRoot('/L', ['loop', 'x'], fsTree), { message: /too many levels/ });
  t.true(isInside('/L', '/L/a'));
  t.true(isInside('/L', '/L'));
  t.false(isInside('/L', '/Lx'));
  t.false(isInside('/L', '/etc'));
});

test('whiteout names, both directions', (t) => {
  t.deepEqual(classifyTarName('.wh..wh..opq'), { kind: 'opaque' });
  t.deepEqual(classifyTarName('.wh.passwd'), { kind: 'whiteout', name: 'passwd' });
  t.deepEqual(classifyTarName('passwd'), { kind: 'entry' });
  t.throws(() => classifyTarName('.wh.'), { message: /malformed/ });
  t.throws(() => classifyTarName('.wh...'), { message: /malformed/ });
  t.throws(() => classifyTarName('.wh..wh.x'), { message: /malformed/ });
  t.is(tarWhiteoutName('passwd'), '.wh.passwd');
  t.true(isOverlayWhiteout({ isCharacterDevice: () => true, rdev: 0 }));
  t.false(isOverlayWhiteout({ isCharacterDevice: () => true, rdev: 259 }));
});

test('docker save manifest.json: config digest from its member name, layers in order, tags', (t) => {
  const [p] = plansFromDockerManifest([{ Config: `${'a'.repeat(64)}.json`, RepoTags: ['x:1'], Layers: ['l1/layer.tar', 'l2/layer.tar'] }]);
  t.deepEqual(p, { config: { path: `${'a'.repeat(64)}.json`, digest: D('a') }, layers: [{ path: 'l1/layer.tar' }, { path: 'l2/layer.tar' }], names: ['x:1'] });
  const [q] = plansFromDockerManifest([{ Config: `blobs/sha256/${'b'.repeat(64)}`, RepoTags: null, Layers: [] }]);
  t.is(q.config.digest, D('b'));
  t.deepEqual(q.names, []);
  t.throws(() => plansFromDockerManifest([]), { message: /no images/ });
  t.throws(() => plansFromDockerManifest([{ Config: 'c.json', Layers: 'x' }]), { message: /Layers is not a list/ });
});

test('OCI index and manifest: the linux/amd64 manifest, ref names, descriptors checked', (t) => {
  const desc = (c, extra = {}) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D(c), size: 10, ...extra });
  const pick = pickFromIndex({ manifests: [desc('1', { platform: { os: 'linux', architecture: 'arm64' } }), desc('2', { platform: { os: 'linux', architecture: 'amd64' }, annotations: { 'org.opencontainers.image.ref.name': 'v1' } })] });
  t.is(pick.manifest.digest, D('2'));
  t.deepEqual(pick.names, ['v1']);
  t.false(pick.isIndex);
  t.true(pickFromIndex({ manifests: [desc('3', { mediaType: 'application/vnd.oci.image.index.v1+json' })] }).isIndex);
  t.throws(() => pickFromIndex({ manifests: [] }), { message: /no manifests/ });
  t.throws(() => pickFromIndex({ manifests: [{ digest: 'md5:x', size: 1 }] }), { message: /not a sha256 digest/ });
  const plan = planFromManifest({ config: desc('c'), layers: [desc('d')] }, ['n']);
  t.deepEqual(plan.layers, [{ path: `blobs/sha256/${'d'.repeat(64)}`, digest: D('d'), size: 10 }]);
  t.throws(() => planFromManifest({ config: desc('c'), layers: [{ digest: D('d'), size: -1 }] }, []), { message: /size is not a size/ });
});

test('image config: diffIDs required, one per layer', (t) => {
  const cfg = (o) => Buffer.from(JSON.stringify(o));
  t.deepEqual(parseImageConfig(cfg({ rootfs: { type: 'layers', diff_ids: [D('a')] } }), 1).rootfs.diff_ids, [D('a')]);
  t.throws(() => parseImageConfig(cfg({ rootfs: { diff_ids: [D('a')] } }), 2), { message: /1 diffIDs for 2 layers/ });
  t.throws(() => parseImageConfig(cfg({}), 0), { message: /no rootfs.diff_ids/ });
  t.throws(() => parseImageConfig(Buffer.from('{'), 0), { message: /not JSON/ });
  t.throws(() => parseImageConfig(cfg({ rootfs: { diff_ids: ['x'] } }), 1), { message: /not a sha256 digest/ });
});

test('references: :latest implied, registry prefixes tried, names validated', (t) => {
  t.is(withTag('busybox'), 'busybox:latest');
  t.is(withTag('localhost:5000/a/b'), 'localhost:5000/a/b:latest');
  t.is(withTag('a/b:1'), 'a/b:1');
  t.deepEqual(nameCandidates('busybox'), ['busybox', 'busybox:latest', 'localhost/busybox:latest', 'docker.io/library/busybox:latest']);
  t.deepEqual(nameCandidates('me/app:2'), ['me/app:2', 'localhost/me/app:2', 'docker.io/me/app:2']);
  t.deepEqual(nameCandidates('quay.io/x/y'), ['quay.io/x/y', 'quay.io/x/y:latest']);
  t.true(isValidName('a/b:1'));
  for (const bad of ['', '../x', 'a//b', 'A b', '-x']) t.false(isValidName(bad), bad);
});

test('refcounts: a layer stays while another image or a container uses it', (t) => {
  const holders = { images: [{ id: 'i1', layers: ['a', 'b'] }, { id: 'i2', layers: ['a', 'c'] }], containers: [{ id: 'c1', layers: ['b'] }] };
  t.deepEqual(layersFreedBy({ id: 'i1', layers: ['a', 'b'] }, holders), []);
  t.deepEqual(layersFreedBy({ id: 'i2', layers: ['a', 'c'] }, holders), ['c']);
  t.deepEqual(layersFreedBy({ id: 'i2', layers: ['a', 'c'] }, { images: [holders.images[1]], containers: [] }), ['a', 'c']);
  t.deepEqual(containersUsing('i1', [{ id: 'c1', image: 'i1' }, { id: 'c2', image: 'i2' }, { id: 'c3' }]), ['c1']);
});
