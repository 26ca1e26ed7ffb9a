// The image store's public face (re-exported by lib/index.ts).
export { importImage, type ImportOptions, type ImportProgress } from './import.js';
export { exportImage, type ExportOptions, type ExportResult } from './export.js';
export { inspectImage, listImages, removeImage, type RemoveResult, type StoreOptions } from './images.js';
export type { ImageInfo } from './info.js';
export type { ImageConfig } from './manifest.js';
export { commitContainer, type CommitChanges, type CommitOptions as CommitLayerOptions } from './commit.js';
