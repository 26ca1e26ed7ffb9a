// What callers see of an image record.
import type { ImageConfig } from './manifest.js';
import type { ImageRecord } from './store.js';

export interface ImageInfo {
  /** The config digest (`sha256:…`), the image's identity. */
  id: string;
  names: string[];
  /** diffIDs, lowest layer first. */
  layers: string[];
  /** Bytes of file content over all layers. */
  size: number;
  config: ImageConfig;
  created: string;
}

export function toImageInfo(r: ImageRecord, names: Map<string, string>): ImageInfo {
  return {
    id: r.id,
    names: [...names].filter(([, id]) => id === r.id).map(([n]) => n).sort(),
    layers: [...r.layers],
    size: r.size,
    config: r.config,
    created: r.created,
  };
}
