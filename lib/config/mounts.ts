// OCI mount entries -> what the child attaches. Options are parsed here, before
// anything exists, so an unknown option or a missing bind source is a ConfigError.
import { statSync } from 'node:fs';
import type { Mount } from '../../types/oci.js';
import { ConfigError } from '../errors.js';
import { MOUNT_ATTR, MS } from '../kernel/abi.js';
import { containerPath, hostPath, lookup, maxBytes, optArray, optStr, str } from './check.js';
import { checkFsOptions } from './mount-data.js';
import { type IdMapping, normalizeIdMappings } from './userns.js';
import { warnIgnoredField } from './resources.js';

export interface ResolvedMount {
  destination: string;
  type?: string;
  source?: string;
  bind: boolean;
  recursive: boolean;
  flags: number;
  attrSet: number;
  propagation: number;
  data: string;
  destIsFile: boolean;
  /** An idmapped bind (with the container's maps unless it gives its own). */
  idmap?: ResolvedIdmap;
  /** A bind of a berth volume's data directory (lib/config/volume-mounts.ts): made, held and filled by create. */
  volume?: { name: string; anonymous: boolean; copyUp: boolean };
}

export interface ResolvedIdmap {
  /** ridmap: every mount of the tree, not only its top. */
  recursive: boolean;
  /** The JSON path a refusal names. */
  field: string;
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
}

/** attr: its MOUNT_ATTR_* (a bind mount can set it); sb: a filesystem (superblock) flag, which a bind cannot set. */
type FlagOption = { set?: number; clear?: number; attr?: number; sb?: boolean };

const BASE_FLAG_OPTIONS: Record<string, FlagOption> = {
  defaults: {}, // runc and crun accept it as "no flags"; the kernel would refuse it as data
  ro: { set: MS.RDONLY, attr: MOUNT_ATTR.RDONLY },
  rw: { clear: MS.RDONLY },
  nosuid: { set: MS.NOSUID, attr: MOUNT_ATTR.NOSUID },
  suid: { clear: MS.NOSUID },
  nodev: { set: MS.NODEV, attr: MOUNT_ATTR.NODEV },
  dev: { clear: MS.NODEV },
  noexec: { set: MS.NOEXEC, attr: MOUNT_ATTR.NOEXEC },
  exec: { clear: MS.NOEXEC },
  sync: { set: MS.SYNCHRONOUS, sb: true },
  async: { clear: MS.SYNCHRONOUS },
  dirsync: { set: MS.DIRSYNC, sb: true },
  mand: { set: MS.MANDLOCK, sb: true },
  nomand: { clear: MS.MANDLOCK },
  atime: { clear: MS.NOATIME },
  noatime: { set: MS.NOATIME, attr: MOUNT_ATTR.NOATIME },
  diratime: { clear: MS.NODIRATIME },
  nodiratime: { set: MS.NODIRATIME, attr: MOUNT_ATTR.NODIRATIME },
  relatime: { set: MS.RELATIME },
  norelatime: { clear: MS.RELATIME },
  strictatime: { set: MS.STRICTATIME, attr: MOUNT_ATTR.STRICTATIME },
  nostrictatime: { clear: MS.STRICTATIME },
  lazytime: { set: MS.LAZYTIME, sb: true },
  nolazytime: { clear: MS.LAZYTIME },
  iversion: { set: MS.I_VERSION, sb: true },
  noiversion: { clear: MS.I_VERSION },
  nosymfollow: { set: MS.NOSYMFOLLOW, attr: MOUNT_ATTR.NOSYMFOLLOW },
  symfollow: { clear: MS.NOSYMFOLLOW },
  // MS_SILENT only quiets the kernel's messages while mounting.
  silent: { set: MS.SILENT },
  loud: { clear: MS.SILENT },
};

/**
 * The runtime-spec's recursive variants (rro, rnosuid, ... rsymfollow): the
 * same attribute, for every mount of the tree. A bind's attributes are set with
 * mount_setattr on the cloned tree, with AT_RECURSIVE when it is an rbind (and a
 * plain bind is a single mount); a new filesystem mount has no submounts yet.
 * So each means what its plain form does here.
 */
const RECURSIVE_OPTIONS = ['ro', 'rw', 'nosuid', 'suid', 'nodev', 'dev', 'noexec', 'exec', 'nodiratime', 'diratime', 'relatime', 'norelatime',
  'noatime', 'atime', 'strictatime', 'nostrictatime', 'nosymfollow', 'symfollow'];

const FLAG_OPTIONS: Record<string, FlagOption> = {
  ...BASE_FLAG_OPTIONS,
  ...Object.fromEntries(RECURSIVE_OPTIONS.map((o) => [`r${o}`, BASE_FLAG_OPTIONS[o]!])),
};

/** runtime-spec options berth refuses, and why (else they would reach the filesystem as data and fail late, or be ignored). */
const REFUSED_OPTIONS: Record<string, string> = {
  remount: 'is not supported: every mounts[] entry makes a new mount in the container, there is nothing to remount',
  tmpcopyup: 'is not supported by berth (copy the contents into the tmpfs from the container instead)',
};

const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE,
  shared: MS.SHARED,
  rshared: MS.SHARED,
  slave: MS.SLAVE,
  rslave: MS.SLAVE,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE,
};

/** The MOUNT_ATTR_* bit of the option that sets `flag` (0 when no option maps it to one). */
function attrOfFlag(flag: number): number {
  let attr = 0;
  for (const o of Object.values(FLAG_OPTIONS)) if (o.set !== undefined && (o.set & flag) !== 0 && o.attr) attr |= o.attr;
  return attr;
}

/** Every option name resolveMount() knows (others are filesystem data, refused for binds). */
export const MOUNT_OPTIONS: readonly string[] = Object.freeze(['bind', 'rbind', 'idmap', 'ridmap', ...Object.keys(FLAG_OPTIONS), ...Object.keys(PROPAGATION)]);

export function propagationFlag(name: string, field: string): number {
  const p = lookup(PROPAGATION, name);
  if (p === undefined) throw new ConfigError(field, `unknown propagation "${name}"`);
  return p;
}

export function resolveMount(m: unknown, field: string, bundleDir: string | undefined): ResolvedMount {
  if (typeof m !== 'object' || m === null) throw new ConfigError(field, 'must be an object');
  const raw = m as Mount;
  const destination = containerPath(raw.destination, `${field}.destination`);
  const type = optStr(raw.type, `${field}.type`);
  if (type === '') throw new ConfigError(`${field}.type`, 'must not be empty (the kernel has no filesystem type "")');
  // mount(2) copies type and source as strings of less than PATH_MAX (EINVAL beyond).
  if (type !== undefined) maxBytes(type, `${field}.type`, 4095, 'mount(2)');
  // berth's volumes are resolved by lib/config/volume-mounts.ts (normalize routes them there), never tried as a filesystem type.
  if (type === 'volume') throw new ConfigError(`${field}.type`, 'a volume mount is resolved with the container config (resolveVolumeMount), not as a filesystem');
  // Filesystem names are words like tmpfs, cgroup2 or fuse.sshfs; which ones
  // exist is the kernel's to say (modules load on demand).
  if (type !== undefined && !/^[A-Za-z0-9_+-]+(\.[A-Za-z0-9_+-]+)?$/.test(type)) {
    throw new ConfigError(`${field}.type`, `"${type.slice(0, 64)}" is not a filesystem type name`);
  }
  let source = optStr(raw.source, `${field}.source`);
  if (source !== undefined) maxBytes(source, `${field}.source`, 4095, 'mount(2)');
  const options = (optArray(raw.options, `${field}.options`) ?? []).map((o, i) => str(o, `${field}.options[${i}]`));
  const bind = type === 'bind' || options.includes('bind') || options.includes('rbind');
  // runtime-spec 1.2 idmapped mounts: the options, or per-mount maps (which imply idmap).
  const idmapAt = options.findIndex((o) => o === 'idmap' || o === 'ridmap');
  const uidMappings = normalizeIdMappings((raw as unknown as Record<string, unknown>).uidMappings, `${field}.uidMappings`);
  const gidMappings = normalizeIdMappings((raw as unknown as Record<string, unknown>).gidMappings, `${field}.gidMappings`);
  let idmap: ResolvedIdmap | undefined;
  if (idmapAt >= 0 || uidMappings.length || gidMappings.length) {
    const at = idmapAt >= 0 ? `${field}.options[${idmapAt}]` : uidMappings.length ? `${field}.uidMappings` : `${field}.gidMappings`;
    if (!bind) throw new ConfigError(at, 'idmapped mounts are bind mounts (add "rbind" or type "bind")');
    if (uidMappings.length !== gidMappings.length && (uidMappings.length === 0 || gidMappings.length === 0)) {
      throw new ConfigError(uidMappings.length ? `${field}.gidMappings` : `${field}.uidMappings`, 'an idmapped mount with its own maps needs both uidMappings and gidMappings');
    }
    idmap = { recursive: options[idmapAt] === 'ridmap', field: at, ...(uidMappings.length ? { uidMappings, gidMappings } : {}) };
  }
  let flags = 0;
  let attrSet = 0;
  let propagation = 0;
  let recursive = false;
  const data: Array<{ opt: string; index: number }> = [];
  options.forEach((opt, i) => {
    if (opt === 'bind' || opt === 'idmap' || opt === 'ridmap') return;
    if (opt === 'rbind') {
      recursive = true;
      return;
    }
    const refused = lookup(REFUSED_OPTIONS, opt);
    if (refused !== undefined) throw new ConfigError(`${field}.options[${i}]`, `"${opt}" ${refused}`);
    const flag = lookup(FLAG_OPTIONS, opt);
    if (flag) {
      if (flag.sb && bind) {
        throw new ConfigError(`${field}.options[${i}]`, `"${opt}" is a filesystem (superblock) flag: a bind mount shares its source's filesystem and cannot set it`);
      }
      if (flag.set) flags |= flag.set;
      if (flag.clear) flags &= ~flag.clear;
      if (flag.attr) attrSet |= flag.attr;
      // A bind mount is made from attrSet: an option that clears a flag (exec
      // after noexec, rw after ro) must clear its attribute too, or it is ignored.
      if (flag.clear) attrSet &= ~attrOfFlag(flag.clear);
      return;
    }
    const prop = lookup(PROPAGATION, opt);
    if (prop !== undefined) {
      propagation = prop;
      return;
    }
    if (bind) {
      // A bundle taken literally, as runc takes it: a filesystem's data option
      // (key=value) on a bind mount is passed to mount(2), whose MS_BIND ignores
      // data; said as a warning instead of refusing what engines send.
      if (bundleDir !== undefined && /^[a-z0-9_]+=/.test(opt)) {
        warnIgnoredField(`${field}.options[${i}]`, `"${opt}" is a filesystem data option; a bind mount takes none (the kernel ignores it)`);
        return;
      }
      throw new ConfigError(`${field}.options[${i}]`, `unknown option "${opt}" for a bind mount`);
    }
    data.push({ opt, index: i });
  });
  let destIsFile = false;
  if (bind) {
    if (source === undefined) throw new ConfigError(`${field}.source`, 'a bind mount needs a source');
    hostPath(source, `${field}.source`); // "" would name the bundle directory itself
    if (!source.startsWith('/')) {
      if (!bundleDir) throw new ConfigError(`${field}.source`, 'must be an absolute path');
      source = `${bundleDir}/${source}`;
    }
    try {
      destIsFile = !statSync(source).isDirectory();
    } catch (err) {
      throw new ConfigError(`${field}.source`, `bind source ${source}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
  } else if (type === undefined) {
    throw new ConfigError(`${field}.type`, 'is required for a non-bind mount');
  } else {
    checkFsOptions(type, data, field);
  }
  return {
    destination,
    ...(type !== undefined && !bind ? { type } : {}),
    ...(source !== undefined ? { source } : {}),
    bind,
    recursive,
    flags,
    attrSet,
    propagation,
    data: data.map((d) => d.opt).join(','),
    destIsFile,
    ...(idmap ? { idmap } : {}),
  };
}
