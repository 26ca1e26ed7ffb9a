// (9) Images and union filesystems, in one run:
// - startup: berth run() of /bin/true from an image (`image` + `store`: the
//   store's layer under a throwaway writable layer, an overlay mounted inside
//   the container) vs the very same files as a plain directory rootfs, and vs
//   `rootfs: { path, overlay: true }` over that directory; crun on the plain
//   directory as the anchor. The image is the fixture rootfs imported into a
//   bench-owned store, so all arms exec the same busybox. The state root
//   (where an overlay's upper/work dirs live) is os.tmpdir(), as for every
//   scenario; the plain and image arms run a second time with the state root on
//   tmpfs (/dev/shm), which is what /run is on most hosts (not on this VM:
//   /run is on the root ext4 here), to split the kernel's overlay price from
//   the disk filesystem's mkdir/rmdir.
// - bytes per container: N containers from the image alive at once (created
//   concurrently, each `sleep`s), the st_blocks of the store (its layers
//   apart) and of the state root counted before, while they all exist and
//   after destroy: bytes per container, the files in their upper dirs, and
//   what a copy of the rootfs per container would have cost instead.
// - import: a ~100 MB `docker save` tarball built here (the fixture rootfs,
//   plus a layer of incompressible random files of log-uniform sizes, 1 KiB to
//   4 MiB), imported with importImage() into a fresh store vs `podman load` into
//   a fresh private podman root (overlay driver), interleaved; each round
//   starts after a `sync` (not timed) so neither pays the other's writeback,
//   and its store / podman root is removed after it (not timed). podman runs as
//   image-export.test.js runs it: `unshare -m` with a tmpfs over /var/lib
//   (podman 4.3 keeps a blob-info cache there whatever --root says) and every
//   path of its own under the round's directory; that wrapper (unshare + sh +
//   mount) is timed on its own every round and taken off podman's p50 (in its
//   favour), as the nsenter wrapper is for crun. MB/s = archive bytes / 1e6 /
//   p50 seconds.
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { berthConfig, timeBerthRun } from '../berth.js';
import { makeBundle, makeSpec } from '../bundle.js';
import { CGROUP_PARENT } from '../hygiene.js';
import { interleave, withTimeout } from '../interleave.js';
import { timeSpawn } from '../runtimes.js';
import { ratio, summarize } from '../stats.js';
import { privatePodman, shellQuote } from '../podman-private.js';

const IMAGE = 'berth-bench/rootfs:1';
const BIG_IMAGE = 'berth-bench/big:1';
const r3 = (x) => (x == null || !Number.isFinite(x) ? null : Math.round(x * 1000) / 1000);

// ---- archives (tar-stream, streamed to disk) ----

/** A layer tar written to `dest` by fill(add); resolves { diffId, bytes, entries }. */
async function writeLayerTar(dest, fill) {
  const pack = tar.pack();
  const hash = crypto.createHash('sha256');
  let bytes = 0;
  let entries = 0;
  const writing = pipeline(
    pack,
    async function* (source) {
      for await (const chunk of source) {
        hash.update(chunk);
        bytes += chunk.length;
        yield chunk;
      }
    },
    fs.createWriteStream(dest),
  );
  const add = (header, data) =>
    new Promise((resolve, reject) => {
      entries++;
      pack.entry({ mode: 0o644, mtime: new Date(1700000000000), ...header }, data, (err) => (err ? reject(err) : resolve()));
    });
  await fill(add);
  pack.finalize();
  await writing;
  return { diffId: `sha256:${hash.digest('hex')}`, bytes, entries };
}

/** The entries of a directory tree (files, directories, symlinks; hard links as links). */
async function addTree(add, dir) {
  const seen = new Map();
  const walk = async (rel) => {
    const full = path.join(dir, rel);
    const st = fs.lstatSync(full);
    const base = { name: rel === '' ? './' : rel, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
    if (st.isDirectory()) {
      await add({ ...base, type: 'directory' });
      for (const e of fs.readdirSync(full).sort()) await walk(rel === '' ? e : `${rel}/${e}`);
    } else if (st.isSymbolicLink()) {
      await add({ ...base, type: 'symlink', linkname: fs.readlinkSync(full) });
    } else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      if (st.nlink > 1 && seen.has(key)) return add({ ...base, type: 'link', linkname: seen.get(key) });
      seen.set(key, rel);
      await add({ ...base, type: 'file' }, fs.readFileSync(full));
    }
  };
  await walk('');
}

/** A small deterministic PRNG (mulberry32): the same file sizes every run. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `totalBytes` of random (incompressible) files, log-uniform 1 KiB..4 MiB, 32 to a directory. */
async function addRandomFiles(add, totalBytes) {
  const rand = prng(42);
  const [lo, hi] = [Math.log(1024), Math.log(4 * 2 ** 20)];
  await add({ name: 'data/', type: 'directory', mode: 0o755 });
  let left = totalBytes;
  let files = 0;
  for (let i = 0; left > 0; i++) {
    if (i % 32 === 0) await add({ name: `data/d${i / 32}/`, type: 'directory', mode: 0o755 });
    const size = Math.min(left, Math.floor(Math.exp(lo + rand() * (hi - lo))));
    await add({ name: `data/d${Math.floor(i / 32)}/f${i}`, type: 'file' }, crypto.randomBytes(size));
    left -= size;
    files++;
  }
  return files;
}

function imageConfig(diffIds) {
  return Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: diffIds.map(() => ({ created_by: 'berth bench' })),
    }),
  );
}

/** A `docker save` tarball of the given layer tar files: { path, id, bytes }. */
async function dockerSave(dest, layers, repoTag) {
  const cfg = imageConfig(layers.map((l) => l.diffId));
  const hex = crypto.createHash('sha256').update(cfg).digest('hex');
  const pack = tar.pack();
  const writing = pipeline(pack, fs.createWriteStream(dest));
  const add = (header, data) => new Promise((resolve, reject) => pack.entry({ mode: 0o644, mtime: new Date(1700000000000), ...header }, data, (err) => (err ? reject(err) : resolve())));
  const members = [];
  for (const l of layers) {
    const dir = l.diffId.slice(7);
    await add({ name: dir, type: 'directory', mode: 0o755 });
    await add({ name: `${dir}/layer.tar` }, fs.readFileSync(l.file));
    members.push(`${dir}/layer.tar`);
  }
  await add({ name: `${hex}.json` }, cfg);
  await add({ name: 'manifest.json' }, JSON.stringify([{ Config: `${hex}.json`, RepoTags: [repoTag], Layers: members }]));
  await add({ name: 'repositories' }, JSON.stringify({ [repoTag.split(':')[0]]: { [repoTag.split(':')[1]]: layers.at(-1).diffId.slice(7) } }));
  pack.finalize();
  await writing;
  return { path: dest, id: `sha256:${hex}`, bytes: fs.statSync(dest).size };
}

// ---- disk usage ----

/** du-style: st_blocks × 512 summed over a tree (each inode once), the inode count, and its non-directory entries. */
function usage(root, { skip = [] } = {}) {
  const seen = new Set();
  let bytes = 0;
  let inodes = 0;
  let nonDirs = 0;
  const walk = (p) => {
    let st;
    try {
      st = fs.lstatSync(p);
    } catch {
      return; // raced with a removal
    }
    if (st.isDirectory() && skip.includes(p)) return;
    const key = `${st.dev}:${st.ino}`;
    if (!seen.has(key)) {
      seen.add(key);
      bytes += st.blocks * 512;
      inodes++;
    }
    if (!st.isDirectory()) {
      nonDirs++;
      return;
    }
    let names = [];
    try {
      names = fs.readdirSync(p);
    } catch {}
    for (const n of names) walk(path.join(p, n));
  };
  walk(root);
  return { bytes, inodes, nonDirs };
}

/** Every non-directory path under dir (relative), for reporting what a writable layer holds. */
function filesUnder(dir) {
  const out = [];
  const walk = (rel) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else out.push(r);
    }
  };
  try {
    walk('');
  } catch {}
  return out;
}

// ---- podman, private ----

const PODMAN_HOST_PATHS = ['/var/lib/containers', '/dev/shm/libpod_lock', '/run/libpod', '/run/containers'];
const hostPaths = () => PODMAN_HOST_PATHS.filter((p) => fs.existsSync(p));
const q = shellQuote;
const UNSHARE = ['-m', '--propagation', 'private', 'sh', '-c'];
const HIDE_VAR_LIB = 'mount -t tmpfs -o mode=0755 berth-bench /var/lib';

function podmanMissing() {
  try {
    execFileSync('podman', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'podman is not installed (sh scripts/ensure-packages.sh test podman)';
  }
  return undefined;
}

/** argv + env of `podman load -i archive` with everything of podman's own under dir (made here). */
function podmanLoad(dir, archive) {
  const { env, globals } = privatePodman(dir);
  return { args: [...UNSHARE, `${HIDE_VAR_LIB} && exec podman ${[...globals, 'load', '-i', archive].map(q).join(' ')}`], env };
}

/** Spawn to exit; resolves { ms, stdout }, rejects on a non-zero exit with its stderr. */
function timeSpawnOut(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code === 0) resolve({ ms, stdout: out });
      else reject(new Error(`${cmd} ${args.at(-1).slice(-120)}: exit ${code ?? signal}: ${err.trim().slice(-400)}`));
    });
  });
}

// ---- the scenario ----

export async function image(ctx, { rounds, containers = 100, importRounds = 10, importMB = 100 }) {
  const { berth, rootfs } = ctx;
  if (typeof berth.importImage !== 'function') return { skipped: 'this berth has no importImage' };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-image-'));
  const shmState = fs.mkdtempSync(path.join('/dev/shm', 'berth-bench-image-state-'));
  const scaleState = path.join(dir, 'scale-state');
  const store = path.join(dir, 'store');
  const bundles = [];
  const podmanBefore = hostPaths();
  const out = {};
  try {
    // The fixture rootfs as a one-layer image in the bench's store.
    const base = await writeLayerTar(path.join(dir, 'rootfs-layer.tar'), (add) => addTree(add, rootfs));
    base.file = path.join(dir, 'rootfs-layer.tar');
    const small = await dockerSave(path.join(dir, 'rootfs-image.tar'), [base], IMAGE);
    const imported = await berth.importImage(small.path, { store });
    if (imported.id !== small.id) throw new Error(`imported ${imported.id}, built ${small.id}`);

    out.startup = await startupArms(ctx, rounds, { store, shmState, bundles });
    out.bytes = await bytesPerContainer(ctx, containers, { store, stateRoot: scaleState });

    const reason = podmanMissing();
    out.import = await importThroughput(ctx, importRounds, { dir, base, importMB, podmanReason: reason });
    const now = hostPaths();
    out.podmanLeftOnHost = now.filter((p) => !podmanBefore.includes(p));
    if (out.podmanLeftOnHost.length) console.error(`  image: podman left on the host: ${out.podmanLeftOnHost.join(', ')}`);
    await berth.removeImage(IMAGE, { store });
    printSummary(out);
    return out;
  } finally {
    for (const b of bundles) b.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(shmState, { recursive: true, force: true });
  }
}

async function startupArms(ctx, rounds, { store, shmState, bundles }) {
  const { berth, rootfs, crun } = ctx;
  const spec = makeSpec({ rootfs, args: ['/bin/true'], cgroupsPath: `${CGROUP_PARENT}/image` });
  const plain = (stateRoot) => berthConfig(spec, stateRoot);
  const overlay = (stateRoot) => {
    const c = berthConfig(spec, stateRoot);
    delete c.root;
    return { ...c, rootfs: { path: rootfs, overlay: true } };
  };
  const fromImage = (stateRoot) => {
    const c = berthConfig(spec, stateRoot);
    delete c.root;
    return { ...c, image: IMAGE, store };
  };
  const runners = [
    { name: 'plain dir', run: () => timeBerthRun(berth, plain(ctx.stateRoot)) },
    { name: 'image', run: () => timeBerthRun(berth, fromImage(ctx.stateRoot)) },
    { name: 'rootfs overlay', run: () => timeBerthRun(berth, overlay(ctx.stateRoot)) },
    { name: 'plain dir, tmpfs state', run: () => timeBerthRun(berth, plain(shmState)) },
    { name: 'image, tmpfs state', run: () => timeBerthRun(berth, fromImage(shmState)) },
  ];
  if (crun) {
    const b = makeBundle({ rootfs, args: ['/bin/true'], cgroupsPath: `${CGROUP_PARENT}/image-crun` });
    bundles.push(b);
    runners.push(
      { name: 'crun plain dir', run: () => crun.run(b.dir) },
      { name: 'spawn true', run: () => timeSpawn('/bin/true', []) },
      { name: 'nsenter true', run: () => timeSpawn('nsenter', [`--mount=${crun.nsPath}`, '/bin/true']) },
    );
  }
  const { samples, dropped } = await interleave(runners, rounds, { label: 'image: startup' });
  const stats = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
  const p50 = (k) => (stats[k]?.n ? stats[k].p50 : null);
  const delta = (a, b) => (p50(a) != null && p50(b) != null ? r3(p50(a) - p50(b)) : null);
  const wrapperMs = p50('nsenter true') != null && p50('spawn true') != null ? Math.max(0, p50('nsenter true') - p50('spawn true')) : 0;
  const crunAdj = p50('crun plain dir') != null ? p50('crun plain dir') - wrapperMs : null;
  return {
    rounds,
    stateRoots: { default: 'os.tmpdir() (ext4 here)', tmpfs: '/dev/shm' },
    stats,
    dropped,
    wrapperMs: r3(wrapperMs),
    deltaMs: {
      image: delta('image', 'plain dir'),
      rootfsOverlay: delta('rootfs overlay', 'plain dir'),
      imageOverRootfsOverlay: delta('image', 'rootfs overlay'),
      imageTmpfsState: delta('image, tmpfs state', 'plain dir, tmpfs state'),
    },
    ratios: {
      'image/plain': ratio(p50('image'), p50('plain dir')),
      'plain/crun': ratio(p50('plain dir'), crunAdj),
      'image/crun': ratio(p50('image'), crunAdj),
    },
  };
}

async function bytesPerContainer(ctx, n, { store, stateRoot }) {
  const { berth } = ctx;
  fs.mkdirSync(stateRoot, { recursive: true });
  const layersDir = path.join(store, 'layers');
  const storeUsage = () => ({ layers: usage(layersDir), rest: usage(store, { skip: [layersDir] }) });
  const spec = makeSpec({ rootfs: ctx.rootfs, args: ['sleep', '1000'], cgroupsPath: `${CGROUP_PARENT}/unused` });
  const before = { store: storeUsage(), state: usage(stateRoot) };
  const made = [];
  const t0 = process.hrtime.bigint();
  let during;
  let upper;
  let failures = [];
  try {
    const results = await Promise.allSettled(
      Array.from({ length: n }, async () => {
        const cfg = berthConfig(spec, stateRoot, { cgroupPrefix: `${CGROUP_PARENT}-image` });
        delete cfg.root;
        const c = await withTimeout(berth.createContainer({ ...cfg, image: IMAGE, store, process: { ...cfg.process, stdio: 'ignore' } }), 60_000, 'createContainer');
        made.push(c);
        await c.start();
      }),
    );
    failures = [...new Set(results.filter((r) => r.status === 'rejected').map((r) => r.reason.message))].slice(0, 5);
    const startedMs = Number(process.hrtime.bigint() - t0) / 1e6;
    during = { store: storeUsage(), state: usage(stateRoot), startedMs: r3(startedMs) };
    const uppers = made.map((c) => path.join(stateRoot, c.id, 'layer'));
    const u = uppers.map((l) => ({ upper: usage(path.join(l, 'upper')), work: usage(path.join(l, 'work')), files: filesUnder(path.join(l, 'upper')) }));
    upper = {
      bytes: u.reduce((a, x) => a + x.upper.bytes + x.work.bytes, 0),
      inodes: u.reduce((a, x) => a + x.upper.inodes + x.work.inodes, 0),
      files: u.reduce((a, x) => a + x.files.length, 0),
      sampleFiles: u[0]?.files.slice(0, 10) ?? [],
    };
  } finally {
    await Promise.allSettled(made.map((c) => c.destroy()));
  }
  const after = { store: storeUsage(), state: usage(stateRoot) };
  const live = made.length || 1;
  const per = (a, b) => Math.round((a - b) / live);
  return {
    containers: n,
    alive: made.length,
    failures,
    startedAllMs: during.startedMs,
    layers: { before: before.store.layers, during: during.store.layers, after: after.store.layers },
    // The store apart from layers: container records (containers/<id>.json) while they exist.
    storeRest: { before: before.store.rest, during: during.store.rest, after: after.store.rest },
    stateRoot: { before: before.state, during: during.state, after: after.state },
    perContainer: {
      layerBytes: per(during.store.layers.bytes, before.store.layers.bytes),
      layerInodes: per(during.store.layers.inodes, before.store.layers.inodes),
      storeRecordBytes: per(during.store.rest.bytes, before.store.rest.bytes),
      stateDirBytes: per(during.state.bytes, before.state.bytes),
      upperWorkBytes: Math.round(upper.bytes / live),
      upperWorkInodes: Math.round(upper.inodes / live),
      filesInUpper: upper.files / live,
    },
    sampleUpperFiles: upper.sampleFiles,
    // What giving each container its own copy of the files would cost instead.
    copyOfRootfsBytes: usage(ctx.rootfs).bytes,
    // Everything made for the containers is gone again (the state root's own directory aside).
    leftAfterDestroy: { stateBytes: after.state.bytes - before.state.bytes, stateInodes: after.state.inodes - before.state.inodes, storeRestInodes: after.store.rest.inodes - before.store.rest.inodes },
  };
}

async function importThroughput(ctx, rounds, { dir, base, importMB, podmanReason }) {
  const { berth } = ctx;
  const tb0 = process.hrtime.bigint();
  const bigFile = path.join(dir, 'random-layer.tar');
  let files = 0;
  const big = await writeLayerTar(bigFile, async (add) => {
    files = await addRandomFiles(add, importMB * 1e6);
  });
  big.file = bigFile;
  const archive = await dockerSave(path.join(dir, 'big-image.tar'), [base, big], BIG_IMAGE);
  fs.rmSync(bigFile);
  const buildMs = Number(process.hrtime.bigint() - tb0) / 1e6;
  let seq = 0;
  const fresh = (what) => path.join(dir, `${what}-${++seq}`);
  const syncDisks = () => execFileSync('sync');
  const runners = [
    {
      name: 'berth importImage',
      run: async () => {
        const s = fresh('import-store');
        syncDisks();
        try {
          const t0 = process.hrtime.bigint();
          const info = await berth.importImage(archive.path, { store: s });
          const ms = Number(process.hrtime.bigint() - t0) / 1e6;
          if (info.id !== archive.id || info.layers.length !== 2) throw new Error(`importImage gave ${info.id} with ${info.layers.length} layers, expected ${archive.id}`);
          return ms;
        } finally {
          fs.rmSync(s, { recursive: true, force: true });
        }
      },
    },
  ];
  if (!podmanReason) {
    runners.push(
      {
        name: 'podman load',
        run: async () => {
          const p = fresh('podman');
          const { args, env } = podmanLoad(p, archive.path);
          syncDisks();
          try {
            const { ms, stdout } = await timeSpawnOut('unshare', args, env);
            if (!stdout.includes(BIG_IMAGE)) throw new Error(`podman load said: ${stdout.trim()}`);
            return ms;
          } finally {
            fs.rmSync(p, { recursive: true, force: true });
          }
        },
      },
      { name: 'unshare wrapper', run: () => timeSpawn('unshare', [...UNSHARE, `${HIDE_VAR_LIB} && exec true`]) },
    );
  }
  const { samples, dropped } = await interleave(runners, rounds, { label: 'image: import', warmup: 1 });
  const stats = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
  const p50 = (k) => (stats[k]?.n ? stats[k].p50 : null);
  const wrapperMs = p50('unshare wrapper') ?? 0;
  const podmanAdj = p50('podman load') != null ? p50('podman load') - wrapperMs : null;
  const mbps = (ms) => (ms == null ? null : Math.round((archive.bytes / 1e6 / (ms / 1000)) * 10) / 10);
  return {
    rounds,
    archive: { bytes: archive.bytes, layers: 2, randomFiles: files, randomLayerBytes: big.bytes, rootfsLayerBytes: base.bytes, buildMs: Math.round(buildMs), compression: 'none (docker save)' },
    ...(podmanReason ? { podmanSkipped: podmanReason } : {}),
    stats,
    dropped,
    wrapperMs: r3(wrapperMs),
    mbPerSec: { berth: mbps(p50('berth importImage')), podman: mbps(podmanAdj) },
    // berth's throughput / podman's (podman's p50 without the wrapper): ≥ 1 is the goal.
    ratios: { 'berth/podman throughput': ratio(podmanAdj, p50('berth importImage')) },
  };
}

function printSummary(r) {
  const s = r.startup;
  const row = (k) => (s.stats[k]?.n ? `${k} ${s.stats[k].p50}` : null);
  console.log(`\nimage: startup p50 (ms): ${Object.keys(s.stats).map(row).filter(Boolean).join(' · ')}`);
  console.log(`  image − plain dir +${s.deltaMs.image} ms (goal ≤ +0.5); rootfs overlay − plain +${s.deltaMs.rootfsOverlay} ms; with tmpfs state image − plain +${s.deltaMs.imageTmpfsState} ms; plain/crun ${s.ratios['plain/crun'] ?? '—'} (wrapper ${s.wrapperMs} ms off crun)`);
  const b = r.bytes;
  const pc = b.perContainer;
  console.log(
    `image: ${b.alive}/${b.containers} containers from one image at once (started in ${Math.round(b.startedAllMs)} ms): per container ${pc.layerBytes} B of layers, ${pc.filesInUpper} files and ${pc.upperWorkBytes} B (${pc.upperWorkInodes} inodes: the upper/work dirs) in its writable layer, ${pc.stateDirBytes} B of state dir in all, ${pc.storeRecordBytes} B of store record; a copy of the rootfs each would be ${b.copyOfRootfsBytes} B`,
  );
  const im = r.import;
  const st = (k) => (im.stats[k]?.n ? im.stats[k].p50 : '—');
  console.log(
    `image: import of a ${(im.archive.bytes / 1e6).toFixed(1)} MB docker-save tarball (${im.archive.randomFiles} random files + the rootfs), p50: berth ${st('berth importImage')} ms = ${im.mbPerSec.berth} MB/s; podman load ${st('podman load')} ms − ${im.wrapperMs} ms wrapper = ${im.mbPerSec.podman} MB/s; berth/podman ×${im.ratios['berth/podman throughput'] ?? '—'}${im.podmanSkipped ? ` (podman skipped: ${im.podmanSkipped})` : ''}`,
  );
}
