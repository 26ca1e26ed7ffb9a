// Mounts of berth's volumes: `{ type: 'volume', source: name, destination, options }`
// (a named volume of the store, made on first use as Docker does) and, without
// a source, an anonymous volume of the container's own. Both are recursive
// binds of the volume's data directory, so every bind option (ro, nosuid,
// propagation, idmap) means what it means for a bind; `nocopy` keeps the
// root filesystem's files at the destination out of an empty volume. The image
// config's Volumes become anonymous volumes unless a mount is already there.
// Pure: the store is only named here; create makes, holds and fills the volumes.
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { defaultStore } from '../image/store.js';
import { anonymousVolumeName, volumeNameProblem } from '../volume/names.js';
import { volumeDataDir } from '../volume/paths.js';
import { type ResolvedMount, resolveMount } from './mounts.js';
import { optArray, optStr, str } from './check.js';

export interface ResolvedVolumeUse {
  name: string;
  /** Made for this container and removed with it. */
  anonymous: boolean;
  /** Fill an empty volume with what the root filesystem has at the destination (Docker's copy-up). */
  copyUp: boolean;
}

/** The store volumes live in: config.store, or the default one. */
export function volumeStoreOf(store: string | undefined): string {
  return path.resolve(store ?? defaultStore());
}

export function resolveVolumeMount(raw: Record<string, unknown>, field: string, storeRoot: string): ResolvedMount {
  const source = optStr(raw.source, `${field}.source`);
  if (source !== undefined) {
    const problem = volumeNameProblem(source);
    if (problem) throw new ConfigError(`${field}.source`, `${problem} (a volume mount's source is a volume's name; bind a host directory with type "bind")`);
  }
  const options = (optArray(raw.options, `${field}.options`) ?? []).map((o, i) => str(o, `${field}.options[${i}]`));
  const copyUp = !options.includes('nocopy');
  // Checked as a bind's options, indices kept (nocopy stands in for rbind) so a refusal names the caller's index.
  const asBind = resolveMount(
    { ...raw, type: 'bind', source: '/', options: [...options.map((o) => (o === 'nocopy' ? 'rbind' : o)), 'rbind'] },
    field,
    undefined,
  );
  const name = source ?? anonymousVolumeName();
  return { ...asBind, source: volumeDataDir(storeRoot, name), destIsFile: false, volume: { name, anonymous: source === undefined, copyUp } };
}

/**
 * The image's Volumes as anonymous volume mounts, each placed before the first
 * mount below it (so a mount inside an image volume still shows) and skipped
 * where a mount already has that destination.
 */
export function withImageVolumes(mounts: ResolvedMount[], volumes: readonly string[], storeRoot: string): ResolvedMount[] {
  const out = [...mounts];
  for (const dest of volumes) {
    const d = path.posix.normalize(dest);
    if (out.some((m) => m.destination === d)) continue;
    const m = resolveVolumeMount({ destination: d }, `image.volumes`, storeRoot);
    const below = out.findIndex((x) => x.destination.startsWith(`${d}/`));
    if (below < 0) out.push(m);
    else out.splice(below, 0, m);
  }
  return out;
}
