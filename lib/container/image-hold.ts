// A container's hold on its image's layers in the store (lib/image/container-use.ts):
// taken by create, released by every destroy (in-process, by handle, a failed create).
import type { ResolvedConfig } from '../config/normalize.js';
import { type ImageRootfs, holdImage, releaseImage } from '../image/container-use.js';
import { layerDir, openStore } from '../image/store.js';

export { holdImage, releaseImage };

/** What holdImage checks and records, from the resolved config's image. */
export function imageHold(image: NonNullable<ResolvedConfig['image']>): Omit<ImageRootfs, 'config'> {
  const store = openStore(image.store);
  return { id: image.id, ...(image.name !== undefined ? { name: image.name } : {}), store: image.store, layers: image.layers, dirs: image.layers.map((l) => layerDir(store, l)) };
}

/** Destroy's part: the store forgets the container (never fails the destroy: a stale record holds nothing once the state dir is gone). */
export async function releaseImageOf(config: Pick<ResolvedConfig, 'id' | 'image'> | null, stateDir: string): Promise<void> {
  if (config?.image) await releaseImage(config.image.store, config.id, stateDir).catch(() => {});
}
