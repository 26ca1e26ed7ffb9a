// An overlay rootfs as the child mounts it (native/init/child_overlay.cc) and
// the writable layer's directories create makes for it.
import fs from 'node:fs/promises';
import path from 'node:path';
import { type ResolvedLayers, lowerdirPlus } from '../config/rootfs.js';
import { fromSystemError } from '../errors.js';
import type { NativePlan } from '../native/addon.js';

export function overlayPlan(layers: ResolvedLayers | undefined, release?: string): Partial<NativePlan> {
  if (!layers) return {};
  const upper = path.join(layers.dir, 'upper');
  const work = path.join(layers.dir, 'work');
  const plan: Partial<NativePlan> = { overlayLower: layers.lower, overlayUpper: upper, overlayWork: work, overlayVolatile: layers.volatile };
  // Before 6.8 no "lowerdir+": one option string (rootfs.ts refused paths it cannot carry).
  if (!lowerdirPlus(release)) {
    plan.overlayData = [`lowerdir=${layers.lower.join(':')}`, `upperdir=${upper}`, `workdir=${work}`, 'index=off', ...(layers.volatile ? ['volatile'] : [])].join(',');
  }
  return plan;
}

/**
 * upper/, work/ and root/ (the mount point) in the state directory. The
 * union's root directory is upper's: it gets the mode and owner of the
 * top-most layer's root, so the container's / looks as the image made it.
 */
export async function makeLayerDirs(layers: ResolvedLayers): Promise<void> {
  const upper = path.join(layers.dir, 'upper');
  try {
    await fs.mkdir(layers.dir, { mode: 0o700 });
    const top = await fs.stat(layers.lower[0]!);
    await fs.mkdir(upper);
    await fs.chown(upper, top.uid, top.gid);
    await fs.chmod(upper, top.mode & 0o7777);
    await fs.mkdir(path.join(layers.dir, 'work'), { mode: 0o700 });
    await fs.mkdir(path.join(layers.dir, 'root'), { mode: 0o700 });
  } catch (err) {
    throw fromSystemError(err, 'rootfs-overlay', upper);
  }
}
