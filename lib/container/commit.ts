// container.commit(): its writable layer becomes a new image (lib/image/commit.ts)
// on top of the image it was made from. A running container is paused meanwhile
// (as `docker commit` does by default), so the layer is one moment's; `pause:
// false` commits it as it goes.
import type { ResolvedConfig } from '../config/normalize.js';
import { ImageError } from '../errors.js';
import { type CommitChanges, commitContainer } from '../image/commit.js';
import type { ImageInfo } from '../image/info.js';
import path from 'node:path';

export interface CommitOptions {
  /** `repo:tag` (`repo` means `repo:latest`); without it the image has only its id. */
  name?: string;
  /** Image config fields to set, as `docker commit --change` (Env, Cmd, Entrypoint, WorkingDir, User, Labels, ExposedPorts, Volumes, StopSignal). */
  changes?: CommitChanges;
  author?: string;
  comment?: string;
  /** Freeze a running container while its layer is read (default true). */
  pause?: boolean;
}

export interface CommitTarget {
  id: string;
  config: Pick<ResolvedConfig, 'image' | 'layers'>;
  status: () => string;
  pause: () => Promise<void>;
  resume: () => Promise<void>;
}

export async function commitOf(target: CommitTarget, options: CommitOptions = {}): Promise<ImageInfo> {
  const { image, layers } = target.config;
  if (!image || !layers) {
    throw new ImageError('IMAGE_INVALID', `cannot commit container ${target.id}: it was not made from an image (config.image); a rootfs directory has no image to add a layer to`, { step: 'commit', image: target.id });
  }
  const pauseIt = options.pause !== false && target.status() === 'running';
  if (pauseIt) await target.pause();
  try {
    return await commitContainer({
      upperDir: path.join(layers.dir, 'upper'),
      store: image.store,
      baseImage: image.id,
      containerId: target.id,
      ...(options.name !== undefined ? { name: options.name } : {}),
      ...(options.changes !== undefined ? { changes: options.changes } : {}),
      ...(options.author !== undefined ? { author: options.author } : {}),
      ...(options.comment !== undefined ? { comment: options.comment } : {}),
    });
  } finally {
    if (pauseIt) await target.resume();
  }
}
