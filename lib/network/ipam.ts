// Address leases for one network, like CNI's host-local plugin: one file per
// leased address in the network's lease directory
// (<stateRoot>/networks/<name>/leases/<address>), holding the owner's
// container id and the pid + start time of the process that keeps it alive
// (the creator while it sets up, the container's init after), so the lease of
// an owner that crashed is reclaimed instead of leaking an address forever.
//
// Allocation is safe across processes: it runs under an flock on the lease
// directory (the kernel drops it if its holder dies, so there is no stale
// lock), and each lease file is written to a temporary name and renamed into
// place, so a reader never sees half of one. Addresses are handed out round
// robin after the last one given (host-local's last_reserved_ip), so a just
// released address is not reused at once while peers may still cache its MAC.
// A pick looks at one readdir and the few files in its way, not every lease:
// the 200th container on a bridge allocates as fast as the first.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, SetupError } from '../errors.js';
import { native } from '../native/addon.js';
import { ownStartTime, processStatus } from '../state/state-dir.js';
import { NetworkError } from './errors.js';
import { type Address, type Subnet, checkHostAddress, formatAddress, formatSubnet, hostRange, parseAddress, sameAddress } from './subnet.js';

/** Who holds a lease: a container id and the process whose life keeps the lease. */
export interface LeaseOwner {
  id: string;
  pid: number;
  /** /proc/<pid>/stat start time: a reused pid is not the owner. */
  startTime: number;
}

export interface Lease extends LeaseOwner {
  address: string;
}

export interface Pool {
  /** The network's name, for messages. */
  network: string;
  /** The lease directory (made on first use). */
  dir: string;
  subnet: Subnet;
  /** Never leased (the bridge's own address). */
  gateway?: Address;
}

export interface AllocateOptions {
  /** A fixed address: given if free, else refused (see checkHostAddress, ADDRESS_IN_USE). */
  ip?: string;
  /** The JSON path of `ip` in the caller's config, for a ConfigError. */
  field?: string;
}

const LAST = '.last';
const TMP_PREFIX = '.tmp.';
const LOCK_TIMEOUT_MS = 10_000;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** <stateRoot>/networks/<name>/leases, for a network name that cannot climb out of it. */
export function leasesDir(stateRoot: string, network: string, field = 'name'): string {
  if (!NAME.test(network)) throw new ConfigError(field, `"${network}" is not a network name ([A-Za-z0-9][A-Za-z0-9_.-]{0,63})`);
  return path.join(stateRoot, 'networks', network, 'leases');
}

/** The calling process as the owner of a lease for container `id`. */
export function selfOwner(id: string): LeaseOwner {
  return { id, pid: process.pid, startTime: ownStartTime() ?? 0 };
}

/** Whether the owner's process is still the one that took the lease (a zombie has exited). */
export function ownerAlive(o: Pick<LeaseOwner, 'pid' | 'startTime'>): boolean {
  const p = o.pid > 0 ? processStatus(o.pid) : undefined;
  return p !== undefined && p.state !== 'Z' && p.state !== 'X' && p.startTime === o.startTime;
}

function readLease(dir: string, name: string): Lease | undefined {
  try {
    const r = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as Partial<Lease>;
    if (typeof r.id !== 'string' || !Number.isInteger(r.pid) || !Number.isInteger(r.startTime)) return undefined;
    return { id: r.id, pid: r.pid!, startTime: r.startTime!, address: name };
  } catch {
    return undefined;
  }
}

function writeLease(dir: string, lease: Lease): void {
  const tmp = path.join(dir, `${TMP_PREFIX}${process.pid}.${lease.address}`);
  const { id, pid, startTime } = lease;
  fs.writeFileSync(tmp, `${JSON.stringify({ id, pid, startTime })}\n`, { mode: 0o600 });
  fs.renameSync(tmp, path.join(dir, lease.address));
}

/** A lease file's name as an address of the pool's family, or undefined (.last, temporaries, strays). */
function leaseAddress(name: string, pool: Pool): Address | undefined {
  if (name.startsWith('.')) return undefined;
  try {
    return parseAddress(name, 'lease', pool.subnet.family);
  } catch {
    return undefined;
  }
}

/** Runs fn (synchronous: nothing else holds the lock meanwhile) under the flock of dir. */
async function withLock<T>(dir: string, fn: () => T): Promise<T> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    const deadline = Date.now() + LOCK_TIMEOUT_MS;
    for (let wait = 1; native.tryLock(fd) !== 0; wait = Math.min(wait * 2, 20)) {
      if (Date.now() > deadline) throw new SetupError('network', `the address leases ${dir} stayed locked for ${LOCK_TIMEOUT_MS / 1000} s`, { errno: 'EWOULDBLOCK', syscall: 'flock', path: dir });
      await sleep(wait);
    }
    return fn();
  } finally {
    fs.closeSync(fd); // releases the flock
  }
}

function readLast(dir: string, pool: Pool): bigint | undefined {
  try {
    return leaseAddress(fs.readFileSync(path.join(dir, LAST), 'utf8').trim(), pool)?.value;
  } catch {
    return undefined;
  }
}

/**
 * A lease for `owner` on the pool: the fixed `ip` asked for, or the next free
 * host address after the last one given (its owner asking again for the
 * same fixed address gets it again; a second dynamic allocate is a second
 * address: finding an owner's lease would mean reading every lease file).
 * Refuses a fixed address that cannot be a host's (ConfigError at `field`)
 * or is taken (ADDRESS_IN_USE); a pool with nothing free is ADDRESS_POOL_EXHAUSTED.
 */
export async function allocate(pool: Pool, owner: LeaseOwner, opts: AllocateOptions = {}): Promise<Lease> {
  const field = opts.field ?? 'ip';
  const range = hostRange(pool.subnet);
  let wanted: Address | undefined;
  if (opts.ip !== undefined) {
    wanted = parseAddress(opts.ip, field);
    checkHostAddress(pool.subnet, wanted, pool.gateway, field);
  }
  return withLock(pool.dir, () => {
    const names = new Set(fs.readdirSync(pool.dir));
    /** The lease at `name` if it is held by a live owner; a dead one is removed. */
    const holder = (name: string): Lease | undefined => {
      if (!names.has(name)) return undefined;
      const rec = readLease(pool.dir, name);
      if (rec && ownerAlive(rec)) return rec;
      fs.rmSync(path.join(pool.dir, name), { force: true }); // its owner is gone: reclaimed
      names.delete(name);
      return undefined;
    };
    const take = (a: Address, advance: boolean): Lease => {
      const lease = { ...owner, address: formatAddress(a) };
      writeLease(pool.dir, lease);
      // A fixed address does not move the round-robin cursor.
      if (advance) fs.writeFileSync(path.join(pool.dir, LAST), `${lease.address}\n`);
      return lease;
    };

    if (wanted) {
      const name = formatAddress(wanted);
      const rec = holder(name);
      if (rec && rec.id !== owner.id) {
        throw new NetworkError('ADDRESS_IN_USE', `${name} on network "${pool.network}" is leased to container "${rec.id}"`, { network: pool.network, address: name, path: path.join(pool.dir, name) });
      }
      return take(wanted, false);
    }

    if (range) {
      const { first, last } = range;
      const after = readLast(pool.dir, pool);
      let v = after !== undefined && after >= first.value && after < last.value ? after + 1n : first.value;
      // Every address skipped is the gateway or has a file in `names`, so
      // the walk ends within names.size + 2 steps, or after the whole range.
      const total = last.value - first.value + 1n;
      for (let seen = 0n; seen < total; seen++, v = v === last.value ? first.value : v + 1n) {
        const a: Address = { family: pool.subnet.family, value: v };
        if (pool.gateway && sameAddress(a, pool.gateway)) continue;
        if (!holder(formatAddress(a))) return take(a, true);
      }
    }
    throw new NetworkError('ADDRESS_POOL_EXHAUSTED', `network "${pool.network}" (${formatSubnet(pool.subnet)}) has no free address: every host address is leased`, { network: pool.network, path: pool.dir });
  });
}

/** Hands the lease to another process of the same owner (the container's init, once it exists). */
export async function transfer(dir: string, address: string, owner: LeaseOwner): Promise<void> {
  await withLock(dir, () => {
    const rec = readLease(dir, address);
    if (!rec || rec.id !== owner.id) {
      throw new NetworkError('NETWORK_FAILED', `${address} is not leased to container "${owner.id}"${rec ? ` (it is "${rec.id}"'s)` : ''}`, { address, path: path.join(dir, address) });
    }
    writeLease(dir, { ...owner, address });
  });
}

/** Gives `address` back if container `id` holds it; whether it did. */
export async function release(dir: string, address: string, id: string): Promise<boolean> {
  if (!fs.existsSync(dir)) return false;
  return withLock(dir, () => {
    const rec = readLease(dir, address);
    if (!rec || rec.id !== id) return false;
    fs.rmSync(path.join(dir, address), { force: true });
    return true;
  });
}

/** Gives back every address container `id` holds (a destroy from another process does not know them); the addresses. */
export async function releaseOwner(dir: string, id: string): Promise<string[]> {
  if (!fs.existsSync(dir)) return [];
  return withLock(dir, () => {
    const out: string[] = [];
    for (const name of fs.readdirSync(dir).sort()) {
      if (name.startsWith('.') || readLease(dir, name)?.id !== id) continue;
      fs.rmSync(path.join(dir, name), { force: true });
      out.push(name);
    }
    return out;
  });
}

/**
 * Removes every lease whose owner is gone, and the temporaries of writers
 * that died between write and rename; the addresses reclaimed. (allocate
 * reclaims the leases in its way by itself; this is for a sweep, e.g. before
 * removeNetwork decides whether the network is still in use.)
 */
export async function reclaim(dir: string): Promise<string[]> {
  if (!fs.existsSync(dir)) return [];
  return withLock(dir, () => {
    const out: string[] = [];
    for (const name of fs.readdirSync(dir).sort()) {
      if (name.startsWith(TMP_PREFIX)) {
        fs.rmSync(path.join(dir, name), { force: true }); // we hold the lock: its writer is not writing
        continue;
      }
      if (name.startsWith('.')) continue;
      const rec = readLease(dir, name);
      if (rec && ownerAlive(rec)) continue;
      fs.rmSync(path.join(dir, name), { force: true });
      out.push(name);
    }
    return out;
  });
}

/** The leases as they are on disk (no lock: a snapshot), with whether each owner still lives. */
export function listLeases(dir: string): Array<Lease & { alive: boolean }> {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const out: Array<Lease & { alive: boolean }> = [];
  for (const name of names.sort()) {
    if (name.startsWith('.')) continue;
    const rec = readLease(dir, name);
    if (rec) out.push({ ...rec, alive: ownerAlive(rec) });
  }
  return out;
}
