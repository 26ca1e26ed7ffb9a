// container.copyIn / copyOut: files and tar streams into and out of a
// created, running or stopped container, resolved inside its root (a symlink
// the container planted never leads outside), volumes seen while it runs, an
// overlay container's writable layer reached after it stopped without any
// mount on the host. Nothing left.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tar from 'tar-stream';
import { CopyError, createContainer, defaultMounts, importImage, loadContainer, removeVolume } from '../../dist/lib/index.js';
import { assertNoLeaks, outputOf, overlayMissing, ROOTFS, mountLines, settledSnapshot, stateRootFor } from './helpers.js';
import { dirTar, dockerSave, layerTar } from './image-fixtures.js';
import { when } from './when.js';

const noOverlay = overlayMissing();
const stateRoot = stateRootFor('copy-files');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-copy-'));
const store = path.join(dir, 'store');
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

test.before(async () => {
  if (noOverlay) return;
  const base = await dirTar(ROOTFS);
  const archive = await dockerSave(path.join(dir, 'img.tar'), [base], { repoTags: ['berth/copy:1'] });
  await importImage(archive.path, { store });
});

async function untar(stream) {
  const x = tar.extract();
  const out = new Map();
  const done = new Promise((resolve, reject) => {
    x.on('entry', (h, s, next) => {
      const chunks = [];
      s.on('data', (c) => chunks.push(c));
      s.on('end', () => {
        out.set(h.name, { ...h, data: Buffer.concat(chunks) });
        next();
      });
    });
    x.on('finish', resolve);
    x.on('error', reject);
    stream.on('error', reject);
  });
  stream.pipe(x);
  await done;
  return out;
}

async function tarOf(entries) {
  const p = tar.pack();
  for (const e of entries) {
    const { data, ...h } = e;
    await new Promise((resolve, reject) => p.entry({ mode: 0o644, mtime: new Date(1700000000000), ...h }, data ?? '', (err) => (err ? reject(err) : resolve())));
  }
  p.finalize();
  return p;
}

// stderr drained too: an exec's pipe nobody reads stays open until it is read to its end.
const sh = (c, script) =>
  c.exec({ args: ['/bin/sh', '-c', script] }).then((p) => {
    p.stderr?.resume();
    return outputOf(p);
  });

// A throwaway layer over the fixture rootfs: what the tests write never lands in the shared fixture.
async function sleeper(extra = {}) {
  const c = await createContainer({ rootfs: { path: ROOTFS, overlay: true }, stateRoot, ...extra, process: { args: ['sleep', '1000'], stdio: 'ignore' } });
  await c.start();
  return c;
}

when(noOverlay, 'a running container: a Buffer becomes a file with the mode and owner asked; copyOut gives a file back and a directory as a tar', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const c = await sleeper();
  try {
    await c.copyIn('/tmp/hello.txt', Buffer.from('hello\n'), { mode: 0o604, uid: 7, gid: 8 });
    const r = await sh(c, 'cat /tmp/hello.txt; stat -c "%a %u:%g" /tmp/hello.txt');
    t.is(r.out, 'hello\n604 7:8\n');
    t.deepEqual(await c.copyOut('/etc/passwd', { format: 'file' }), fs.readFileSync(path.join(ROOTFS, 'etc/passwd')));
    await sh(c, 'mkdir -p /tmp/d/sub && echo a > /tmp/d/a && ln -s a /tmp/d/l && ln /tmp/d/a /tmp/d/sub/h && chmod 751 /tmp/d/sub');
    const entries = await untar(await c.copyOut('/tmp/d'));
    t.deepEqual([...entries.keys()].sort(), ['d/', 'd/a', 'd/l', 'd/sub/', 'd/sub/h']);
    t.is(entries.get('d/a').data.toString(), 'a\n');
    t.is(entries.get('d/l').type, 'symlink');
    t.is(entries.get('d/l').linkname, 'a');
    t.is(entries.get('d/sub/h').type, 'link');
    t.is(entries.get('d/sub/').mode & 0o777, 0o751);
  } finally {
    await c.destroy();
  }
  await assertNoLeaks(t, before, stateRoot);
});

when(noOverlay, 'a tar unpacked into a directory: files, directories (modes set after their contents), symlinks, hard links, owners', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const c = await sleeper();
  try {
    await c.copyIn(
      '/tmp',
      await tarOf([
        { name: 'app/', type: 'directory', mode: 0o705, uid: 1000, gid: 1000 },
        { name: 'app/run.sh', data: 'echo ran\n', mode: 0o755 },
        { name: 'app/link', type: 'symlink', linkname: 'run.sh' },
        { name: 'app/hard', type: 'link', linkname: 'app/run.sh' },
      ]),
      { archive: true },
    );
    const r = await sh(c, 'sh /tmp/app/link; stat -c "%a %u:%g" /tmp/app; stat -c %i /tmp/app/run.sh /tmp/app/hard | uniq | wc -l');
    t.is(r.out, 'ran\n705 1000:1000\n1\n');
  } finally {
    await c.destroy();
  }
  await assertNoLeaks(t, before, stateRoot);
});

when(noOverlay, "a container's symlinks resolve inside it: nothing of a copyIn or copyOut reaches the host", async (t) => {
  const before = await settledSnapshot(stateRoot);
  const hostMarker = path.join(os.tmpdir(), `berth-copy-escape-${process.pid}`);
  const c = await sleeper();
  try {
    await sh(c, 'ln -s / /tmp/up; ln -s ../../../../../.. /tmp/dots; mkdir -p /tmp/box');
    // A file through an absolute symlink: the container's /, not the host's.
    await c.copyIn(`/tmp/up${hostMarker}`, 'in the container\n');
    t.false(fs.existsSync(hostMarker));
    t.is((await sh(c, `cat ${hostMarker}`)).out, 'in the container\n');
    // A tar that plants a symlink and then writes through it stays inside too.
    await c.copyIn('/tmp/box', await tarOf([{ name: 'esc', type: 'symlink', linkname: '/' }, { name: `esc${hostMarker}-2`, data: 'x' }]), { archive: true });
    t.false(fs.existsSync(`${hostMarker}-2`));
    t.is((await sh(c, `cat ${hostMarker}-2`)).out, 'x');
    // `..` through a relative symlink stops at the container's root.
    t.deepEqual(await c.copyOut('/tmp/dots/etc/group', { format: 'file' }), await c.copyOut('/etc/group', { format: 'file' }));
    // An entry that climbs out is refused as a whole.
    const err = await t.throwsAsync(c.copyIn('/tmp/box', await tarOf([{ name: '../../x', data: 'x' }]), { archive: true }));
    t.true(err instanceof CopyError, String(err));
    t.is(err.code, 'COPY_INVALID');
  } finally {
    await c.destroy();
    fs.rmSync(hostMarker, { force: true });
    fs.rmSync(`${hostMarker}-2`, { force: true });
  }
  await assertNoLeaks(t, before, stateRoot);
});

when(noOverlay, "a volume mounted in a running container is what copyOut reads and copyIn writes", async (t) => {
  const before = await settledSnapshot(stateRoot);
  const c = await sleeper({ store, mounts: [...defaultMounts(), { type: 'volume', source: 'copyvol', destination: '/data' }] });
  try {
    await c.copyIn('/data/v.txt', 'into the volume');
    t.is(fs.readFileSync(path.join(store, 'volumes/copyvol/_data/v.txt'), 'utf8'), 'into the volume');
    t.is((await c.copyOut('/data/v.txt', { format: 'file' })).toString(), 'into the volume');
  } finally {
    await c.destroy();
    await removeVolume('copyvol', { store });
  }
  await assertNoLeaks(t, before, stateRoot);
});

when(noOverlay, "a stopped image container: its writable layer is read and written through a detached overlay no namespace sees; a ref (another handle) does the same", async (t) => {
  const before = await settledSnapshot(stateRoot);
  const c = await createContainer({ image: 'berth/copy:1', store, stateRoot, detached: true, process: { args: ['/bin/sh', '-c', 'echo made-inside > /made.txt; rm /etc/group'], stdio: 'ignore' } });
  const ref = await loadContainer(c.id, { stateRoot });
  await ref.start();
  await c.wait();
  const mountsBefore = mountLines();
  t.is((await c.copyOut('/made.txt', { format: 'file' })).toString(), 'made-inside\n');
  const err = await t.throwsAsync(c.copyOut('/etc/group'));
  t.is(err.code, 'COPY_NOT_FOUND');
  await ref.copyIn('/later.txt', 'after it stopped');
  t.is((await ref.copyOut('/later.txt', { format: 'file' })).toString(), 'after it stopped');
  const entries = await untar(await ref.copyOut('/'));
  t.true(entries.has('made.txt'));
  t.true(entries.has('later.txt'));
  t.false(entries.has('etc/group'));
  t.true(entries.has('bin/'));
  t.deepEqual(mountLines(), mountsBefore, 'no mount appeared on the host');
  await ref.destroy();
  await c.destroy().catch(() => {});
  await assertNoLeaks(t, before, stateRoot);
});

when(noOverlay, 'bad input: a relative path, a missing path, a missing parent, a destroyed container', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const c = await sleeper();
  const e1 = await t.throwsAsync(c.copyOut('etc/passwd'));
  t.is(e1.code, 'COPY_INVALID');
  const e2 = await t.throwsAsync(c.copyOut('/no/such'));
  t.is(e2.code, 'COPY_NOT_FOUND');
  t.is(e2.containerPath, '/no/such');
  const e3 = await t.throwsAsync(c.copyIn('/no/such/file', 'x'));
  t.is(e3.code, 'COPY_NOT_FOUND');
  await c.destroy();
  const e4 = await t.throwsAsync(async () => c.copyOut('/etc/passwd'));
  t.is(e4.code, 'INVALID_STATE');
  await assertNoLeaks(t, before, stateRoot);
});
