// importImage: archive -> verified layers in the store -> an image record.
// Layers are unpacked into tmp/ and renamed into layers/ only once both their
// digests checked out, so layers/ never holds half a layer; a layer already
// there (another image, another process that won the race) is not unpacked again.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { ImageError } from '../errors.js';
import { LayerEntryError, unpackLayer } from './layer-unpack.js';
import { parseImageConfig, pickFromIndex, planFromManifest, plansFromDockerManifest, type ImagePlan } from './manifest.js';
import { isValidName, withTag } from './names.js';
import { openArchive, type Archive } from './source.js';
import { hexOf, layerDir, openStore, readNames, setName, splitFile, storeError, sweepTmp, tempDir, withLock, writeAtomic, type ImageRecord, type Store } from './store.js';
import { toImageInfo, type ImageInfo } from './info.js';

export interface ImportProgress {
  /** 'archive': reading the source; 'layer': unpacking layer `layer` of `layers`; 'layer-exists': already stored; 'done'. */
  phase: 'archive' | 'layer' | 'layer-exists' | 'done';
  /** Bytes of the source read so far (archive), or of this layer's blob (layer). */
  bytes: number;
  layer?: number;
  layers?: number;
  digest?: string;
}

export interface ImportOptions {
  /** A name to give the image, besides those the archive carries (`repo:tag`; `repo` means `repo:latest`). */
  name?: string;
  store?: string;
  onProgress?: (p: ImportProgress) => void;
}

const invalid = (image: string, message: string, blob?: string, cause?: unknown) =>
  new ImageError('IMAGE_INVALID', `cannot import ${image}${blob ? ` (${blob})` : ''}: ${message}`, { step: 'import', image, ...(blob ? { blob } : {}), ...(cause ? { cause } : {}) });

function readMember(archive: Archive, member: string, image: string): string {
  const p = archive.locate(member);
  if (!p) throw invalid(image, `the archive has no ${member}`, member);
  return p;
}

function readJsonMember(archive: Archive, member: string, image: string): unknown {
  const bytes = fs.readFileSync(readMember(archive, member, image));
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw invalid(image, `${member} is not JSON`, member, err);
  }
}

function plansOf(archive: Archive, image: string): ImagePlan[] {
  try {
    if (archive.locate('oci-layout') && archive.locate('index.json')) {
      let index = readJsonMember(archive, 'index.json', image);
      let what = 'index.json';
      for (let depth = 0; depth < 8; depth++) {
        const pick = pickFromIndex(index, what);
        const body = readJsonMember(archive, pick.manifest.path, image);
        checkDigest(archive, pick.manifest.path, pick.manifest.digest!, image);
        if (!pick.isIndex) return [planFromManifest(body, pick.names, pick.manifest.digest)];
        index = body;
        what = pick.manifest.digest!;
      }
      throw new Error('image indexes nest too deep');
    }
    if (archive.locate('manifest.json')) return plansFromDockerManifest(readJsonMember(archive, 'manifest.json', image));
  } catch (err) {
    if (err instanceof ImageError) throw err;
    throw invalid(image, (err as Error).message, undefined, err);
  }
  throw invalid(image, 'neither an OCI layout (oci-layout, index.json) nor a docker save archive (manifest.json)');
}

function sha256(bytes: Buffer): string {
  return `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;
}

function checkDigest(archive: Archive, member: string, digest: string, image: string): Buffer {
  const bytes = fs.readFileSync(readMember(archive, member, image));
  const got = sha256(bytes);
  if (got !== digest) throw invalid(image, `digest mismatch: the descriptor says ${digest}, the blob is ${got}`, digest);
  return bytes;
}

async function importPlan(store: Store, archive: Archive, plan: ImagePlan, image: string, opts: ImportOptions): Promise<ImageRecord> {
  const configPath = readMember(archive, plan.config.path, image);
  const configBytes = fs.readFileSync(configPath);
  const id = sha256(configBytes);
  if (plan.config.digest && plan.config.digest !== id) throw invalid(image, `digest mismatch: the config should be ${plan.config.digest}, it is ${id}`, plan.config.digest);
  let config;
  try {
    config = parseImageConfig(configBytes, plan.layers.length);
  } catch (err) {
    throw invalid(image, (err as Error).message, id, err);
  }
  const diffIds = config.rootfs.diff_ids;
  const staged: Array<{ dir: string; diffId: string }> = [];
  const sizes: number[] = [];
  try {
    for (const [i, layer] of plan.layers.entries()) {
      const diffId = diffIds[i];
      const blob = layer.digest ?? layer.path;
      const existing = layerDir(store, diffId);
      const sizeFile = `${existing}.size`;
      if (fs.existsSync(existing)) {
        sizes.push(Number(fs.readFileSync(sizeFile, 'utf8')) || 0);
        opts.onProgress?.({ phase: 'layer-exists', bytes: 0, layer: i, layers: plan.layers.length, digest: diffId });
        continue;
      }
      const member = readMember(archive, layer.path, image);
      const work = tempDir(store, 'layer');
      staged.push({ dir: work, diffId });
      const dir = path.join(work, 'root');
      fs.mkdirSync(dir, 0o755);
      let bytes = 0;
      let reported = 0;
      const progress = (n: number) => {
        bytes += n;
        if (bytes - reported >= 1 << 20) {
          reported = bytes;
          opts.onProgress?.({ phase: 'layer', bytes, layer: i, layers: plan.layers.length, digest: diffId });
        }
      };
      let r;
      try {
        r = await unpackLayer(fs.createReadStream(member) as Readable, dir, { asRoot: process.getuid?.() === 0, onBytes: progress, split: path.join(work, 'split') });
      } catch (err) {
        if (err instanceof LayerEntryError) throw invalid(image, err.message, blob, err);
        const e = err as NodeJS.ErrnoException;
        if (e?.code && e.syscall) throw storeError(err, 'unpack', dir, { image, blob });
        throw invalid(image, `the layer is not a readable tar (${e?.message ?? err})`, blob, err);
      }
      if (layer.digest && r.digest !== layer.digest) throw invalid(image, `digest mismatch: the descriptor says ${layer.digest}, the blob is ${r.digest}`, layer.digest);
      if (r.diffId !== diffId) throw invalid(image, `diffID mismatch: the config says ${diffId}, the layer's tar is ${r.diffId}`, blob);
      if (r.droppedXattrs.length) {
        // A string, not an Error: emitWarning keeps the code only then.
        process.emitWarning(
          `importing ${image}: layer ${diffId}: the store's filesystem does not support ${r.droppedXattrs.length} of its xattrs; the files were stored without them (${r.droppedXattrs.slice(0, 3).join(', ')}${r.droppedXattrs.length > 3 ? ', …' : ''})`,
          { type: 'BerthWarning', code: 'BERTH_IMAGE_XATTRS_DROPPED' },
        );
      }
      fs.writeFileSync(path.join(work, 'size'), String(r.size));
      sizes.push(r.size);
      opts.onProgress?.({ phase: 'layer', bytes, layer: i, layers: plan.layers.length, digest: diffId });
    }
    const names = [...plan.names, ...(opts.name ? [opts.name] : [])].map(withTag);
    const record: ImageRecord = { id, layers: diffIds, layerSizes: sizes, size: sizes.reduce((a, b) => a + b, 0), config, created: new Date().toISOString() };
    await withLock(store, () => {
      for (const s of staged) {
        const final = layerDir(store, s.diffId);
        try {
          fs.renameSync(path.join(s.dir, 'root'), final);
          fs.renameSync(path.join(s.dir, 'size'), `${final}.size`);
          // Absent when the layer lost content its records name (a name written twice): an export then regenerates a tar of its own.
          if (fs.existsSync(path.join(s.dir, 'split'))) fs.renameSync(path.join(s.dir, 'split'), splitFile(store, s.diffId));
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err; // another import stored it first
        }
      }
      for (const d of diffIds) {
        if (!fs.existsSync(layerDir(store, d))) throw new ImageError('IMAGE_FAILED', `cannot import ${image}: layer ${d} was removed while the import ran; import again`, { step: 'import', image, blob: d, errno: 'ENOENT', path: layerDir(store, d) });
      }
      writeAtomic(path.join(store.blobs, hexOf(id)), configBytes);
      writeAtomic(path.join(store.images, `${hexOf(id)}.json`), JSON.stringify(record));
      for (const n of names) setName(store, n, id);
    });
    return record;
  } catch (err) {
    throw err instanceof ImageError ? err : storeError(err, 'import', store.root, { image, blob: id });
  } finally {
    await Promise.all(staged.map((s) => fs.promises.rm(s.dir, { recursive: true, force: true })));
  }
}

/** Imports a `docker save` tarball or an OCI layout (directory or tar; a path or a stream). */
export async function importImage(source: string | Readable, opts: ImportOptions = {}): Promise<ImageInfo> {
  const image = typeof source === 'string' ? source : 'stream';
  if (opts.name !== undefined && (typeof opts.name !== 'string' || !isValidName(opts.name))) {
    throw new ImageError('IMAGE_INVALID', `invalid image name ${JSON.stringify(opts.name)}`, { step: 'import', image });
  }
  const store = openStore(opts.store);
  await sweepTmp(store);
  if (typeof source === 'string' && !fs.existsSync(source)) throw new ImageError('IMAGE_NOT_FOUND', `no image archive at ${source}`, { step: 'import', image, errno: 'ENOENT', path: source });
  let archive: Archive;
  const staging = tempDir(store, 'archive');
  try {
    // A running total, reported about once per MiB (a chunk per event would be thousands of calls).
    let read = 0;
    let told = 0;
    try {
      archive = await openArchive(source, staging, (n) => {
        read += n;
        if (read - told < 1 << 20) return;
        told = read;
        opts.onProgress?.({ phase: 'archive', bytes: read });
      });
    } finally {
      // The last total, also when the archive turned out unreadable (a caller's bar shows how far it got).
      if (read > told) opts.onProgress?.({ phase: 'archive', bytes: read });
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e?.code && e.syscall) throw storeError(err, 'import', store.root, { image });
    throw invalid(image, `the archive is not a readable tar (${e?.message ?? err})`, undefined, err);
  }
  try {
    const records: ImageRecord[] = [];
    for (const plan of plansOf(archive, image)) records.push(await importPlan(store, archive, plan, image, opts));
    opts.onProgress?.({ phase: 'done', bytes: 0 });
    return toImageInfo(records[0], readNames(store));
  } finally {
    await archive.close();
  }
}
