// Image archives built in the test from the fixture rootfs with tar-stream:
// layer tars, `docker save` tarballs and OCI layouts (directory or tar).
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import tar from 'tar-stream';

export const sha256 = (b) => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

async function packToBuffer(fill) {
  const p = tar.pack();
  const chunks = [];
  p.on('data', (c) => chunks.push(c));
  const done = new Promise((resolve, reject) => {
    p.on('end', resolve);
    p.on('error', reject);
  });
  await fill(p);
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

const add = (p, header, data) =>
  new Promise((resolve, reject) => p.entry(header, data, (err) => (err ? reject(err) : resolve())));

/** A layer tar of explicit entries: { name, type?, data?, linkname?, mode?, uid?, gid?, devmajor?, devminor?, pax? }. */
export function layerTar(entries) {
  return packToBuffer(async (p) => {
    for (const e of entries) {
      const { data, ...header } = e;
      await add(p, { type: 'file', mode: 0o644, mtime: new Date(1700000000000), ...header }, data ?? (header.type && header.type !== 'file' ? undefined : ''));
    }
  });
}

/** A layer tar of a directory tree (files, directories, symlinks; hard links kept as such). */
export function dirTar(dir) {
  return packToBuffer(async (p) => {
    const seen = new Map();
    const walk = async (rel) => {
      const full = path.join(dir, rel);
      const st = fs.lstatSync(full);
      const base = { name: rel === '' ? './' : rel, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
      if (st.isDirectory()) {
        await add(p, { ...base, type: 'directory' });
        for (const e of fs.readdirSync(full).sort()) await walk(rel === '' ? e : `${rel}/${e}`);
      } else if (st.isSymbolicLink()) {
        await add(p, { ...base, type: 'symlink', linkname: fs.readlinkSync(full) });
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        if (st.nlink > 1 && seen.has(key)) return add(p, { ...base, type: 'link', linkname: seen.get(key) });
        seen.set(key, rel);
        await add(p, { ...base, type: 'file' }, fs.readFileSync(full));
      }
    };
    await walk('');
  });
}

export function compress(buf, kind) {
  if (kind === 'gzip') return zlib.gzipSync(buf);
  if (kind === 'zstd') {
    const r = spawnSync('zstd', ['-q', '-c'], { input: buf, maxBuffer: 1 << 30 });
    if (r.status !== 0) throw new Error(`zstd failed: ${r.stderr}`);
    return r.stdout;
  }
  return buf;
}

export const hasZstd = () => spawnSync('zstd', ['--version']).status === 0;

export function imageConfig(layerTars, config = {}) {
  return Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/bin/sh'], ...config },
      rootfs: { type: 'layers', diff_ids: layerTars.map(sha256) },
      history: layerTars.map(() => ({ created_by: 'berth test' })),
    }),
  );
}

/** A `docker save` tarball: { path, id }. Overrides: config (the Buffer), layerMembers (what the tar holds per layer). */
export async function dockerSave(dest, layerTars, { repoTags = [], config, members } = {}) {
  const cfg = config ?? imageConfig(layerTars);
  const id = sha256(cfg);
  const hex = id.slice(7);
  const layerPaths = layerTars.map((l) => `${sha256(l).slice(7)}/layer.tar`);
  const buf = await packToBuffer(async (p) => {
    for (const [i, l] of layerTars.entries()) {
      await add(p, { name: path.dirname(layerPaths[i]), type: 'directory', mode: 0o755 });
      await add(p, { name: layerPaths[i], mode: 0o644 }, (members?.[i] ?? l));
    }
    await add(p, { name: `${hex}.json`, mode: 0o644 }, cfg);
    await add(p, { name: 'manifest.json', mode: 0o644 }, JSON.stringify([{ Config: `${hex}.json`, RepoTags: repoTags, Layers: layerPaths }]));
    await add(p, { name: 'repositories', mode: 0o644 }, '{}');
  });
  fs.writeFileSync(dest, buf);
  return { path: dest, id };
}

/** An OCI image layout directory: { dir, id, layerDigests }. blobOverride: { [layerIndex]: Buffer } written in place of the real blob. */
export function ociLayout(dir, layerTars, { compression = 'gzip', refName, config, blobOverride = {}, omit = [] } = {}) {
  fs.mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = (b, i) => {
    const d = sha256(b);
    if (!omit.includes(i)) fs.writeFileSync(path.join(dir, 'blobs', 'sha256', d.slice(7)), blobOverride[i] ?? b);
    return d;
  };
  const kinds = Array.isArray(compression) ? compression : layerTars.map(() => compression);
  const blobs = layerTars.map((l, i) => compress(l, kinds[i]));
  const cfg = config ?? imageConfig(layerTars);
  const mt = { gzip: '+gzip', zstd: '+zstd', none: '' };
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: put(cfg, 'config'), size: cfg.length },
      layers: blobs.map((b, i) => ({ mediaType: `application/vnd.oci.image.layer.v1.tar${mt[kinds[i]]}`, digest: put(b, i), size: b.length })),
    }),
  );
  const md = put(manifest, 'manifest');
  fs.writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  fs.writeFileSync(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: md, size: manifest.length, ...(refName ? { annotations: { 'org.opencontainers.image.ref.name': refName } } : {}) }],
    }),
  );
  return { dir, id: sha256(cfg), layerDigests: blobs.map(sha256) };
}

/** A tar of a directory's files (an OCI layout as one archive). */
export function tarOfDir(dir) {
  return dirTar(dir);
}

/** The members of a tar (Buffer): { name: { header, data } }. */
export async function tarMembers(buf) {
  const ex = tar.extract();
  const out = {};
  const done = (async () => {
    for await (const entry of ex) {
      const chunks = [];
      for await (const c of entry) chunks.push(c);
      out[entry.header.name] = { header: entry.header, data: Buffer.concat(chunks) };
    }
  })();
  ex.end(buf);
  await done;
  return out;
}
