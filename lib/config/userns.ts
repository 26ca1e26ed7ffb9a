// linux.uidMappings / gidMappings and the user namespace they belong to. Every
// rule the kernel's map_write() enforces is checked here, before anything
// exists, so a bad map is a ConfigError naming the entry, not an EINVAL from
// /proc/<pid>/uid_map after the process was made.
import type { LinuxNamespaceType } from '../../types/oci.js';
import { ConfigError } from '../errors.js';
import { int, object, onlyKeys, optArray } from './check.js';
import type { ResolvedNamespace } from './namespaces.js';

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

/** How the container relates to user namespaces: none, a new one with these maps, or one joined by path. */
export interface ResolvedUserns {
  /** 'new': clone3 makes it and the parent writes the maps; 'join': setns by path (its maps are its own). */
  mode: 'new' | 'join';
  /** userns: 'auto': the host ids are a leased range (lib/state/userns-leases.ts), filled in by create; until then hostID 0. */
  auto?: boolean;
  /** 'auto': the leased slot (released on destroy). */
  slot?: number;
  /**
   * 'deny': a rootless caller writes its single-id gid map itself, which the
   * kernel allows only with setgroups(2) denied in the namespace (so the
   * container keeps the groups it has; berth-init does not call setgroups).
   */
  setgroups?: 'deny';
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
}

/** The kernel's UID_GID_MAP_MAX_EXTENTS: a map of more lines is refused. */
export const MAX_MAP_LINES = 340;
const ID_SPACE = 2 ** 32;

/**
 * One map: each entry's three numbers are u32, size at least 1, neither range
 * past 2^32 (the kernel takes 4294967295 as "no id", so a range may end at it
 * but an id of it maps nothing usable), and no two entries overlapping on
 * either side (map_write refuses both).
 */
export function normalizeIdMappings(v: unknown, field: string): IdMapping[] {
  const list = optArray(v, field) ?? [];
  if (list.length > MAX_MAP_LINES) throw new ConfigError(field, `has ${list.length} entries; the kernel takes at most ${MAX_MAP_LINES}`);
  const out = list.map((e, i) => {
    const f = `${field}[${i}]`;
    const o = object(e, f);
    onlyKeys(o, f, ['containerID', 'hostID', 'size']);
    const containerID = int(o.containerID, `${f}.containerID`, 0, ID_SPACE - 1);
    const hostID = int(o.hostID, `${f}.hostID`, 0, ID_SPACE - 1);
    const size = int(o.size, `${f}.size`, 1, ID_SPACE);
    if (containerID + size > ID_SPACE) throw new ConfigError(`${f}.size`, `containerID ${containerID} + size ${size} overflows the 32-bit id space`);
    if (hostID + size > ID_SPACE) throw new ConfigError(`${f}.size`, `hostID ${hostID} + size ${size} overflows the 32-bit id space`);
    return { containerID, hostID, size };
  });
  for (const side of ['containerID', 'hostID'] as const) {
    for (let i = 0; i < out.length; i++) {
      for (let j = 0; j < i; j++) {
        const a = out[i]!;
        const b = out[j]!;
        if (a[side] < b[side] + b.size && b[side] < a[side] + a.size) {
          throw new ConfigError(`${field}[${i}]`, `its ${side} range ${a[side]}-${a[side] + a.size - 1} overlaps ${field}[${j}] (${b[side]}-${b[side] + b.size - 1})`);
        }
      }
    }
  }
  return out;
}

export function mapsId(maps: IdMapping[], id: number): boolean {
  return maps.some((m) => id >= m.containerID && id < m.containerID + m.size);
}

/** The host id a container id maps to (undefined: unmapped). */
export function hostIdOf(maps: IdMapping[], id: number): number | undefined {
  const m = maps.find((e) => id >= e.containerID && id < e.containerID + e.size);
  return m === undefined ? undefined : m.hostID + (id - m.containerID);
}

/** The kernel's uid_map / gid_map text. */
export function mapText(maps: IdMapping[]): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

const sameMaps = (a: IdMapping[], b: IdMapping[]) =>
  a.length === b.length && a.every((m, i) => m.containerID === b[i]!.containerID && m.hostID === b[i]!.hostID && m.size === b[i]!.size);

/**
 * Idmapped mounts (and root.idmap) take the container's own user namespace as
 * the idmapping, so they need a new one; a mount's own maps must be the
 * container's (another idmapping would need a user namespace of its own, not
 * done yet: refused, never ignored).
 */
export function checkIdmaps(
  userns: ResolvedUserns | undefined,
  mounts: Array<{ idmap?: { field: string; uidMappings?: IdMapping[]; gidMappings?: IdMapping[] } }>,
  rootIdmap: boolean,
): void {
  if (rootIdmap && userns?.mode !== 'new') throw new ConfigError('root.idmap', 'needs a new user namespace with linux.uidMappings/gidMappings (its maps are the idmapping)');
  for (const m of mounts) {
    if (!m.idmap) continue;
    if (userns?.mode !== 'new') throw new ConfigError(m.idmap.field, 'an idmapped mount needs a new user namespace with linux.uidMappings/gidMappings');
    if (m.idmap.uidMappings && !(sameMaps(m.idmap.uidMappings, userns.uidMappings) && sameMaps(m.idmap.gidMappings!, userns.gidMappings))) {
      throw new ConfigError(m.idmap.field, "maps other than the container's (linux.uidMappings/gidMappings) are not supported yet");
    }
  }
}

export const AUTO_SIZE = 65536;

export interface UsernsInputs {
  /** The top-level `userns` option ('auto'). */
  auto?: unknown;
  uidMappings: unknown;
  gidMappings: unknown;
  namespaces: ResolvedNamespace[];
  /** process.user, for the check that the container's identity is mapped. */
  user: { uid: number; gid: number; additionalGids: number[] };
  /** A caller that is not root: its own ids (each mapped to the container's root by default). */
  rootless?: { uid: number; gid: number };
}

/** The maps a caller may write without help: its own id, once. */
const onlySelf = (maps: IdMapping[], id: number) => maps.length === 1 && maps[0]!.hostID === id && maps[0]!.size === 1;

export function normalizeUserns(inputs: UsernsInputs): ResolvedUserns | undefined {
  let uidMappings = normalizeIdMappings(inputs.uidMappings, 'linux.uidMappings');
  let gidMappings = normalizeIdMappings(inputs.gidMappings, 'linux.gidMappings');
  const auto = inputs.auto !== undefined;
  if (auto) {
    if (inputs.auto !== 'auto') throw new ConfigError('userns', `must be "auto", got ${JSON.stringify(inputs.auto)?.slice(0, 40)}`);
    if (inputs.rootless) {
      throw new ConfigError('userns', `'auto' leases host ids from a pool only root manages; as uid ${inputs.rootless.uid} leave it out (the container's root is then you) or give linux.uidMappings/gidMappings from /etc/subuid and /etc/subgid`);
    }
    if (uidMappings.length || gidMappings.length) throw new ConfigError('userns', "'auto' picks the maps itself: give no linux.uidMappings/gidMappings");
    const joined = inputs.namespaces.find((n) => n.type === 'user' && n.path !== undefined);
    if (joined) throw new ConfigError('userns', "'auto' makes a new user namespace: it cannot join one by path");
    if (!inputs.namespaces.some((n) => n.type === 'user')) inputs.namespaces.push({ type: 'user' });
    uidMappings = [{ containerID: 0, hostID: 0, size: AUTO_SIZE }];
    gidMappings = [{ containerID: 0, hostID: 0, size: AUTO_SIZE }];
  }
  const at = inputs.namespaces.findIndex((n) => n.type === ('user' as LinuxNamespaceType));
  if (at < 0) {
    if (uidMappings.length) throw new ConfigError('linux.uidMappings', 'needs a user namespace (add { type: "user" } to linux.namespaces)');
    if (gidMappings.length) throw new ConfigError('linux.gidMappings', 'needs a user namespace (add { type: "user" } to linux.namespaces)');
    return undefined;
  }
  if (inputs.namespaces[at]!.path !== undefined) {
    // A joined namespace already has its maps; the spec's are for a new one.
    if (uidMappings.length) throw new ConfigError('linux.uidMappings', 'a user namespace joined by path has its own maps: give none');
    if (gidMappings.length) throw new ConfigError('linux.gidMappings', 'a user namespace joined by path has its own maps: give none');
    return { mode: 'join', uidMappings, gidMappings };
  }
  const nsField = `linux.namespaces[${at}]`;
  // A rootless caller's default, as `runc spec --rootless` writes it: itself as the container's root.
  if (inputs.rootless && !uidMappings.length && !gidMappings.length) {
    uidMappings = [{ containerID: 0, hostID: inputs.rootless.uid, size: 1 }];
    gidMappings = [{ containerID: 0, hostID: inputs.rootless.gid, size: 1 }];
  }
  if (!uidMappings.length) throw new ConfigError('linux.uidMappings', `a new user namespace (${nsField}) needs uid mappings`);
  if (!gidMappings.length) throw new ConfigError('linux.gidMappings', `a new user namespace (${nsField}) needs gid mappings`);
  // berth-init sets the container up as the namespace's root, as runc does.
  if (!mapsId(uidMappings, 0)) throw new ConfigError('linux.uidMappings', 'maps no containerID 0: the container is set up as the namespace\'s root');
  if (!mapsId(gidMappings, 0)) throw new ConfigError('linux.gidMappings', 'maps no containerID 0: the container is set up as the namespace\'s root');
  const { uid, gid, additionalGids } = inputs.user;
  if (!mapsId(uidMappings, uid)) throw new ConfigError('process.user.uid', `${uid} is not mapped by linux.uidMappings`);
  if (!mapsId(gidMappings, gid)) throw new ConfigError('process.user.gid', `${gid} is not mapped by linux.gidMappings`);
  additionalGids.forEach((g, i) => {
    if (!mapsId(gidMappings, g)) throw new ConfigError(`process.user.additionalGids[${i}]`, `${g} is not mapped by linux.gidMappings`);
  });
  // Written by the caller itself (not newgidmap): the kernel then needs setgroups denied.
  const denySetgroups = inputs.rootless !== undefined && onlySelf(uidMappings, inputs.rootless.uid) && onlySelf(gidMappings, inputs.rootless.gid);
  if (denySetgroups && additionalGids.length) {
    throw new ConfigError('process.user.additionalGids', 'needs setgroups(2), which the kernel denies in a user namespace whose single-id gid map the caller wrote itself: give gidMappings from /etc/subgid (written by newgidmap)');
  }
  return { mode: 'new', ...(auto ? { auto: true } : {}), ...(denySetgroups ? { setgroups: 'deny' as const } : {}), uidMappings, gidMappings };
}

/**
 * devpts takes gid=N only for a group the user namespace maps (EINVAL
 * otherwise): the default /dev/pts mount's gid=5 (tty) is dropped where it
 * is not mapped, as `runc spec --rootless` drops it; a mount the caller
 * wrote with such a gid is refused, naming it.
 */
export function fitMountsToMaps(mounts: Array<{ type?: string; data: string }>, userns: ResolvedUserns | undefined, fromDefaults: boolean): void {
  if (userns?.mode !== 'new') return;
  mounts.forEach((m, i) => {
    if (m.type !== 'devpts') return;
    const opts = m.data.split(',').filter(Boolean);
    const gid = opts.find((o) => /^gid=\d+$/.test(o));
    if (!gid || mapsId(userns.gidMappings, Number(gid.slice(4)))) return;
    if (!fromDefaults) throw new ConfigError(`mounts[${i}].options`, `${gid}: group ${gid.slice(4)} is not mapped by linux.gidMappings, and devpts refuses it`);
    m.data = opts.filter((o) => o !== gid).join(',');
  });
}

/** The maps of an 'auto' user namespace once its range is leased. */
export function withLeasedRange(userns: ResolvedUserns, slot: number, uid: number, gid: number): ResolvedUserns {
  return { ...userns, slot, uidMappings: [{ containerID: 0, hostID: uid, size: AUTO_SIZE }], gidMappings: [{ containerID: 0, hostID: gid, size: AUTO_SIZE }] };
}
