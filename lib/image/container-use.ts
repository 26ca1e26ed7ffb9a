// Images as container roots: what a container config's `image` resolves to
// (read-only, for config validation), and the store's record that the
// container uses the image's layers, so removeImage refuses the image and keeps
// its layers while the container exists. A record names the container's state
// directory: one whose container is gone without a destroy (its owner crashed
// and the state root was cleared, a reboot emptied /run) holds nothing.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ImageError } from '../errors.js';
import { resolveImage } from './images.js';
import type { ImageConfig } from './manifest.js';
import { type ContainerRecord, layerDir, openStore, withLock } from './store.js';

export interface ImageRootfs {
  /** The config digest. */
  id: string;
  /** The name the reference matched, when it was one. */
  name?: string;
  /** The store's directory. */
  store: string;
  /** diffIDs, lowest first. */
  layers: string[];
  /** The layers' directories, lowest first. */
  dirs: string[];
  config: ImageConfig;
}

/** The image `ref` names in the store, with its layer directories. No side effects but opening the store. */
export function imageRootfs(ref: string, storeDir?: string): ImageRootfs {
  const store = openStore(storeDir);
  const { record, name } = resolveImage(store, ref);
  return {
    id: record.id,
    ...(name !== undefined ? { name } : {}),
    store: store.root,
    layers: [...record.layers],
    dirs: record.layers.map((l) => layerDir(store, l)),
    config: record.config,
  };
}

function recordFile(storeRoot: string, container: string, stateDir: string): string {
  const tag = crypto.createHash('sha256').update(stateDir).digest('hex').slice(0, 12);
  return path.join(openStore(storeRoot).containers, `${container}.${tag}.json`);
}

/**
 * Records that the container uses the image, under the store's lock, after
 * checking the image and every layer directory are still there (a removeImage
 * between config validation and now is an error here, not a failed mount later).
 */
export async function holdImage(image: Omit<ImageRootfs, 'config'>, container: string, stateDir: string): Promise<void> {
  const store = openStore(image.store);
  await withLock(store, () => {
    const { record } = resolveImage(store, image.id);
    const missing = image.dirs.find((d) => !fs.existsSync(d));
    if (missing !== undefined || record.layers.join() !== image.layers.join()) {
      throw new ImageError('IMAGE_NOT_FOUND', `image ${image.name ?? image.id} changed or lost a layer while the container was made${missing ? ` (${missing})` : ''}`, { step: 'image', image: image.id });
    }
    const rec: ContainerRecord = { id: container, image: image.id, layers: image.layers, stateDir };
    // In place, not through a temp file and a rename: readers hold the lock, and a torn record reads as none (listContainerRecords).
    fs.writeFileSync(recordFile(store.root, container, stateDir), JSON.stringify(rec), { mode: 0o600 });
  });
}

/** The container's record goes: its image and layers are free again (for removeImage). */
export async function releaseImage(storeRoot: string, container: string, stateDir: string): Promise<void> {
  const store = openStore(storeRoot);
  await withLock(store, () => fs.rmSync(recordFile(store.root, container, stateDir), { force: true }));
}
