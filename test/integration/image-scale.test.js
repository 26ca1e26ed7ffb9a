// 100 containers from one image at once. The image's layers are on disk
// exactly once: the store's layers/ keeps the very same inodes (number, link
// count, size, blocks, mtime) before, while all of them run and after; the
// rest of the store gains only each container's hold record. What each one
// writes lands in its own writable layer (upper/ in its state directory): every
// container reads back its own /x, also after all the others wrote theirs. The
// host never sees an overlay of ours: a worker thread samples
// /proc/self/mountinfo every 2 ms from before the first create to after the
// last destroy, apart from the event loop the containers keep busy. Destroy
// takes every writable layer, state directory, hold record and cgroup with it,
// and the file leaves nothing (helpers.js's leak checks, the store removed).
// BERTH_IMAGE_SCALE_N sets the count (default 100).
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { createContainer, importImage, removeImage } from '../../dist/lib/index.js';
import { dirTar, dockerSave, imageConfig, layerTar } from './image-fixtures.js';
import { assertNoLeaks, overlayMissing, ROOTFS, settledSnapshot, stateRootFor } from './helpers.js';
import { when } from './when.js';

const N = Number(process.env.BERTH_IMAGE_SCALE_N ?? 100);
const noOverlay = overlayMissing();
const stateRoot = stateRootFor('image-scale');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-imgscale-'));
const store = path.join(dir, 'store');
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

/** Every inode under dir: path -> "ino nlink mode size blocks mtime" (what a copy, a hard link or a write would change). */
function inodes(root) {
  const out = {};
  const walk = (rel) => {
    const st = fs.lstatSync(path.join(root, rel));
    out[rel || '.'] = `${st.ino} ${st.nlink} ${st.mode} ${st.size} ${st.blocks} ${st.mtimeMs}`;
    if (st.isDirectory()) for (const e of fs.readdirSync(path.join(root, rel)).sort()) walk(rel ? `${rel}/${e}` : e);
  };
  walk('');
  return out;
}

const blocksOf = (tree) => Object.values(tree).reduce((a, v) => a + Number(v.split(' ')[4]), 0);

/** Samples mountinfo in a worker thread until stop(): every line that names one of `needles`, and every overlay line. */
function mountSampler(needles) {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const fs = require('node:fs');
    const flag = workerData.flag;
    const ours = new Set();
    const overlays = new Set();
    let samples = 0;
    for (;;) {
      const stopping = Atomics.load(flag, 0) !== 0;
      for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\\n')) {
        if (workerData.needles.some((n) => line.includes(n))) ours.add(line);
        if (/ - overlay /.test(line)) overlays.add(line);
      }
      if (samples++ === 0) parentPort.postMessage('sampling');
      if (stopping) break;
      Atomics.wait(flag, 0, 0, 2);
    }
    parentPort.postMessage({ samples, ours: [...ours], overlays: [...overlays] });
  `;
  const worker = new Worker(code, { eval: true, workerData: { flag, needles } });
  const messages = [];
  const waiters = [];
  worker.on('message', (m) => (waiters.length ? waiters.shift().resolve(m) : messages.push(m)));
  worker.once('error', (err) => waiters.splice(0).forEach((w) => w.reject(err)));
  const next = () => (messages.length ? Promise.resolve(messages.shift()) : new Promise((resolve, reject) => waiters.push({ resolve, reject })));
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  return {
    /** Resolves once the first sample is taken: what follows is watched. */
    started: next(),
    async stop() {
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      const r = await next();
      await exited;
      return r;
    },
  };
}

const cgroupLeft = (id) =>
  fs
    .readdirSync('/sys/fs/cgroup', { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => path.join('/sys/fs/cgroup', d.name, 'berth', id))
    .filter((p) => fs.existsSync(p));

let imageId;
test.before(async () => {
  if (noOverlay) return;
  // Two layers: the busybox rootfs, then one that adds a file and removes another.
  const base = await dirTar(ROOTFS);
  const top = await layerTar([{ name: 'etc/motd', data: 'one image, many containers\n' }, { name: 'bin/.wh.true' }]);
  const archive = await dockerSave(path.join(dir, 'img.tar'), [base, top], { repoTags: ['berth/scale:1'], config: imageConfig([base, top]) });
  imageId = (await importImage(archive.path, { store })).id;
});

// Also here, not only at exit: a worker ava ends after a failure may not get to its exit handlers.
test.after.always(async () => {
  if (imageId) await removeImage(imageId, { store }).catch(() => {});
  fs.rmSync(dir, { recursive: true, force: true });
  try {
    fs.rmdirSync(stateRoot);
  } catch {
    // not there, or not empty: a leak the leak checks have reported
  }
});

when(noOverlay, `${N} containers from one image at once: its layers on disk once, each its own /x, no overlay on the host, nothing left after destroy`, async (t) => {
  const before = await settledSnapshot(stateRoot);
  const layersDir = path.join(store, 'layers');
  const layersBefore = inodes(layersDir);
  const restBefore = Object.keys(inodes(store)).filter((p) => !p.startsWith('layers'));
  const hostOverlaysBefore = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => / - overlay /.test(l));
  const sampler = mountSampler([stateRoot, store, dir]);
  await sampler.started;
  const containers = [];
  const lines = new Map(); // id -> stdout so far
  const inits = [];
  const t0 = Date.now();
  let timings = {};
  try {
    // All created and started concurrently; each writes its own /x, prints it, and waits on stdin.
    const script = 'echo "$ID:$(cat /proc/sys/kernel/hostname)" > /x && cat /x && read go && cat /x';
    const results = await Promise.allSettled(
      Array.from({ length: N }, async (_, i) => {
        const c = await createContainer({
          image: 'berth/scale:1',
          store,
          stateRoot,
          hostname: `scale-${i}`,
          process: { args: ['/bin/sh', '-c', script], env: [`ID=c${i}`], stdio: ['pipe', 'pipe', 'pipe'] },
        });
        containers[i] = c;
        const init = await c.start();
        lines.set(i, '');
        let err = '';
        init.stdout.on('data', (d) => lines.set(i, lines.get(i) + d));
        init.stderr.on('data', (d) => (err += d));
        inits[i] = { init, err: () => err };
      }),
    );
    const failed = results.filter((r) => r.status === 'rejected').map((r) => r.reason?.message);
    t.deepEqual([...new Set(failed)], [], 'every container was created and started');
    timings.startedAll = Date.now() - t0;

    // Every one has written and printed its /x while all of them exist.
    const expect = (i) => `c${i}:scale-${i}\n`;
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
      if ([...lines.entries()].every(([i, s]) => s === expect(i))) break;
    }
    timings.allWritten = Date.now() - t0;
    const wrong = [...lines.entries()].filter(([i, s]) => s !== expect(i)).map(([i, s]) => `c${i}: ${JSON.stringify(s)} ${inits[i]?.err() ?? ''}`);
    t.deepEqual(wrong.slice(0, 5), [], 'each container printed its own /x');

    // All alive now: the layers are the same inodes, nothing was copied up but /x.
    t.deepEqual(inodes(layersDir), layersBefore, "the store's layers: the same inodes, sizes and blocks with every container running");
    const restDuring = Object.keys(inodes(store)).filter((p) => !p.startsWith('layers') && !restBefore.includes(p));
    // Hold records are containers/<id>.<tag of the state directory>.json.
    t.deepEqual(
      restDuring.map((p) => p.replace(/^containers\/(.+)\.[0-9a-f]+\.json$/, 'hold of $1')).sort(),
      containers.map((c) => `hold of ${c.id}`).sort(),
      'the rest of the store gained one hold record per container, nothing else',
    );
    for (const diffId of fs.readdirSync(layersDir)) t.false(fs.existsSync(path.join(layersDir, diffId, 'x')), 'no /x in a layer');
    const uppers = containers.map((c) => path.join(stateRoot, c.id, 'layer', 'upper'));
    const contents = uppers.map((u) => fs.readFileSync(path.join(u, 'x'), 'utf8'));
    t.deepEqual(contents, containers.map((_, i) => expect(i)), "each /x is in that container's own upper dir");
    // A directory there (a mount point made in the union) would be metadata; a file would be a copy.
    const entries = uppers.flatMap((u) => Object.entries(inodes(u)).filter(([p]) => p !== '.' && p !== 'x'));
    const copied = [...new Set(entries.filter(([, v]) => (Number(v.split(' ')[2]) & 0o170000) !== 0o040000).map(([p]) => p))];
    t.deepEqual(copied, [], 'the writable layers hold /x and no other file (nothing copied up)');
    const dirs = [...new Set(entries.map(([p]) => p))];
    if (dirs.length) t.log(`directories in the writable layers: ${dirs.join(', ')}`);
    t.log(`layers: ${Object.keys(layersBefore).length} inodes, ${blocksOf(layersBefore) * 512} bytes, once for ${N} containers`);

    // Let them all read their /x again (everyone else has written theirs), then exit.
    for (const { init } of inits) init.stdin.end('go\n');
    const statuses = await Promise.all(inits.map(({ init }) => init.wait()));
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
      if ([...lines.entries()].every(([i, s]) => s === expect(i).repeat(2))) break;
    }
    t.deepEqual(statuses.filter((s) => s.exitCode !== 0).slice(0, 5), [], 'every init exited 0');
    const wrong2 = [...lines.entries()].filter(([i, s]) => s !== expect(i).repeat(2)).map(([i, s]) => `c${i}: ${JSON.stringify(s)}`);
    t.deepEqual(wrong2.slice(0, 5), [], 'each still read its own /x after all had written');
    timings.exited = Date.now() - t0;
  } finally {
    await Promise.allSettled(containers.filter(Boolean).map((c) => c.destroy()));
    timings.destroyed = Date.now() - t0;
  }
  const mounts = await sampler.stop();
  t.log(`${N} containers: all started ${timings.startedAll} ms, all wrote /x ${timings.allWritten} ms, exited ${timings.exited} ms, destroyed ${timings.destroyed} ms; mountinfo sampled ${mounts.samples}×`);
  t.true(mounts.samples >= 10, `mountinfo sampled ${mounts.samples} times`);
  t.deepEqual(mounts.ours, [], 'no mount of the store, the state root or the overlay on the host, at any sample');
  const newOverlays = mounts.overlays.filter((l) => !hostOverlaysBefore.includes(l));
  if (newOverlays.length) t.log(`overlay mounts of others seen on the host meanwhile:\n${newOverlays.join('\n')}`);
  t.deepEqual(newOverlays.filter((l) => l.includes(stateRoot) || l.includes(store)), [], 'no overlay of ours on the host');

  // Destroyed: every writable layer, state directory, hold record and cgroup is gone; the layers are as imported.
  t.deepEqual(inodes(layersDir), layersBefore, "the store's layers after destroy");
  t.deepEqual(fs.readdirSync(path.join(store, 'containers')), [], 'no hold record left');
  t.deepEqual(containers.filter((c) => c && fs.existsSync(path.join(stateRoot, c.id))).map((c) => c.id), [], 'no state directory (with its upper and work dirs) left');
  t.deepEqual(containers.filter(Boolean).flatMap((c) => cgroupLeft(c.id)), [], 'no cgroup left');
  await assertNoLeaks(t, before, stateRoot);
  // The image goes, and with it its layers: the store is as empty as before the import.
  const removed = await removeImage(imageId, { store });
  t.is(removed.layersRemoved.length, 2);
  imageId = undefined;
  t.deepEqual(fs.readdirSync(layersDir), []);
});
