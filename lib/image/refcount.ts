// Which layers a removal frees: a layer stays while any image or any
// container (its rootfs is an overlay over the layer) still names it.
export interface Holders {
  images: Array<{ id: string; layers: readonly string[] }>;
  containers: Array<{ id: string; layers: readonly string[] }>;
}

/** The layers of `removed` that nothing else in `holders` uses (removed itself excluded from holders). */
export function layersFreedBy(removed: { id: string; layers: readonly string[] }, holders: Holders): string[] {
  const used = new Set<string>();
  for (const i of holders.images) if (i.id !== removed.id) i.layers.forEach((l) => used.add(l));
  for (const c of holders.containers) c.layers.forEach((l) => used.add(l));
  return [...new Set(removed.layers)].filter((l) => !used.has(l));
}

/** Containers that keep the image itself from being removed. */
export function containersUsing(imageId: string, containers: Array<{ id: string; image?: string }>): string[] {
  return containers.filter((c) => c.image === imageId).map((c) => c.id);
}
