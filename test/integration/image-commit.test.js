// commitContainer on a real overlay: a container from an imported image
// writes, changes and deletes (a file, a whole directory, a directory replaced
// by a new one), stops, and its upper directory becomes a layer of a new image;
// a container from that image sees the changes (whiteouts and the opaque
// directory honoured), the base image is untouched, the export loads into
// podman with the same id, and removing the commit keeps the base's layers.
// Stores and podman's storage are fresh directories under /tmp, removed after.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createContainer, exportImage, importImage, inspectImage, removeImage, run } from '../../dist/lib/index.js';
import { commitContainer } from '../../dist/lib/image/commit.js';
import { assertNoLeaks, overlayMissing, ROOTFS, settledSnapshot, stateRootFor } from './helpers.js';
import { dirTar, dockerSave, imageConfig, layerTar } from './image-fixtures.js';
import { when } from './when.js';
import { hostState, isolatedPodman, podmanMissing as podmanUnavailable } from './podman-isolated.js';

const noOverlay = overlayMissing();
const stateRoot = stateRootFor('image-commit');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-commit-'));
const store = path.join(dir, 'store');
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

const layerPath = (diffId) => path.join(store, 'layers', diffId.slice(7));
const sh = (script) => ({ args: ['/bin/sh', '-c', script] });

let base;
let committed;
test.before(async () => {
  const rootfs = await dirTar(ROOTFS);
  const top = await layerTar([
    { name: 'srv/', type: 'directory', mode: 0o755 },
    { name: 'srv/hello.txt', data: 'from the image\n' },
    { name: 'srv/gone.txt', data: 'to be deleted\n' },
    { name: 'data/dir/a', data: 'a\n' },
    { name: 'data/dir/sub/b', data: 'b\n' },
    { name: 'data/replaced/old', data: 'old\n' },
  ]);
  const cfg = imageConfig([rootfs, top], { Env: ['PATH=/bin:/sbin', 'KEEP=1'], Cmd: ['/bin/sh'] });
  const archive = await dockerSave(path.join(dir, 'base.tar'), [rootfs, top], { repoTags: ['berth/base:1'], config: cfg });
  base = await importImage(archive.path, { store });
});

when(noOverlay, "a stopped container's upper dir -> a new image: a container from it sees the writes, changes and deletions; the base is untouched", async (t) => {
  const before = await settledSnapshot(stateRoot);
  const script = [
    'echo new > /srv/new.txt',
    'ln /srv/new.txt /srv/new-hard && ln -s hello.txt /srv/sym',
    'chmod 604 /srv/new.txt && chown 123:456 /srv/new.txt',
    'echo changed > /srv/hello.txt',
    'rm /srv/gone.txt',
    'rm -rf /data/dir',
    'rm -rf /data/replaced && mkdir /data/replaced && echo only > /data/replaced/only',
  ].join(' && ');
  const caps = ['CAP_CHOWN'];
  const capabilities = { bounding: caps, effective: caps, permitted: caps };
  const c = await createContainer({ image: 'berth/base:1', store, stateRoot, process: { ...sh(script), capabilities } });
  let info;
  try {
    const init = await c.start();
    let stderr = '';
    init.stderr.on('data', (d) => (stderr += d));
    const [status] = await Promise.all([init.wait(), new Promise((r) => init.stderr.on('close', r))]);
    t.is(status.exitCode, 0, stderr);
    const upperDir = path.join(stateRoot, c.id, 'layer', 'upper');
    t.true(fs.lstatSync(path.join(upperDir, 'data', 'dir')).isCharacterDevice(), 'overlay whited out the directory');
    info = await commitContainer({ upperDir, store, baseImage: c.config.image.id, name: 'berth/committed', comment: 'test', changes: { Env: ['ADDED=yes'] }, containerId: c.id });
  } finally {
    await c.destroy();
  }
  t.deepEqual(info.layers.slice(0, -1), base.layers);
  t.deepEqual(info.names, ['berth/committed:latest']);
  t.deepEqual(info.config.config.Env, ['PATH=/bin:/sbin', 'KEEP=1', 'ADDED=yes']);
  t.is(info.config.history.at(-1).created_by, 'berth commit');

  const check = [
    'cat /srv/new.txt /srv/hello.txt',
    'stat -c "%u:%g %a %h" /srv/new.txt',
    'readlink /srv/sym',
    'ls /srv/gone.txt /data/dir 2>&1 | grep -c "No such file"',
    'ls /data/replaced',
    'echo "$ADDED $KEEP"',
  ].join('; ');
  const r = await run({ image: 'berth/committed', store, stateRoot, process: sh(check) });
  t.is(r.exitCode, 0, r.stderr.toString());
  t.is(r.stdout.toString(), 'new\nchanged\n123:456 604 2\nhello.txt\n2\nonly\nyes 1\n');

  const b = await run({ image: 'berth/base:1', store, stateRoot, process: sh('cat /srv/hello.txt; ls /srv/gone.txt /data/dir/sub/b /data/replaced/old; ls /srv/new.txt 2>&1 | grep -c "No such file"') });
  t.is(b.stdout.toString(), 'from the image\n/data/dir/sub/b\n/data/replaced/old\n/srv/gone.txt\n1\n', 'the base image as imported');
  t.deepEqual(await inspectImage('berth/base:1', { store }), base);
  t.deepEqual(fs.readdirSync(path.join(store, 'tmp')), [], 'nothing left in tmp/');
  t.deepEqual(fs.readdirSync(path.join(store, 'containers')), [], 'no container holds an image');
  committed = info;
  await assertNoLeaks(t, before, stateRoot);
});

// ---- podman load (podman-isolated.js) ----

const podmanMissing = () => podmanUnavailable() ?? noOverlay;

when(podmanMissing(), 'the committed image exports from its tar-split and podman loads it with the same id, layers and config', async (t) => {
  t.truthy(committed, 'the commit test made the image');
  const before = hostState();
  const dest = path.join(dir, 'committed.tar');
  const r = await exportImage('berth/committed', dest, { store });
  t.is(r.id, committed.id);
  t.deepEqual(r.regenerated, [], 'every layer byte for byte from its split');
  const podman = isolatedPodman(path.join(dir, 'podman'));
  const loaded = await podman(['load', '-i', dest]);
  t.is(loaded.code, 0, loaded.stderr);
  const inspected = await podman(['image', 'inspect', 'localhost/berth/committed:latest']);
  t.is(inspected.code, 0, inspected.stderr);
  const [img] = JSON.parse(inspected.stdout);
  t.is(`sha256:${img.Id}`, committed.id);
  t.deepEqual(img.RootFS.Layers, committed.layers);
  t.deepEqual(img.Config.Env, committed.config.config.Env);
  t.is((await podman(['rmi', '--all', '--force'])).code, 0);
  t.deepEqual(hostState(), before, 'podman made nothing on the host');
});

when(noOverlay, 'removing the committed image frees only its own layer: the base keeps its shared ones and still runs', async (t) => {
  t.truthy(committed, 'the commit test made the image');
  const before = await settledSnapshot(stateRoot);
  const removed = await removeImage('berth/committed', { store });
  t.deepEqual(removed, { untagged: ['berth/committed:latest'], deleted: committed.id, layersRemoved: [committed.layers.at(-1)] });
  for (const l of base.layers) t.true(fs.existsSync(layerPath(l)), `base layer ${l}`);
  const r = await run({ image: 'berth/base:1', store, stateRoot, process: sh('cat /srv/hello.txt') });
  t.is(r.stdout.toString(), 'from the image\n');
  await assertNoLeaks(t, before, stateRoot);
});

when(noOverlay, 'container.commit(): a running container is frozen while its layer is read, then runs on; a ref commits too; a rootfs container is refused', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const c = await createContainer({ image: 'berth/base:1', store, stateRoot, detached: true, process: { ...sh('echo live > /srv/live.txt; sleep 1000'), stdio: 'ignore' } });
  const { loadContainer } = await import('../../dist/lib/index.js');
  const ref = await loadContainer(c.id, { stateRoot });
  let a;
  let b;
  try {
    await ref.start();
    for (let i = 0; i < 100 && !fs.existsSync(path.join(stateRoot, c.id, 'layer', 'upper', 'srv', 'live.txt')); i++) await new Promise((r) => setTimeout(r, 20));
    a = await ref.commit({ name: 'berth/live:a', changes: { Cmd: ['cat', '/srv/live.txt'] } });
    t.is((await ref.state()).status, 'running', 'resumed after the commit');
    b = await ref.commit({ name: 'berth/live:b', pause: false });
    t.not(a.id, b.id);
  } finally {
    await ref.destroy();
    await c.destroy().catch(() => {});
  }
  const r = await run({ image: 'berth/live:a', store, stateRoot });
  t.is(r.stdout.toString(), 'live\n');
  const plain = await createContainer({ rootfs: { path: ROOTFS, overlay: true }, stateRoot, process: { args: ['true'], stdio: 'ignore' } });
  const err = await t.throwsAsync(plain.commit());
  t.is(err.code, 'IMAGE_INVALID');
  await plain.destroy();
  await removeImage('berth/live:a', { store });
  await removeImage('berth/live:b', { store });
  await assertNoLeaks(t, before, stateRoot);
});
