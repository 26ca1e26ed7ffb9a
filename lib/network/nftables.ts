// nft batches inside a network namespace (native/addon/nftables.cc runs them
// through libnftables, loaded at first use, on a thread that joined the
// namespace), and the per-namespace lock berth's table changes are made under.
//
// The lock is an flock on the namespace's own nsfs inode (/run/netns/x and
// /proc/<pid>/ns/net of the same namespace are one inode): it serialises every
// berth process that changes berth's table in that namespace, whatever state
// root each uses, and dies with its holder. Nothing else flocks nsfs inodes
// (ip-netns does not), so no one else is ever made to wait.
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { native } from '../native/addon.js';
import { NetworkError } from './errors.js';
import type { Netns } from './rtnetlink.js';

const LOCK_TIMEOUT_MS = 10_000;

/** The Debian package that ships libnftables.so.1. */
export const NFTABLES_PACKAGE = 'libnftables1';

/** An open namespace: `fd` for native calls (-1: the caller's own), `label` for messages. */
export interface NetnsHandle {
  fd: number;
  label: string;
  /** The namespace's inode (its identity while it lives). */
  inode: number;
}

function nsLabel(ns: Netns): string {
  return ns === undefined ? "the caller's network namespace" : typeof ns === 'number' ? `netns fd ${ns}` : ns;
}

/**
 * Runs fn with the namespace open and, with lock, its flock held (waiting up
 * to 10 s for another berth process). A path is opened for the call only.
 */
export async function withNetns<T>(ns: Netns, opts: { lock: boolean }, fn: (h: NetnsHandle) => Promise<T>): Promise<T> {
  const file = ns === undefined ? '/proc/self/ns/net' : typeof ns === 'number' ? `/proc/self/fd/${ns}` : ns;
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new NetworkError('NETWORK_FAILED', `cannot open the network namespace ${nsLabel(ns)}: ${e.code}`, { ...(e.code ? { errno: e.code } : {}), syscall: 'open', path: file, cause: err });
  }
  try {
    const inode = fs.fstatSync(fd).ino;
    if (opts.lock) {
      const deadline = Date.now() + LOCK_TIMEOUT_MS;
      for (let wait = 1; native.tryLock(fd) !== 0; wait = Math.min(wait * 2, 20)) {
        if (Date.now() > deadline) {
          throw new NetworkError('NETWORK_FAILED', `another berth process held the network namespace ${nsLabel(ns)} for ${LOCK_TIMEOUT_MS / 1000} s`, { errno: 'EWOULDBLOCK', syscall: 'flock', path: file });
        }
        await sleep(wait);
      }
    }
    // The caller's own namespace needs no thread of its own: -1 runs there directly.
    return await fn({ fd: ns === undefined ? -1 : fd, label: nsLabel(ns), inode });
  } finally {
    fs.closeSync(fd); // releases the flock
  }
}

/** The addon's rejection as a NetworkError. */
function nftError(err: unknown, h: NetnsHandle): NetworkError {
  const e = err as Error & { code?: string; syscall?: string; library?: string };
  if (e?.code === 'NFTABLES_UNAVAILABLE') {
    return new NetworkError(
      'NFTABLES_UNAVAILABLE',
      `berth's network NAT needs libnftables, which could not be loaded (${e.message}): install Debian's ${NFTABLES_PACKAGE} package (apt-get install ${NFTABLES_PACKAGE})`,
      { ...(e.library ? { path: e.library } : {}), cause: err },
    );
  }
  const message = String(e?.message ?? err).replace(/ \(netns fd -?\d+\)$/, '');
  return new NetworkError('NETWORK_FAILED', `${message} (${h.label})`, { ...(e?.code ? { errno: e.code } : {}), ...(e?.syscall ? { syscall: e.syscall } : {}), cause: err });
}

export interface NftOptions {
  /** JSON output (a list command's result as nft -j prints it); input may be JSON too. */
  json?: boolean;
  /** An nft refusal with this errno text ("No such file or directory") resolves to undefined instead of throwing. */
  tolerate?: string;
}

/**
 * Runs one batch (commands joined by newlines: one transaction, all or
 * nothing) in the open namespace; nft's output. A refusal is NFTABLES_FAILED
 * with nft's words as nftError; a missing libnftables is NFTABLES_UNAVAILABLE.
 */
export async function nft(h: NetnsHandle, commands: string | readonly string[], opts: NftOptions = {}): Promise<string | undefined> {
  const text = typeof commands === 'string' ? commands : commands.join('\n');
  let r;
  try {
    r = await native.nftRun(h.fd, text, { json: opts.json === true });
  } catch (err) {
    throw nftError(err, h);
  }
  if (r.ok) return r.output;
  const said = r.error.trim();
  if (opts.tolerate !== undefined && said.startsWith(`Error: ${opts.tolerate}`)) return undefined;
  const first = said.split('\n')[0] ?? 'nft refused the batch';
  throw new NetworkError('NFTABLES_FAILED', `nft refused berth's batch in ${h.label}: ${first.replace(/^Error: /, '')}`, { syscall: 'nft', nftError: said });
}

/** Whether libnftables can be used here (loads it if no batch has yet); the reason when not. */
export async function nftablesAvailable(): Promise<{ available: boolean; reason?: string }> {
  try {
    await native.nftRun(-1, '', {});
    return { available: true };
  } catch (err) {
    const e = nftError(err, { fd: -1, label: "the caller's network namespace", inode: 0 });
    return { available: false, reason: e.message };
  }
}
