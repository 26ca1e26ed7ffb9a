// userns: 'auto' — a host-wide pool of 65536-id ranges, one leased to each
// container, so two containers never share host ids. The pool is the
// /etc/subuid and /etc/subgid entries of a user named "berth" when both
// exist, else BERTH_USERNS_POOL ("start:count"), else 100000000 + 65536·k for
// k < 1000. Leases live in one directory for the whole host (not per state
// root: ranges must differ across state roots too), BERTH_USERNS_LEASES or
// /run/berth-userns, as files named by slot holding the owner's id and state
// root; they are taken under an flock (released by the kernel if its holder
// dies). A lease is its owner's while the owner's state directory names that
// slot (<stateRoot>/<id>/userns-slot): one whose container is gone is reclaimed.
import fs from 'node:fs';
import path from 'node:path';
import { SetupError } from '../errors.js';
import { native } from '../native/addon.js';

export const RANGE_SIZE = 65536;
const DEFAULT_START = 100_000_000;
const DEFAULT_SLOTS = 1000;
export const SLOT_MARKER = 'userns-slot';

export interface Pool {
  uidStart: number;
  gidStart: number;
  slots: number;
  /** Where the pool came from, for messages. */
  source: string;
}

export interface Lease {
  slot: number;
  uid: number;
  gid: number;
}

function subidEntry(file: string, user: string): { start: number; count: number } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [name, start, count] = line.trim().split(':');
    if (name === user && start !== undefined && count !== undefined && /^\d+$/.test(start) && /^\d+$/.test(count)) return { start: Number(start), count: Number(count) };
  }
  return undefined;
}

/** The pool as this host configures it (read on every lease: a changed /etc/subuid applies to the next one). */
export function resolvePool(env: NodeJS.ProcessEnv = process.env, etc = '/etc'): Pool {
  const spec = env.BERTH_USERNS_POOL;
  if (spec) {
    const m = /^(\d+):(\d+)$/.exec(spec);
    if (!m || Number(m[2]) < RANGE_SIZE || Number(m[1]) + Number(m[2]) > 2 ** 32) {
      throw new SetupError('user-namespace', `BERTH_USERNS_POOL="${spec}" is not "start:count" with count >= ${RANGE_SIZE} inside 32-bit ids`);
    }
    return { uidStart: Number(m[1]), gidStart: Number(m[1]), slots: Math.floor(Number(m[2]) / RANGE_SIZE), source: 'BERTH_USERNS_POOL' };
  }
  const uid = subidEntry(path.join(etc, 'subuid'), 'berth');
  const gid = subidEntry(path.join(etc, 'subgid'), 'berth');
  if (uid && gid) {
    return { uidStart: uid.start, gidStart: gid.start, slots: Math.floor(Math.min(uid.count, gid.count) / RANGE_SIZE), source: '/etc/subuid and /etc/subgid (berth)' };
  }
  return { uidStart: DEFAULT_START, gidStart: DEFAULT_START, slots: DEFAULT_SLOTS, source: `the default pool ${DEFAULT_START} + ${RANGE_SIZE}·k, k < ${DEFAULT_SLOTS}` };
}

export function leaseDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.BERTH_USERNS_LEASES ?? '/run/berth-userns';
}

interface LeaseRecord {
  id: string;
  stateRoot: string;
}

function readLease(file: string): LeaseRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as LeaseRecord;
  } catch {
    return undefined;
  }
}

function ownerHolds(rec: LeaseRecord | undefined, slot: number): boolean {
  if (!rec || typeof rec.id !== 'string' || typeof rec.stateRoot !== 'string') return false;
  try {
    return fs.readFileSync(path.join(rec.stateRoot, rec.id, SLOT_MARKER), 'utf8').trim() === String(slot);
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs fn (synchronous: nothing else holds the lock meanwhile) under the lease directory's flock. */
async function withLock<T>(dir: string, fn: () => T): Promise<T> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fd = fs.openSync(path.join(dir, '.lock'), fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  try {
    const deadline = Date.now() + 30_000;
    for (let wait = 1; ; wait = Math.min(wait * 2, 20)) {
      const err = native.tryLock(fd);
      if (err === 0) break;
      if (Date.now() > deadline) throw new SetupError('user-namespace', `the userns lease lock ${dir}/.lock stayed held for 30 s`, { path: `${dir}/.lock` });
      await sleep(wait);
    }
    return fn();
  } finally {
    fs.closeSync(fd); // releases the flock
  }
}

/**
 * Leases the lowest free slot for (stateRoot, id), whose state directory must
 * exist (claimed): its marker is written first, then the lease, both under the lock.
 */
export async function leaseRange(stateRoot: string, id: string, env: NodeJS.ProcessEnv = process.env): Promise<Lease> {
  const pool = resolvePool(env);
  const dir = leaseDir(env);
  return withLock(dir, () => {
    const taken = new Set<number>();
    for (const name of fs.readdirSync(dir)) {
      if (!/^\d+$/.test(name)) continue;
      const slot = Number(name);
      if (ownerHolds(readLease(path.join(dir, name)), slot)) taken.add(slot);
      else fs.rmSync(path.join(dir, name), { force: true }); // its container is gone: reclaimed
    }
    let slot = 0;
    while (taken.has(slot)) slot++;
    if (slot >= pool.slots) throw new SetupError('user-namespace', `userns 'auto': all ${pool.slots} ranges of ${pool.source} are leased`);
    fs.writeFileSync(path.join(stateRoot, id, SLOT_MARKER), String(slot));
    fs.writeFileSync(path.join(dir, String(slot)), JSON.stringify({ id, stateRoot } satisfies LeaseRecord), { mode: 0o600 });
    return { slot, uid: pool.uidStart + slot * RANGE_SIZE, gid: pool.gidStart + slot * RANGE_SIZE };
  });
}

/** Gives the slot back if (stateRoot, id) still holds it (the directory and its lock file stay, like /run/berth). */
export async function releaseRange(stateRoot: string, id: string, slot: number, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const dir = leaseDir(env);
  if (!fs.existsSync(dir)) return;
  await withLock(dir, () => {
    const file = path.join(dir, String(slot));
    const rec = readLease(file);
    if (rec && rec.id === id && rec.stateRoot === stateRoot) fs.rmSync(file, { force: true });
  });
}

/** The slot a state directory names, if any (for a destroy from another process). */
export function leasedSlot(stateDir: string): number | undefined {
  try {
    const v = fs.readFileSync(path.join(stateDir, SLOT_MARKER), 'utf8').trim();
    return /^\d+$/.test(v) ? Number(v) : undefined;
  } catch {
    return undefined;
  }
}
