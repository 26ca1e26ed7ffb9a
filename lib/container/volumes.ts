// A container's volumes (lib/config/volume-mounts.ts): made on first use (a
// named one, as Docker does) or for it (an anonymous one), held in the store
// for as long as its state directory exists (so removeVolume refuses them
// meanwhile), filled from the root filesystem when empty, and given back by
// every destroy: holds released, anonymous volumes removed.
import type { VolumeUseRecord } from '../../types/api.js';
import type { ResolvedConfig } from '../config/normalize.js';
import { copyUpInto } from '../volume/copy-up.js';
import { acquireVolume, createVolume, releaseVolume, removeVolume } from '../volume/volumes.js';

/** What state.json records from the claim on: the volumes this container's mounts name. */
export function plannedVolumes(config: Pick<ResolvedConfig, 'mounts' | 'volumeStore'>): VolumeUseRecord | undefined {
  const uses = config.mounts.flatMap((m) => (m.volume ? [m.volume] : []));
  if (uses.length === 0 || config.volumeStore === undefined) return undefined;
  const uniq = (xs: string[]) => [...new Set(xs)];
  return {
    store: config.volumeStore,
    named: uniq(uses.filter((u) => !u.anonymous).map((u) => u.name)),
    anonymous: uniq(uses.filter((u) => u.anonymous).map((u) => u.name)),
  };
}

/** The root filesystem's layers, lowest first, as copy-up reads them. */
function rootLayers(config: Pick<ResolvedConfig, 'layers' | 'rootfs'>): string[] {
  return config.layers ? [...config.layers.lower].reverse() : [config.rootfs];
}

/** Makes (when missing), holds and fills every volume the mounts use. A failure leaves what it took for dropVolumes. */
export async function takeVolumes(config: ResolvedConfig, stateDir: string): Promise<void> {
  const store = config.volumeStore;
  if (store === undefined) return;
  for (const m of config.mounts) {
    const v = m.volume;
    if (!v) continue;
    await createVolume({ name: v.name, store, ...(v.anonymous ? { labels: { 'berth.anonymous': 'true', 'berth.container': config.id } } : {}) });
    await acquireVolume(v.name, config.id, {
      store,
      stateDir,
      ...(v.copyUp ? { fill: (data: string) => copyUpInto(rootLayers(config), m.destination, data) } : {}),
    });
  }
}

/** Destroy's part, from the record (whoever made the container): holds go, anonymous volumes are removed. First error returned, never thrown. */
export async function dropVolumes(record: VolumeUseRecord | undefined, id: string): Promise<unknown> {
  if (!record) return null;
  let first: unknown = null;
  for (const name of [...record.named, ...record.anonymous]) {
    await releaseVolume(name, id, { store: record.store }).catch((e: unknown) => (first ??= e));
  }
  for (const name of record.anonymous) {
    // Someone else mounting it by name keeps it (VOLUME_IN_USE); one already gone is fine.
    await removeVolume(name, { store: record.store }).catch((e: { code?: string }) => {
      if (e?.code !== 'VOLUME_IN_USE' && e?.code !== 'VOLUME_NOT_FOUND') first ??= e;
    });
  }
  return first;
}
