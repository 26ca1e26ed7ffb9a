// Mounts of type 'volume': a named volume made on first use, shared by two
// containers, outliving them, refused removal while held; an anonymous volume
// per image Volume, filled from the image (copy-up), removed with its container;
// the hold from another process's destroy too. Nothing left.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, createContainer, defaultMounts, importImage, inspectVolume, listVolumes, loadContainer, removeVolume, run } from '../../dist/lib/index.js';
import { assertNoLeaks, outputOf, overlayMissing, ROOTFS, settledSnapshot, stateRootFor } from './helpers.js';
import { dirTar, dockerSave, imageConfig, layerTar } from './image-fixtures.js';
import { when } from './when.js';

const noOverlay = overlayMissing();
// Containers over the fixture rootfs get a throwaway layer (rootfs.overlay): mount points made for volumes stay out of it.
const stateRoot = stateRootFor('volume-mount');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-volm-'));
const store = path.join(dir, 'store');
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

const sh = (script) => ({ args: ['/bin/sh', '-c', script] });
const volumeMount = (source, destination, options) => ({ type: 'volume', destination, ...(source ? { source } : {}), ...(options ? { options } : {}) });

test.before(async () => {
  if (noOverlay) return;
  // (Default capabilities: root in the container has no CAP_DAC_OVERRIDE, so the modes let it in.)
  // The image declares two volumes: /var/lib/app (with files, a whiteout below it, a symlink, a hard link) and /empty.
  const base = await dirTar(ROOTFS);
  const lower = await layerTar([
    { name: 'var/lib/app', type: 'directory', mode: 0o755, uid: 1234, gid: 1234 },
    { name: 'var/lib/app/seed.txt', data: 'seeded\n', uid: 1234, gid: 1234, mode: 0o604 },
    { name: 'var/lib/app/gone.txt', data: 'deleted by the top layer\n' },
    { name: 'var/lib/app/sub', type: 'directory', mode: 0o755 },
    { name: 'var/lib/app/sub/link', type: 'symlink', linkname: '../seed.txt' },
    { name: 'var/lib/app/hard', type: 'link', linkname: 'var/lib/app/seed.txt' },
  ]);
  const top = await layerTar([
    { name: 'var/lib/app', type: 'directory', mode: 0o755, uid: 1234, gid: 1234 },
    { name: 'var/lib/app/.wh.gone.txt' },
  ]);
  const cfg = imageConfig([base, lower, top], { Volumes: { '/var/lib/app': {}, '/empty': {} }, Cmd: ['/bin/sh'] });
  const archive = await dockerSave(path.join(dir, 'img.tar'), [base, lower, top], { repoTags: ['berth/vol:1'], config: cfg });
  await importImage(archive.path, { store });
});

when(noOverlay, 'a named volume is made on first use, shared by two containers at once, and its data outlives them; removal is refused while one holds it', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const mounts = [...defaultMounts(), volumeMount('shared', '/data')];
  const writer = await createContainer({ rootfs: { path: ROOTFS, overlay: true }, stateRoot, store, mounts, process: sh('echo one > /data/x; sleep 1000') });
  await writer.start();
  const reader = await run({ rootfs: { path: ROOTFS, overlay: true }, stateRoot, store, mounts, process: sh('for i in $(seq 50); do [ -s /data/x ] && break; sleep 0.1; done; cat /data/x; echo two >> /data/x') });
  t.is(reader.exitCode, 0, reader.stderr.toString());
  t.is(reader.stdout.toString(), 'one\n');
  const info = await inspectVolume('shared', { store });
  t.deepEqual(info.users, [writer.id]);
  const err = await t.throwsAsync(removeVolume('shared', { store }));
  t.is(err.code, 'VOLUME_IN_USE');
  t.deepEqual(err.users, [writer.id]);
  await writer.destroy();
  t.is(fs.readFileSync(path.join(info.mountpoint, 'x'), 'utf8'), 'one\ntwo\n');
  t.deepEqual((await inspectVolume('shared', { store })).users, []);
  await removeVolume('shared', { store });
  t.false(fs.existsSync(path.dirname(info.mountpoint)));
  await assertNoLeaks(t, before, stateRoot);
});

when(noOverlay, "ro makes the volume read-only in the container; nothing of a plain rootfs's directory is copied with nocopy", async (t) => {
  const before = await settledSnapshot(stateRoot);
  const r = await run({
    rootfs: { path: ROOTFS, overlay: true },
    stateRoot,
    store,
    mounts: [...defaultMounts(), volumeMount('ro-vol', '/data', ['ro']), volumeMount('etc-copy', '/mnt/etc', ['nocopy'])],
    process: sh('touch /data/y 2>&1; ls -A /mnt/etc | wc -l'),
  });
  t.regex(r.stdout.toString(), /Read-only file system/);
  t.regex(r.stdout.toString(), /^0$/m);
  await removeVolume('ro-vol', { store });
  await removeVolume('etc-copy', { store });
  await assertNoLeaks(t, before, stateRoot);
});

when(noOverlay, "the image's Volumes are anonymous volumes filled from the image (whiteouts, owners, modes, links kept), removed with the container", async (t) => {
  const before = await settledSnapshot(stateRoot);
  const c = await createContainer({ image: 'berth/vol:1', store, stateRoot, process: { args: ['/bin/sh', '-c', 'cd /var/lib/app; ls -A; stat -c "%u:%g %a" . seed.txt; cat sub/link; stat -c %i seed.txt hard | uniq | wc -l; ls -A /empty | wc -l'] } });
  const vols = await listVolumes({ store });
  t.is(vols.length, 2);
  for (const v of vols) t.regex(v.name, /^[0-9a-f]{64}$/);
  for (const v of vols) t.deepEqual(v.users, [c.id]);
  try {
    await c.start();
    const { out, exitCode } = await outputOf(c.process);
    t.is(exitCode, 0);
    t.deepEqual(out.trim().split('\n'), ['hard', 'seed.txt', 'sub', '1234:1234 755', '1234:1234 604', 'seeded', '1', '0']);
  } finally {
    await c.destroy();
  }
  t.deepEqual(await listVolumes({ store }), []);
  await assertNoLeaks(t, before, stateRoot);
});

when(noOverlay, "a volume mount at an image Volume's path takes its place (no anonymous one); an empty named volume gets the image's files", async (t) => {
  const before = await settledSnapshot(stateRoot);
  const r = await run({ image: 'berth/vol:1', store, stateRoot, mounts: [...defaultMounts(), volumeMount('appdata', '/var/lib/app')], process: { args: ['/bin/sh', '-c', 'cat /var/lib/app/seed.txt'] } });
  t.is(r.stdout.toString(), 'seeded\n');
  const names = (await listVolumes({ store })).map((v) => v.name);
  t.deepEqual(names.filter((n) => n !== 'appdata').length, 0, 'only /empty was anonymous, and it is gone');
  t.true(fs.existsSync(path.join((await inspectVolume('appdata', { store })).mountpoint, 'seed.txt')));
  await removeVolume('appdata', { store });
  await assertNoLeaks(t, before, stateRoot);
});

when(noOverlay, "a detached container's volumes are given back by a destroy from its ref (another handle, as another process would)", async (t) => {
  const before = await settledSnapshot(stateRoot);
  const c = await createContainer({ image: 'berth/vol:1', store, stateRoot, detached: true, process: { args: ['/bin/sh', '-c', 'sleep 1000'] } });
  const ref = await loadContainer(c.id, { stateRoot });
  t.is((await ref.state()).volumes.anonymous.length, 2);
  await ref.start();
  await ref.destroy();
  await c.destroy().catch(() => {});
  t.deepEqual(await listVolumes({ store }), []);
  await assertNoLeaks(t, before, stateRoot);
});

when(noOverlay, 'a bad volume mount is refused before anything exists, naming the field', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const err = await t.throwsAsync(createContainer({ rootfs: { path: ROOTFS, overlay: true }, stateRoot, store, mounts: [...defaultMounts(), { type: 'volume', source: '../x', destination: '/d' }] }));
  t.true(err instanceof ConfigError);
  t.regex(err.field, /^mounts\[\d+\]\.source$/);
  t.deepEqual(await listVolumes({ store }), []);
  await assertNoLeaks(t, before, stateRoot);
});
