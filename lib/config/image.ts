// config.image: a stored image as the container's root and defaults.
//   createContainer({ image: 'busybox:latest', process: { args: ['ls', '/'] } })
// The image's layers become the read-only layers of an overlay rootfs with a
// throwaway writable layer (as rootfs: { overlay: true }); its config fills in
// the process (Entrypoint + Cmd, Env, WorkingDir, User) by Docker's rules
// (lib/image/container-defaults.ts), the caller's fields winning. Reads the
// store only; the container's hold on the image is taken by create.
import path from 'node:path';
import type { ProcessConfig } from '../../types/api.js';
import { ConfigError } from '../errors.js';
import { type ExposedPort, resolveContainerDefaults } from '../image/container-defaults.js';
import { imageRootfs } from '../image/container-use.js';
import { readUserFiles } from '../image/layer-files.js';
import { isObject, optStr, str } from './check.js';
import { type ResolvedLayers, checkLayerPath, layerDir } from './rootfs.js';

export interface ResolvedImage {
  /** The config digest (sha256:…). */
  id: string;
  /** The name the reference matched (repo:tag), when it was one. */
  name?: string;
  /** The store's directory. */
  store: string;
  /** diffIDs, lowest first. */
  layers: string[];
  /** The image's StopSignal (SIGTERM when it has none): what a caller stopping it should send. */
  stopSignal: NodeJS.Signals | number;
  labels: Record<string, string>;
  exposedPorts: ExposedPort[];
  /** Paths the image declares as volumes (Config.Volumes). Not mounted yet: they are part of the writable layer. */
  volumes: string[];
}

export interface ImageRoot {
  rootfs: string;
  layers: ResolvedLayers;
  image: ResolvedImage;
  /** The caller's process with the image's defaults filled in (what normalizeProcess then checks). */
  process: ProcessConfig;
}

export function normalizeImage(cfg: { image?: unknown; store?: unknown; rootfs?: unknown; root?: { path?: unknown }; bundle?: unknown; process?: unknown }, where: { id: string; stateRoot: string }): ImageRoot {
  const ref = str(cfg.image, 'image');
  if (ref === '') throw new ConfigError('image', 'must name an image (name, name:tag or sha256:…)');
  for (const other of ['rootfs', 'bundle'] as const) if (cfg[other] !== undefined) throw new ConfigError(other, 'and image both name the root filesystem: give one');
  if (cfg.root?.path !== undefined) throw new ConfigError('root.path', 'and image both name the root filesystem: give one');
  const storeDir = optStr(cfg.store, 'store');
  if (storeDir !== undefined && !path.isAbsolute(storeDir)) throw new ConfigError('store', `must be an absolute path, got "${storeDir.slice(0, 80)}"`);
  let found;
  try {
    found = imageRootfs(ref, storeDir);
  } catch (err) {
    // No such image is the caller's field to fix; a store that cannot be read stays the store's error.
    if ((err as { code?: string }).code === 'IMAGE_NOT_FOUND') throw new ConfigError('image', (err as Error).message);
    throw err;
  }
  const given = (isObject(cfg.process) ? cfg.process : {}) as Record<string, unknown>;
  const { entrypoint, ...rest } = given;
  const defaults = resolveContainerDefaults(
    found.config,
    {
      ...(rest.args !== undefined ? { args: rest.args as string[] } : {}),
      ...(entrypoint !== undefined ? { entrypoint: entrypoint as string[] | null } : {}),
      ...(rest.env !== undefined ? { env: rest.env as string[] } : {}),
      ...(rest.cwd !== undefined ? { cwd: rest.cwd as string } : {}),
      ...(rest.user !== undefined ? { user: rest.user as string } : {}),
    },
    readUserFiles(found.dirs),
  );
  const { username: _name, ...user } = defaults.process.user;
  const lower = [...found.dirs].reverse(); // overlay: top-most first
  lower.forEach((d) => checkLayerPath(d, 'image'));
  const dir = layerDir(where.stateRoot, where.id);
  checkLayerPath(path.join(dir, 'upper'), 'stateRoot');
  return {
    rootfs: path.join(dir, 'root'),
    layers: { lower, dir, volatile: true },
    image: {
      id: found.id,
      ...(found.name !== undefined ? { name: found.name } : {}),
      store: found.store,
      layers: found.layers,
      stopSignal: defaults.stopSignal,
      labels: defaults.labels,
      exposedPorts: defaults.exposedPorts,
      volumes: defaults.volumes,
    },
    process: { ...rest, args: defaults.process.args, env: defaults.process.env, cwd: defaults.process.cwd, user } as ProcessConfig,
  };
}
