// listImages, inspectImage, removeImage: reading and retiring records.
import fs from 'node:fs';
import path from 'node:path';
import { ImageError } from '../errors.js';
import { toImageInfo, type ImageInfo } from './info.js';
import { isImageId, nameCandidates } from './names.js';
import { containersUsing, layersFreedBy } from './refcount.js';
import { dropName, hexOf, isLiveContainer, layerDir, listContainerRecords, listHolds, listImageRecords, openStore, readImage, readNames, splitFile, withLock, type ImageRecord, type Store } from './store.js';

export interface StoreOptions {
  /** The store's directory (default /var/lib/berth as root). */
  store?: string;
}

export function listImages(opts: StoreOptions = {}): Promise<ImageInfo[]> {
  const store = openStore(opts.store);
  const names = readNames(store);
  return Promise.resolve(listImageRecords(store).map((r) => toImageInfo(r, names)).sort((a, b) => a.created.localeCompare(b.created)));
}

/** The record a reference means: an id (`sha256:…`), or a name (`repo`, `repo:tag`, with or without the registry). */
export function resolveImage(store: Store, ref: string): { record: ImageRecord; name?: string } {
  if (typeof ref !== 'string' || ref === '') throw new ImageError('IMAGE_NOT_FOUND', `no image ${JSON.stringify(ref)}`, { step: 'resolve', image: String(ref) });
  if (isImageId(ref)) {
    const record = readImage(store, ref);
    if (record) return { record };
  } else {
    const names = readNames(store);
    for (const n of nameCandidates(ref)) {
      const id = names.get(n);
      const record = id ? readImage(store, id) : null;
      if (record) return { record, name: n };
    }
    // A unique id prefix of at least 12 hex digits, as `docker images` shows them.
    const hex = ref.replace(/^sha256:/, '');
    if (/^[0-9a-f]{12,63}$/.test(hex)) {
      const matches = listImageRecords(store).filter((r) => hexOf(r.id).startsWith(hex));
      if (matches.length === 1) return { record: matches[0] };
    }
  }
  throw new ImageError('IMAGE_NOT_FOUND', `no image ${ref} in ${store.root}`, { step: 'resolve', image: ref });
}

export function inspectImage(ref: string, opts: StoreOptions = {}): Promise<ImageInfo> {
  try {
    const store = openStore(opts.store);
    return Promise.resolve(toImageInfo(resolveImage(store, ref).record, readNames(store)));
  } catch (err) {
    return Promise.reject(err);
  }
}

export interface RemoveResult {
  /** Names taken off. */
  untagged: string[];
  /** The image id removed, or null when only a name was (the image has others). */
  deleted: string | null;
  /** Layers no image or container uses any more, now gone. */
  layersRemoved: string[];
}

/**
 * Removes a name (the image stays while it has others, as `docker rmi` does) or,
 * by id or by its last name, the image; a layer goes with it only when no other
 * image or container uses it. Refused (IMAGE_IN_USE) while a container uses the image.
 */
export async function removeImage(ref: string, opts: StoreOptions = {}): Promise<RemoveResult> {
  const store = openStore(opts.store);
  const doomed: string[] = [];
  const result = await withLock(store, () => {
    const { record, name } = resolveImage(store, ref);
    const names = [...readNames(store)].filter(([, id]) => id === record.id).map(([n]) => n);
    if (name && names.length > 1) {
      dropName(store, name);
      return { untagged: [name], deleted: null, layersRemoved: [] };
    }
    const containers = listContainerRecords(store).filter(isLiveContainer);
    const users = containersUsing(record.id, containers);
    if (users.length > 0) {
      throw new ImageError('IMAGE_IN_USE', `image ${ref} is used by container${users.length > 1 ? 's' : ''} ${users.join(', ')}`, { step: 'remove', image: ref, errno: 'EBUSY' });
    }
    const holds = listHolds(store);
    const exporting = holds.filter((h) => h.image === record.id);
    if (exporting.length > 0) {
      throw new ImageError('IMAGE_IN_USE', `image ${ref} is being read by ${exporting.map((h) => `${h.what} (pid ${h.pid})`).join(', ')}`, { step: 'remove', image: ref, errno: 'EBUSY' });
    }
    const freed = layersFreedBy(record, { images: listImageRecords(store), containers: [...containers, ...holds.map((h) => ({ id: `${h.what} (pid ${h.pid})`, layers: h.layers }))] });
    for (const n of names) dropName(store, n);
    fs.rmSync(path.join(store.images, `${hexOf(record.id)}.json`), { force: true });
    fs.rmSync(path.join(store.blobs, hexOf(record.id)), { force: true });
    for (const l of freed) {
      // Out of layers/ under the lock; the (slow) recursive removal after it.
      const gone = fs.mkdtempSync(path.join(store.tmp, `${process.pid}-gone-`));
      fs.renameSync(layerDir(store, l), path.join(gone, 'root'));
      fs.rmSync(`${layerDir(store, l)}.size`, { force: true });
      fs.rmSync(splitFile(store, l), { force: true });
      doomed.push(gone);
    }
    return { untagged: names, deleted: record.id, layersRemoved: freed };
  });
  await Promise.all(doomed.map((d) => fs.promises.rm(d, { recursive: true, force: true })));
  return result;
}
