// The two archive formats reduced to one shape: which blob is the config, which
// blobs are the layers (in order, lowest first), what digests they must have
// and what names the archive gives the image. Pure: the caller reads the files.
export const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

export interface BlobRef {
  /** The member path inside the archive (`blobs/sha256/<hex>`, `<id>/layer.tar`). */
  path: string;
  /** The digest the blob's bytes must hash to, when the format says (OCI descriptors, docker's `<hex>.json`). */
  digest?: string;
  size?: number;
}

export interface ImagePlan {
  config: BlobRef;
  layers: BlobRef[];
  names: string[];
}

export interface ImageConfig {
  architecture?: string;
  os?: string;
  config?: Record<string, unknown>;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: unknown[];
  [k: string]: unknown;
}

function fail(what: string): never {
  throw new Error(what);
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '') fail(`${what} is not a string`);
  return v;
}

function digestOf(v: unknown, what: string): string {
  const d = str(v, what);
  if (!DIGEST_RE.test(d)) fail(`${what} "${d}" is not a sha256 digest`);
  return d;
}

/** `blobs/sha256/<hex>` of an OCI descriptor. */
function descriptor(v: unknown, what: string): BlobRef {
  if (typeof v !== 'object' || v === null) fail(`${what} is not a descriptor`);
  const d = v as Record<string, unknown>;
  const digest = digestOf(d.digest, `${what}.digest`);
  const size = d.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) fail(`${what}.size is not a size`);
  return { path: `blobs/sha256/${digest.slice(7)}`, digest, size };
}

const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);

/** From an OCI index: the manifest descriptor to follow (a nested index is followed by the caller) and the image names. */
export function pickFromIndex(index: unknown, what = 'index.json'): { manifest: BlobRef; isIndex: boolean; names: string[] } {
  const ix = index as { manifests?: unknown };
  if (typeof index !== 'object' || index === null || !Array.isArray(ix.manifests) || ix.manifests.length === 0) fail(`${what} lists no manifests`);
  const list = ix.manifests as Array<Record<string, unknown>>;
  const platformOf = (m: Record<string, unknown>) => (m.platform ?? {}) as { os?: string; architecture?: string };
  const chosen = list.find((m) => platformOf(m).os === 'linux' && platformOf(m).architecture === 'amd64') ?? list.find((m) => !m.platform) ?? list[0];
  const i = list.indexOf(chosen);
  const annotations = (chosen.annotations ?? {}) as Record<string, unknown>;
  const names = [annotations['io.containerd.image.name'], annotations['org.opencontainers.image.ref.name']].filter((n): n is string => typeof n === 'string' && n !== '');
  return { manifest: descriptor(chosen, `${what}.manifests[${i}]`), isIndex: INDEX_TYPES.has(String(chosen.mediaType)), names };
}

/** An OCI (or docker v2) image manifest. */
export function planFromManifest(manifest: unknown, names: string[], what = 'manifest'): ImagePlan {
  const m = manifest as { config?: unknown; layers?: unknown };
  if (typeof manifest !== 'object' || manifest === null) fail(`${what} is not an object`);
  if (!Array.isArray(m.layers)) fail(`${what}.layers is not a list`);
  return {
    config: descriptor(m.config, `${what}.config`),
    layers: (m.layers as unknown[]).map((l, i) => descriptor(l, `${what}.layers[${i}]`)),
    names,
  };
}

/** A `docker save` manifest.json: one plan per image it holds. */
export function plansFromDockerManifest(manifest: unknown): ImagePlan[] {
  if (!Array.isArray(manifest) || manifest.length === 0) fail('manifest.json lists no images');
  return manifest.map((e: Record<string, unknown>, i) => {
    const what = `manifest.json[${i}]`;
    const configPath = str(e?.Config, `${what}.Config`);
    // The config's member name is its own digest (`<hex>.json`, or
    // `blobs/sha256/<hex>` in the OCI-shaped saves of Docker 25+).
    const hex = /(?:^|\/)([0-9a-f]{64})(?:\.json)?$/.exec(configPath)?.[1];
    if (!Array.isArray(e.Layers)) fail(`${what}.Layers is not a list`);
    const tags = e.RepoTags == null ? [] : e.RepoTags;
    if (!Array.isArray(tags)) fail(`${what}.RepoTags is not a list`);
    return {
      config: { path: configPath, ...(hex ? { digest: `sha256:${hex}` } : {}) },
      layers: (e.Layers as unknown[]).map((l, j) => ({ path: str(l, `${what}.Layers[${j}]`) })),
      names: tags.map((t, j) => str(t, `${what}.RepoTags[${j}]`)),
    };
  });
}

/** The image config, checked for what the store relies on: its diffIDs, one per layer. */
export function parseImageConfig(bytes: Buffer, layerCount: number): ImageConfig {
  let c: ImageConfig;
  try {
    c = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    fail(`the image config is not JSON (${(err as Error).message})`);
  }
  if (typeof c !== 'object' || c === null) fail('the image config is not an object');
  const diffIds = c.rootfs?.diff_ids;
  if (!Array.isArray(diffIds)) fail('the image config has no rootfs.diff_ids');
  diffIds.forEach((d, i) => digestOf(d, `rootfs.diff_ids[${i}]`));
  if (diffIds.length !== layerCount) fail(`the image config lists ${diffIds.length} diffIDs for ${layerCount} layers`);
  if (c.config !== undefined && (typeof c.config !== 'object' || c.config === null)) fail('the image config\'s "config" is not an object');
  return c;
}
