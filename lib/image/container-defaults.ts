// The image config as container defaults, by Docker's rules (moby's
// daemon merge and runc's GetExecUser), pure: the caller hands over the
// image's /etc/passwd and /etc/group (layer-files.ts reads them from the
// layers) and gets the process fields back.
//
//  args       Entrypoint + Cmd. The caller's `args` replace Cmd and keep
//             Entrypoint; the caller's `entrypoint` replaces Entrypoint and
//             drops the image's Cmd (args then are only the caller's). An empty
//             `entrypoint` ([] or null) clears the Entrypoint, and an empty or
//             absent `args` then leaves the image's Cmd (`docker run
//             --entrypoint ""`). No command at all is an error.
//  env        the image's Env, the caller's merged over it by key (the caller
//             wins; image order first, new keys after); PATH added when neither
//             has one (Docker's default), HOME from the user's passwd entry
//             ("/" without one) when neither has one.
//  cwd        the caller's, else WorkingDir, else "/"; absolute.
//  user       the caller's (an OCI { uid, gid, … } as given, or a string), else
//             User, else root: "name" | "uid" | "name:group" | "uid:gid" (any
//             mix). A name must be in /etc/passwd (a group name in /etc/group);
//             a number need not. A user found in /etc/passwd brings its gid and
//             home, and, unless a group was named, the groups of /etc/group
//             that list it as a member as supplementary groups (root too:
//             `docker run alpine id`).
//  volumes, exposedPorts, labels, stopSignal: the image's, checked and normalized.
// Errors name the JSON path: ConfigError (`process.user`) when the caller's
// input is at fault, ImageError IMAGE_INVALID with `field` (`config.Env[2]`)
// when the image's is.
import os from 'node:os';
import path from 'node:path';
import { ConfigError, ImageError } from '../errors.js';
import type { ImageConfig } from './manifest.js';

/** What the caller sets over the image's defaults (the `process` of a container config, plus `entrypoint`). */
export interface ImageProcessOverrides {
  /** Replaces the image's Cmd (the Entrypoint stays); empty or absent: the image's Cmd. */
  args?: string[];
  /** Replaces the image's Entrypoint and drops its Cmd; [] or null: no Entrypoint (the image's Cmd stays unless args are given). */
  entrypoint?: string[] | null;
  /** `['K=v']` or `{ K: 'v' }`: merged over the image's Env, the caller winning by key. */
  env?: string[] | Record<string, string>;
  /** Absolute; replaces WorkingDir. */
  cwd?: string;
  /** `"name"`, `"uid"`, `"name:group"`, `"uid:gid"`, or OCI numeric ids taken as they are. */
  user?: string | { uid?: number; gid?: number; additionalGids?: number[]; umask?: number };
}

/** The image's /etc/passwd and /etc/group as text; undefined: the image has none. */
export interface ImageUserFiles {
  passwd?: string;
  group?: string;
}

export interface ResolvedImageUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
  umask?: number;
  /** The passwd name, when the user has an entry. */
  username?: string;
}

export interface ExposedPort {
  port: number;
  protocol: 'tcp' | 'udp' | 'sctp';
}

export interface ContainerDefaults {
  process: { args: string[]; env: string[]; cwd: string; user: ResolvedImageUser };
  /** Absolute paths the image wants volumes at (anonymous volumes unless the caller mounts something there). */
  volumes: string[];
  exposedPorts: ExposedPort[];
  labels: Record<string, string>;
  /** The signal that stops the container: a name (SIGTERM by default), or a number for a real-time one. */
  stopSignal: NodeJS.Signals | number;
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const MAX_ID = 2 ** 31 - 1;

const imageErr = (field: string, message: string) => new ImageError('IMAGE_INVALID', `image config at ${field}: ${message}`, { step: 'defaults', field });
const jsonKey = (k: string) => (/^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`);

type Fail = (field: string, message: string) => Error;
const callerErr: Fail = (field, message) => new ConfigError(field, message);

/** An image string list (a bare string is one element, null is none, as Docker's strslice reads them). */
function imageList(v: unknown, field: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v)) throw imageErr(field, 'not a list of strings');
  v.forEach((s, i) => {
    if (typeof s !== 'string') throw imageErr(`${field}[${i}]`, 'not a string');
  });
  return v as string[];
}

function callerList(v: unknown, field: string, nullable: boolean): string[] | undefined {
  if (v === undefined || (nullable && v === null)) return v === null ? [] : undefined;
  if (!Array.isArray(v)) throw callerErr(field, 'must be an array of strings');
  v.forEach((s, i) => {
    if (typeof s !== 'string') throw callerErr(`${field}[${i}]`, 'must be a string');
  });
  return v as string[];
}

function resolveArgs(image: Record<string, unknown>, p: ImageProcessOverrides): string[] {
  const imageEp = imageList(image.Entrypoint, 'config.Entrypoint') ?? [];
  const imageCmd = imageList(image.Cmd, 'config.Cmd') ?? [];
  const args = callerList(p.args, 'process.args', false);
  const ep = callerList(p.entrypoint, 'process.entrypoint', true);
  let entrypoint: string[];
  let cmd: string[];
  if (ep !== undefined && ep.length > 0) {
    entrypoint = ep;
    cmd = args ?? [];
  } else {
    entrypoint = ep ?? imageEp;
    cmd = args && args.length > 0 ? args : imageCmd;
  }
  const out = [...entrypoint, ...cmd];
  if (out.length === 0) throw callerErr('process.args', 'no command: the image has no Entrypoint or Cmd, and none was given');
  return out;
}

function splitEnv(entry: string): [string, string] | null {
  const i = entry.indexOf('=');
  return i > 0 ? [entry.slice(0, i), entry.slice(i + 1)] : null;
}

function mergeEnv(image: Record<string, unknown>, p: ImageProcessOverrides): Map<string, string> {
  const env = new Map<string, string>();
  (imageList(image.Env, 'config.Env') ?? []).forEach((e, i) => {
    const kv = splitEnv(e);
    if (!kv) throw imageErr(`config.Env[${i}]`, `${JSON.stringify(e)} is not KEY=value`);
    env.set(kv[0], kv[1]);
  });
  const given = p.env;
  if (given === undefined) return env;
  if (Array.isArray(given)) {
    given.forEach((e, i) => {
      const kv = typeof e === 'string' ? splitEnv(e) : null;
      if (!kv) throw callerErr(`process.env[${i}]`, `${JSON.stringify(e)} is not KEY=value`);
      env.set(kv[0], kv[1]);
    });
  } else if (typeof given === 'object' && given !== null) {
    for (const [k, v] of Object.entries(given)) {
      if (k === '' || k.includes('=')) throw callerErr(`process.env${jsonKey(k)}`, 'a variable name is non-empty and has no "="');
      if (typeof v !== 'string') throw callerErr(`process.env${jsonKey(k)}`, 'must be a string');
      env.set(k, v);
    }
  } else throw callerErr('process.env', 'must be an array of KEY=value strings or an object of strings');
  return env;
}

function absolute(dir: string, field: string, fail: Fail): string {
  if (dir.includes('\0')) throw fail(field, 'holds a NUL byte');
  if (!dir.startsWith('/')) throw fail(field, `${JSON.stringify(dir)} is not an absolute path`);
  return path.posix.normalize(dir).replace(/(.)\/$/, '$1');
}

function resolveCwd(image: Record<string, unknown>, p: ImageProcessOverrides): string {
  if (p.cwd !== undefined) {
    if (typeof p.cwd !== 'string' || p.cwd === '') throw callerErr('process.cwd', 'must be a non-empty absolute path');
    return absolute(p.cwd, 'process.cwd', callerErr);
  }
  const wd = image.WorkingDir;
  if (wd === undefined || wd === null || wd === '') return '/';
  if (typeof wd !== 'string') throw imageErr('config.WorkingDir', 'not a string');
  return absolute(wd, 'config.WorkingDir', imageErr);
}

// ---- /etc/passwd and /etc/group ----

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}
export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const idOf = (s: string | undefined): number | undefined => (s !== undefined && /^\d+$/.test(s) && Number(s) <= MAX_ID ? Number(s) : undefined);

/** passwd(5) lines; comments, NIS (+/-) lines and malformed ones are skipped (never read as uid 0). */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('+') || line.startsWith('-')) continue;
    const f = line.split(':');
    const uid = idOf(f[2]);
    const gid = idOf(f[3]);
    if (!f[0] || uid === undefined || gid === undefined) continue;
    out.push({ name: f[0], uid, gid, home: f[5] ?? '' });
  }
  return out;
}

/** group(5) lines, as parsePasswd. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('+') || line.startsWith('-')) continue;
    const f = line.split(':');
    const gid = idOf(f[2]);
    if (!f[0] || gid === undefined) continue;
    out.push({ name: f[0], gid, members: (f[3] ?? '').split(',').map((m) => m.trim()).filter(Boolean) });
  }
  return out;
}

/** A user spec resolved as runc's GetExecUser does (see the top of this file); `home` for HOME. */
export function resolveUserSpec(spec: string, files: ImageUserFiles, field: string, fail: Fail): ResolvedImageUser & { home: string } {
  if (spec.includes('\0') || spec.includes('\n')) throw fail(field, 'holds a control character');
  const colon = spec.indexOf(':');
  const userArg = colon < 0 ? spec : spec.slice(0, colon);
  const groupArg = colon < 0 ? '' : spec.slice(colon + 1);
  if (colon >= 0 && groupArg === '') throw fail(field, `${JSON.stringify(spec)} names no group after ":"`);
  if (groupArg.includes(':')) throw fail(field, `${JSON.stringify(spec)} is not user[:group]`);
  const passwd = files.passwd === undefined ? undefined : parsePasswd(files.passwd);
  const groups = files.group === undefined ? undefined : parseGroup(files.group);
  const uidArg = /^\d+$/.test(userArg) ? Number(userArg) : undefined;
  const gidArg = /^\d+$/.test(groupArg) ? Number(groupArg) : undefined;
  if ((uidArg !== undefined && uidArg > MAX_ID) || (gidArg !== undefined && gidArg > MAX_ID)) throw fail(field, `${JSON.stringify(spec)}: ids are at most ${MAX_ID}`);

  const user: ResolvedImageUser & { home: string } = { uid: 0, gid: 0, home: '/' };
  const match = passwd?.find((u) => (userArg === '' ? u.uid === 0 : uidArg !== undefined ? u.uid === uidArg : u.name === userArg));
  if (match) {
    Object.assign(user, { uid: match.uid, gid: match.gid, home: match.home || '/', username: match.name });
  } else if (userArg !== '') {
    if (uidArg === undefined) throw fail(field, passwd === undefined ? `user ${JSON.stringify(userArg)}: the image has no /etc/passwd to find it in` : `no user ${JSON.stringify(userArg)} in the image's /etc/passwd`);
    user.uid = uidArg;
  }
  if (groupArg !== '') {
    const g = groups?.find((e) => (gidArg !== undefined ? e.gid === gidArg : e.name === groupArg));
    if (g) user.gid = g.gid;
    else if (gidArg !== undefined) user.gid = gidArg;
    else throw fail(field, groups === undefined ? `group ${JSON.stringify(groupArg)}: the image has no /etc/group to find it in` : `no group ${JSON.stringify(groupArg)} in the image's /etc/group`);
  } else if (match && groups) {
    const sgids = [...new Set(groups.filter((g) => g.members.includes(match.name)).map((g) => g.gid))];
    if (sgids.length) user.additionalGids = sgids;
  }
  return user;
}

function resolveUser(image: Record<string, unknown>, p: ImageProcessOverrides, files: ImageUserFiles): ResolvedImageUser & { home: string } {
  const u = p.user;
  if (u !== undefined && typeof u === 'object' && u !== null && !Array.isArray(u)) {
    const id = (v: unknown, f: string): number | undefined => {
      if (v === undefined) return undefined;
      if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > MAX_ID) throw callerErr(`process.user.${f}`, `must be an integer from 0 to ${MAX_ID}`);
      return v as number;
    };
    const uid = id(u.uid, 'uid') ?? 0;
    const gid = id(u.gid, 'gid') ?? 0;
    if (u.additionalGids !== undefined && !Array.isArray(u.additionalGids)) throw callerErr('process.user.additionalGids', 'must be an array of gids');
    const extra = u.additionalGids?.map((g, i) => id(g, `additionalGids[${i}]`)!);
    const entry = files.passwd === undefined ? undefined : parsePasswd(files.passwd).find((e) => e.uid === uid);
    return {
      uid,
      gid,
      ...(extra ? { additionalGids: extra } : {}),
      ...(u.umask !== undefined ? { umask: u.umask } : {}),
      ...(entry ? { username: entry.name } : {}),
      home: entry?.home || '/',
    };
  }
  if (u !== undefined) {
    if (typeof u !== 'string') throw callerErr('process.user', 'must be "user[:group]" or { uid, gid, additionalGids }');
    return resolveUserSpec(u, files, 'process.user', callerErr);
  }
  const spec = image.User;
  if (spec !== undefined && spec !== null && typeof spec !== 'string') throw imageErr('config.User', 'not a string');
  return resolveUserSpec(spec ?? '', files, 'config.User', imageErr);
}

// ---- the rest of the config ----

function objectKeys(v: unknown, field: string): string[] {
  if (v === undefined || v === null) return [];
  if (typeof v !== 'object' || Array.isArray(v)) throw imageErr(field, 'not an object');
  return Object.keys(v);
}

function resolveVolumes(image: Record<string, unknown>): string[] {
  const out = objectKeys(image.Volumes, 'config.Volumes').map((k) => absolute(k, `config.Volumes${jsonKey(k)}`, imageErr));
  return [...new Set(out)].sort();
}

function resolvePorts(image: Record<string, unknown>): ExposedPort[] {
  const out: ExposedPort[] = [];
  const seen = new Set<string>();
  for (const k of objectKeys(image.ExposedPorts, 'config.ExposedPorts')) {
    const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(k);
    const lo = Number(m?.[1]);
    const hi = m?.[2] === undefined ? lo : Number(m[2]);
    if (!m || !(lo >= 1 && hi <= 65535 && lo <= hi)) throw imageErr(`config.ExposedPorts${jsonKey(k)}`, `${JSON.stringify(k)} is not port[-port][/tcp|udp|sctp] (1–65535)`);
    const protocol = (m[3]?.toLowerCase() ?? 'tcp') as ExposedPort['protocol'];
    for (let port = lo; port <= hi; port++) {
      const key = `${port}/${protocol}`;
      if (!seen.has(key)) out.push({ port, protocol });
      seen.add(key);
    }
  }
  return out.sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
}

function resolveLabels(image: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  const labels = image.Labels as Record<string, unknown> | undefined;
  for (const k of objectKeys(labels, 'config.Labels')) {
    const v = labels![k];
    if (typeof v !== 'string') throw imageErr(`config.Labels${jsonKey(k)}`, 'not a string');
    out[k] = v;
  }
  return out;
}

const SIGRTMIN = 34;
const SIGRTMAX = 64;

/** A signal name (`SIGTERM`, `TERM`, `SIGRTMIN+3`) or number (`15`) -> its name, or its number for a real-time signal. */
export function parseSignal(v: unknown, field: string, fail: Fail = imageErr): NodeJS.Signals | number {
  const byNumber = (n: number): NodeJS.Signals | number | undefined => {
    const name = Object.entries(os.constants.signals).find(([, num]) => num === n)?.[0];
    if (name) return name as NodeJS.Signals;
    return n >= SIGRTMIN && n <= SIGRTMAX ? n : undefined;
  };
  if (typeof v === 'number' || (typeof v === 'string' && /^\d+$/.test(v))) {
    const s = byNumber(Number(v));
    if (s === undefined) throw fail(field, `${v} is not a signal`);
    return s;
  }
  if (typeof v !== 'string') throw fail(field, 'not a signal name');
  const name = v.toUpperCase().startsWith('SIG') ? v.toUpperCase() : `SIG${v.toUpperCase()}`;
  const rt = /^SIGRT(MIN|MAX)([+-]\d+)?$/.exec(name);
  if (rt) {
    const n = (rt[1] === 'MIN' ? SIGRTMIN : SIGRTMAX) + Number(rt[2] ?? 0);
    if (n < SIGRTMIN || n > SIGRTMAX) throw fail(field, `${v} is outside SIGRTMIN..SIGRTMAX`);
    return n;
  }
  if (!(name in os.constants.signals)) throw fail(field, `${JSON.stringify(v)} is not a signal`);
  return name as NodeJS.Signals;
}

/**
 * The container's process fields and the image's other defaults, from the
 * image config (what inspectImage(…).config is) under the caller's overrides.
 * `files` are the image's /etc/passwd and /etc/group (readUserFiles).
 */
export function resolveContainerDefaults(imageConfig: ImageConfig | { config?: Record<string, unknown> | null }, overrides: ImageProcessOverrides = {}, files: ImageUserFiles = {}): ContainerDefaults {
  const c = (imageConfig as { config?: unknown }).config;
  if (c !== undefined && c !== null && (typeof c !== 'object' || Array.isArray(c))) throw imageErr('config', 'not an object');
  const image = (c ?? {}) as Record<string, unknown>;
  if (typeof overrides !== 'object' || overrides === null) throw callerErr('process', 'must be an object');
  const args = resolveArgs(image, overrides);
  const env = mergeEnv(image, overrides);
  const cwd = resolveCwd(image, overrides);
  const { home, ...user } = resolveUser(image, overrides, files);
  if (!env.has('PATH')) env.set('PATH', DEFAULT_PATH);
  if (!env.has('HOME')) env.set('HOME', home);
  const stop = image.StopSignal;
  return {
    process: { args, env: [...env].map(([k, v]) => `${k}=${v}`), cwd, user },
    volumes: resolveVolumes(image),
    exposedPorts: resolvePorts(image),
    labels: resolveLabels(image),
    stopSignal: stop === undefined || stop === null || stop === '' ? 'SIGTERM' : parseSignal(stop, 'config.StopSignal'),
  };
}
