// Archives made by podman itself on this machine, offline: the fixture rootfs
// `podman import`ed, then `podman save` as a docker-archive tarball, an OCI
// layout directory and an OCI archive (a tar of one). berth imports each, runs
// a container from it, commits what the container wrote, exports the commit,
// and podman loads that back with the same id and layers. podman keeps
// everything under a directory of its own (podman-isolated.js).
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createContainer, exportImage, importImage, removeImage, run } from '../../dist/lib/index.js';
import { assertNoLeaks, overlayMissing, ROOTFS, settledSnapshot, stateRootFor } from './helpers.js';
import { dirTar } from './image-fixtures.js';
import { hostState, isolatedPodman, podmanMissing } from './podman-isolated.js';
import { when } from './when.js';

const skip = podmanMissing() ?? overlayMissing();
const stateRoot = stateRootFor('image-podman');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-impod-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

let podman;
let hostBefore;
const saved = {};
test.before(async () => {
  if (skip) return;
  hostBefore = hostState();
  podman = isolatedPodman(path.join(dir, 'podman'));
  fs.writeFileSync(path.join(dir, 'rootfs.tar'), await dirTar(ROOTFS));
  const imported = await podman(['import', '--change', 'CMD ["/bin/sh"]', path.join(dir, 'rootfs.tar'), 'localhost/berth/from-podman:1']);
  if (imported.code !== 0) throw new Error(`podman import: ${imported.stderr}`);
  for (const [format, out] of [
    ['docker-archive', 'docker.tar'],
    ['oci-dir', 'oci-dir'],
    ['oci-archive', 'oci.tar'],
  ]) {
    const r = await podman(['save', '--format', format, '-o', path.join(dir, out), 'localhost/berth/from-podman:1']);
    if (r.code !== 0) throw new Error(`podman save --format ${format}: ${r.stderr}`);
    saved[format] = path.join(dir, out);
  }
});

test.after.always(async () => {
  if (podman) await podman(['rmi', '--all', '--force']);
});

for (const format of ['docker-archive', 'oci-dir', 'oci-archive']) {
  when(skip, `podman save --format ${format}: imports, runs, commits, exports, and podman loads the commit back`, async (t) => {
    const before = await settledSnapshot(stateRoot);
    const store = path.join(dir, `store-${format}`);
    const img = await importImage(saved[format], { store, name: `berth/podman-${format}:1` });
    t.true(img.layers.length >= 1);
    const r = await run({ image: img.id, store, stateRoot, process: { args: ['/bin/sh', '-c', 'cat /etc/passwd | head -1'] } });
    t.is(r.exitCode, 0, r.stderr.toString());
    t.is(r.stdout.toString(), `${fs.readFileSync(path.join(ROOTFS, 'etc/passwd'), 'utf8').split('\n')[0]}\n`);
    const c = await createContainer({ image: img.id, store, stateRoot, process: { args: ['/bin/sh', '-c', `echo ${format} > /committed.txt; rm /etc/group`], stdio: 'ignore' } });
    let committed;
    try {
      await c.start();
      await c.wait();
      committed = await c.commit({ name: `berth/committed-${format}:1` });
    } finally {
      await c.destroy();
    }
    const out = path.join(dir, `committed-${format}.tar`);
    const exp = await exportImage(committed.id, out, { store });
    t.is(exp.id, committed.id);
    const loaded = await podman(['load', '-i', out]);
    t.is(loaded.code, 0, loaded.stderr);
    const inspected = await podman(['image', 'inspect', `localhost/berth/committed-${format}:1`]);
    t.is(inspected.code, 0, inspected.stderr);
    t.is(`sha256:${JSON.parse(inspected.stdout)[0].Id}`, committed.id, 'podman has the same id');
    // The id is the config's digest, which names every layer's diffID, and podman load checked each layer against it.
    t.deepEqual(JSON.parse(inspected.stdout)[0].RootFS.Layers, committed.layers);
    await removeImage(committed.id, { store });
    await removeImage(img.id, { store });
    t.deepEqual(fs.readdirSync(path.join(store, 'layers')), []);
    await assertNoLeaks(t, before, stateRoot);
  });
}

when(skip, 'podman made nothing on the host', async (t) => {
  await podman(['rmi', '--all', '--force']);
  t.deepEqual(hostState(), hostBefore);
});
