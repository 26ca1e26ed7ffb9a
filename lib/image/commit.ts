// commitContainer: a container's overlay upper directory -> one more layer on
// its image's, and a new image (what `docker commit` makes).
//   upper/ --canonicalLayerTar--> tar --unpackLayer--> tmp/<pid>-layer-…/{root,split,size}
// The tar goes through the very unpack an imported layer does: hashed as it
// streams (its diffID), unpacked into tmp/ in overlay form, its tar-split
// recorded, so the stored layer is what importing that tar would have made and
// exportImage regenerates the same bytes (the image keeps its id through
// export and `podman load`). Under the store's lock the layer is renamed into
// layers/ (a layer already there with that diffID is kept, ours dropped), then
// the config blob, the image record and the name are written; a failure there
// undoes what this call wrote, and tmp/ goes in every case.
// The upper directory must not change meanwhile: commit a stopped (or paused)
// container. An empty upper still makes a layer (the 1024-byte empty tar), as
// Docker does: the image's history says a commit happened.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ImageError } from '../errors.js';
import { parseSignal } from './container-defaults.js';
import { resolveImage } from './images.js';
import { toImageInfo, type ImageInfo } from './info.js';
import { canonicalLayerTar } from './layer-tar.js';
import { LayerEntryError, unpackLayer } from './layer-unpack.js';
import type { ImageConfig } from './manifest.js';
import { isValidName, withTag } from './names.js';
import { dropName, hexOf, layerDir, openStore, readImage, readNames, setName, splitFile, storeError, sweepTmp, tempDir, withLock, writeAtomic, type ImageRecord } from './store.js';
import { UpperEntryError, scanUpper } from './upper-tar.js';

/**
 * Image config fields (Docker's names) to set on the committed image, as
 * `docker commit --change` would: Env, Labels, ExposedPorts and Volumes add to
 * the base image's (Env and Labels by key, the change winning); the others
 * replace. A new Entrypoint drops the base's Cmd unless Cmd is given too.
 */
export interface CommitChanges {
  /** `K=v` entries. */
  Env?: string[];
  /** null: none. */
  Cmd?: string[] | null;
  /** null: none. */
  Entrypoint?: string[] | null;
  /** Absolute; '' clears it. */
  WorkingDir?: string;
  /** `name`, `uid`, `name:group`, `uid:gid` (resolved when a container runs); '' clears it. */
  User?: string;
  Labels?: Record<string, string>;
  /** `port[-port][/tcp|udp|sctp]`, as a list or as the config's own `{ "80/tcp": {} }`. */
  ExposedPorts?: string[] | Record<string, object>;
  /** Absolute paths, as a list or `{ "/data": {} }`. */
  Volumes?: string[] | Record<string, object>;
  /** A signal name or number. */
  StopSignal?: string | number;
}

export interface CommitOptions {
  /** The container's overlay upper directory (`<stateRoot>/<id>/layer/upper`). */
  upperDir: string;
  /** The store holding the base image (and then the new one). */
  store?: string;
  /** The image the container was made from (its id, or a reference). */
  baseImage: string;
  /** `repo:tag` (`repo` means `repo:latest`); without it the image has only its id. */
  name?: string;
  changes?: CommitChanges;
  /** The config's `author` and the history entry's. */
  author?: string;
  /** The history entry's `comment`. */
  comment?: string;
  /** For messages and errors: which container is committed. */
  containerId?: string;
}

const CHANGE_KEYS = ['Env', 'Cmd', 'Entrypoint', 'WorkingDir', 'User', 'Labels', 'ExposedPorts', 'Volumes', 'StopSignal'] as const;
const PORT_RE = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i;

const invalid = (field: string, message: string) => new ImageError('IMAGE_INVALID', `cannot commit: ${field}: ${message}`, { step: 'commit', field });
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function strings(v: unknown, field: string, nullable: boolean): string[] | null {
  if (v === null && nullable) return null;
  if (!Array.isArray(v)) throw invalid(field, `must be an array of strings${nullable ? ' or null' : ''}`);
  v.forEach((s, i) => {
    if (typeof s !== 'string') throw invalid(`${field}[${i}]`, 'must be a string');
  });
  return [...v] as string[];
}

/** A list or an object's keys, each checked: the config's `{ key: {} }` form. */
function keySet(v: unknown, field: string, check: (k: string, field: string) => string): Record<string, object> {
  const keys = Array.isArray(v) ? strings(v, field, false)! : isRecord(v) ? Object.keys(v) : null;
  if (keys === null) throw invalid(field, 'must be an array of strings or an object');
  const out: Record<string, object> = {};
  keys.forEach((k, i) => (out[check(k, Array.isArray(v) ? `${field}[${i}]` : `${field}[${JSON.stringify(k)}]`)] = {}));
  return out;
}

function port(k: string, field: string): string {
  const m = PORT_RE.exec(k);
  const lo = Number(m?.[1]);
  const hi = m?.[2] === undefined ? lo : Number(m[2]);
  if (!m || !(lo >= 1 && hi <= 65535 && lo <= hi)) throw invalid(field, `${JSON.stringify(k)} is not port[-port][/tcp|udp|sctp] (1–65535)`);
  return `${m[1]}${m[2] === undefined ? '' : `-${m[2]}`}/${(m[3] ?? 'tcp').toLowerCase()}`;
}

function absolutePath(k: string, field: string): string {
  if (!k.startsWith('/') || k.includes('\0')) throw invalid(field, `${JSON.stringify(k)} is not an absolute path`);
  return path.posix.normalize(k);
}

/** The changes checked and in the config's own shapes; throws IMAGE_INVALID naming `changes.<field>`. */
export function checkChanges(v: unknown): CommitChanges {
  if (v === undefined) return {};
  if (!isRecord(v)) throw invalid('changes', 'must be an object');
  const out: CommitChanges = {};
  for (const [k, value] of Object.entries(v)) {
    const f = `changes.${k}`;
    if (!(CHANGE_KEYS as readonly string[]).includes(k)) throw invalid(f, `not a field commit can change (${CHANGE_KEYS.join(', ')})`);
    if (value === undefined) continue;
    switch (k as (typeof CHANGE_KEYS)[number]) {
      case 'Env':
        out.Env = strings(value, f, false)!;
        out.Env.forEach((e, i) => {
          if (e.indexOf('=') < 1) throw invalid(`${f}[${i}]`, `${JSON.stringify(e)} is not KEY=value`);
        });
        break;
      case 'Cmd':
      case 'Entrypoint':
        out[k as 'Cmd' | 'Entrypoint'] = strings(value, f, true);
        break;
      case 'WorkingDir':
        if (typeof value !== 'string') throw invalid(f, 'must be a string');
        out.WorkingDir = value === '' ? '' : absolutePath(value, f);
        break;
      case 'User':
        if (typeof value !== 'string' || value.includes('\0')) throw invalid(f, 'must be a string');
        out.User = value;
        break;
      case 'Labels':
        if (!isRecord(value)) throw invalid(f, 'must be an object of strings');
        for (const [lk, lv] of Object.entries(value)) if (typeof lv !== 'string') throw invalid(`${f}[${JSON.stringify(lk)}]`, 'must be a string');
        out.Labels = { ...(value as Record<string, string>) };
        break;
      case 'ExposedPorts':
        out.ExposedPorts = keySet(value, f, port);
        break;
      case 'Volumes':
        out.Volumes = keySet(value, f, absolutePath);
        break;
      case 'StopSignal': {
        const s = parseSignal(value, f, invalid);
        out.StopSignal = String(s);
        break;
      }
    }
  }
  return out;
}

/** Env entries by key: the base's order, a changed key in its place, new keys after. */
function mergeEnv(base: unknown, add: string[]): string[] {
  const out = new Map<string, string>();
  for (const e of Array.isArray(base) ? base : []) if (typeof e === 'string') out.set(e.split('=')[0], e);
  for (const e of add) out.set(e.slice(0, e.indexOf('=')), e);
  return [...out.values()];
}

/** The base image's `config` (Cmd, Env, …) with checked changes applied. */
export function applyChanges(base: Record<string, unknown> | undefined, ch: CommitChanges): Record<string, unknown> {
  const c: Record<string, unknown> = { ...(base ?? {}) };
  const set = (k: string, v: unknown) => {
    if (v === null || v === '') delete c[k];
    else c[k] = v;
  };
  if (ch.Env) c.Env = mergeEnv(c.Env, ch.Env);
  if (ch.Entrypoint !== undefined) {
    set('Entrypoint', ch.Entrypoint);
    if (ch.Cmd === undefined) delete c.Cmd; // Docker's ENTRYPOINT rule: the old Cmd was for the old Entrypoint
  }
  if (ch.Cmd !== undefined) set('Cmd', ch.Cmd);
  if (ch.WorkingDir !== undefined) set('WorkingDir', ch.WorkingDir);
  if (ch.User !== undefined) set('User', ch.User);
  if (ch.StopSignal !== undefined) c.StopSignal = ch.StopSignal;
  if (ch.Labels) c.Labels = { ...(isRecord(c.Labels) ? c.Labels : {}), ...ch.Labels };
  if (ch.ExposedPorts) c.ExposedPorts = { ...(isRecord(c.ExposedPorts) ? c.ExposedPorts : {}), ...ch.ExposedPorts };
  if (ch.Volumes) c.Volumes = { ...(isRecord(c.Volumes) ? c.Volumes : {}), ...ch.Volumes };
  return c;
}

/**
 * The committed image's config: the base's with the new diffID on top, a
 * history entry for it, `created` now, the changes applied; the base's author
 * is not carried over (this image's is the commit's, if any).
 */
export function commitConfig(base: ImageConfig, diffId: string, meta: { created: string; author?: string; comment?: string; changes?: CommitChanges }): ImageConfig {
  const { author: _baseAuthor, ...rest } = base;
  const history = {
    created: meta.created,
    created_by: 'berth commit',
    ...(meta.author ? { author: meta.author } : {}),
    ...(meta.comment ? { comment: meta.comment } : {}),
  };
  return {
    ...rest,
    created: meta.created,
    ...(meta.author ? { author: meta.author } : {}),
    config: applyChanges(isRecord(base.config) ? base.config : undefined, meta.changes ?? {}),
    rootfs: { type: 'layers', diff_ids: [...base.rootfs.diff_ids, diffId] },
    history: [...(Array.isArray(base.history) ? base.history : []), history],
  };
}

function optString(v: unknown, field: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalid(field, 'must be a string');
  return v;
}

/**
 * Makes the upper directory a new layer over `baseImage`'s and stores the
 * image (see the top of this file); resolves to what inspectImage would say.
 * Rejects with ImageError: IMAGE_INVALID (bad options, or an upper entry a
 * layer tar cannot carry: `path`), IMAGE_NOT_FOUND (the base image), and
 * IMAGE_FAILED (the kernel said no: `errno`, `syscall`, `path`), step 'commit'.
 */
export async function commitContainer(opts: CommitOptions): Promise<ImageInfo> {
  if (!isRecord(opts)) throw invalid('options', 'must be an object');
  const upper = opts.upperDir;
  if (typeof upper !== 'string' || !path.isAbsolute(upper)) throw invalid('upperDir', 'must be an absolute path');
  if (typeof opts.baseImage !== 'string' || opts.baseImage === '') throw invalid('baseImage', 'must name the image the container was made from');
  if (opts.name !== undefined && (typeof opts.name !== 'string' || !isValidName(opts.name))) throw invalid('name', `invalid image name ${JSON.stringify(opts.name)}`);
  const author = optString(opts.author, 'author');
  const comment = optString(opts.comment, 'comment');
  const containerId = optString(opts.containerId, 'containerId');
  const changes = checkChanges(opts.changes);
  const name = opts.name === undefined ? undefined : withTag(opts.name);
  const source = containerId ?? upper;
  const what = containerId ? `container ${containerId}` : upper;

  const store = openStore(opts.store);
  await sweepTmp(store);
  const base = resolveImage(store, opts.baseImage).record;
  try {
    if (!fs.lstatSync(upper).isDirectory()) throw Object.assign(new Error(`${upper} is not a directory`), { code: 'ENOTDIR', syscall: 'lstat', path: upper });
    scanUpper(upper);
  } catch (err) {
    if (err instanceof UpperEntryError) {
      throw new ImageError('IMAGE_INVALID', `cannot commit ${what}: ${err.message}`, { step: 'commit', image: source, path: path.join(upper, err.rel), cause: err });
    }
    throw storeError(err, 'commit', upper, { image: source });
  }

  let work: string;
  try {
    work = tempDir(store, 'layer');
  } catch (err) {
    throw storeError(err, 'commit', store.tmp, { image: source });
  }
  const staged = { root: path.join(work, 'root'), split: path.join(work, 'split'), size: path.join(work, 'size') };
  try {
    fs.mkdirSync(staged.root, 0o755);
    let r;
    try {
      r = await unpackLayer(canonicalLayerTar(upper), staged.root, { asRoot: process.getuid?.() === 0, split: staged.split });
    } catch (err) {
      // Our own tar refused by the unpack: the upper changed under us, or a bug; not the caller's input.
      if (err instanceof LayerEntryError) throw new ImageError('IMAGE_FAILED', `cannot commit ${what}: the layer tar of ${upper} did not unpack: ${err.message}`, { step: 'commit', image: source, path: upper, cause: err });
      throw storeError(err, 'commit', upper, { image: source });
    }
    if (r.droppedXattrs.length) {
      process.emitWarning(
        `committing ${what}: layer ${r.diffId}: the store's filesystem does not support ${r.droppedXattrs.length} of its xattrs; the files were stored without them (${r.droppedXattrs.slice(0, 3).join(', ')}${r.droppedXattrs.length > 3 ? ', …' : ''})`,
        { type: 'BerthWarning', code: 'BERTH_IMAGE_XATTRS_DROPPED' },
      );
    }
    fs.writeFileSync(staged.size, String(r.size));
    const created = new Date().toISOString();
    const config = commitConfig(base.config, r.diffId, { created, ...(author ? { author } : {}), ...(comment ? { comment } : {}), changes });
    const configBytes = Buffer.from(JSON.stringify(config));
    const id = `sha256:${crypto.createHash('sha256').update(configBytes).digest('hex')}`;
    const layers = [...base.layers, r.diffId];
    const layerSizes = [...base.layerSizes, r.size];
    const record: ImageRecord = { id, layers, layerSizes, size: layerSizes.reduce((a, b) => a + b, 0), config, created };

    await withLock(store, () => {
      if (!readImage(store, base.id)) throw new ImageError('IMAGE_NOT_FOUND', `cannot commit ${what}: its image ${base.id} was removed while the commit ran`, { step: 'commit', image: base.id });
      for (const d of base.layers) {
        if (!fs.existsSync(layerDir(store, d))) throw new ImageError('IMAGE_FAILED', `cannot commit ${what}: layer ${d} of its image was removed while the commit ran`, { step: 'commit', image: base.id, blob: d, errno: 'ENOENT', path: layerDir(store, d) });
      }
      const undo: Array<() => void> = [];
      const write = (p: string, data: string | Buffer) => {
        if (!fs.existsSync(p)) undo.push(() => fs.rmSync(p, { force: true }));
        writeAtomic(p, data);
      };
      const move = (from: string, to: string) => {
        fs.renameSync(from, to);
        undo.push(() => fs.renameSync(to, from));
      };
      try {
        const final = layerDir(store, r.diffId);
        // Only under the lock do layers/ change: one there now stays (it may be a lowerdir in use).
        if (!fs.existsSync(final)) {
          move(staged.root, final);
          move(staged.size, `${final}.size`);
          if (r.split) move(staged.split, splitFile(store, r.diffId));
        }
        write(path.join(store.blobs, hexOf(id)), configBytes);
        write(path.join(store.images, `${hexOf(id)}.json`), JSON.stringify(record));
        if (name) {
          const before = readNames(store).get(name);
          setName(store, name, id);
          undo.push(() => (before ? setName(store, name, before) : dropName(store, name)));
        }
      } catch (err) {
        for (const u of undo.reverse()) {
          try {
            u();
          } catch {
            // best effort: the first error is the one to report
          }
        }
        throw err;
      }
    });
    return toImageInfo(record, readNames(store));
  } catch (err) {
    throw storeError(err, 'commit', store.root, { image: source });
  } finally {
    await fs.promises.rm(work, { recursive: true, force: true });
  }
}
