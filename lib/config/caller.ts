// What the kernel will hold the child to, known before anything is created:
// the child is a clone of this process, so it starts with this process's
// capabilities and rlimits, and fs.nr_open caps RLIMIT_NOFILE. Each fact is
// read when a check first needs it, and kept for a second: reading /proc for
// every container costs more than the rest of validation, and these change
// rarely (sysctl, prlimit from outside, a setuid of this process).
import fs from 'node:fs';
import { CAPABILITIES, RLIMITS } from '../kernel/abi.js';

export interface CapabilitySets {
  effective: Set<string>;
  permitted: Set<string>;
  inheritable: Set<string>;
  bounding: Set<string>;
}

/** A limit in bytes (or count); Infinity is RLIM_INFINITY. */
export interface Limit {
  soft: number;
  hard: number;
}

export interface CallerFacts {
  /** The effective uid and gid: not 0, and the caller is rootless (lib/config/userns.ts). */
  readonly euid: number;
  readonly egid: number;
  /** fs.nr_open: the kernel refuses an RLIMIT_NOFILE hard limit above it (EPERM). */
  readonly nrOpen: number;
  /** This process's capability sets, which the child starts from. */
  readonly caps: CapabilitySets;
  /** This process's current limit of that type (RLIMIT_STACK, ...), which the child inherits. */
  rlimit(type: string): Limit;
}

const UNLIMITED: Limit = { soft: Infinity, hard: Infinity };

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function capNames(hex: string): Set<string> {
  const mask = BigInt(`0x${hex}`);
  return new Set(CAPABILITIES.filter((_, i) => ((mask >> BigInt(i)) & 1n) === 1n));
}

/** /proc/self/status's Cap* lines; without /proc, the kernel is left to judge (all allowed). */
function readCaps(): CapabilitySets {
  const status = readText('/proc/self/status');
  const all = new Set<string>(CAPABILITIES);
  const set = (name: string, fallback: Set<string>) => {
    const m = status && new RegExp(`^${name}:\\s*([0-9a-f]+)$`, 'm').exec(status);
    return m ? capNames(m[1]!) : fallback;
  };
  return { effective: set('CapEff', all), permitted: set('CapPrm', all), inheritable: set('CapInh', new Set()), bounding: set('CapBnd', all) };
}

/** /proc/self/limits lists the resources in RLIMIT_* order, soft then hard. */
function readLimits(): Map<string, Limit> {
  const out = new Map<string, Limit>();
  const names = Object.entries(RLIMITS).sort((a, b) => a[1] - b[1]).map(([n]) => n);
  const lines = (readText('/proc/self/limits') ?? '').split('\n').slice(1).filter((l) => l.trim() !== '');
  const value = (s: string) => (s === 'unlimited' ? Infinity : Number(s));
  lines.forEach((line, i) => {
    const m = /^Max [a-z ]+?\s+(unlimited|\d+)\s+(unlimited|\d+)/.exec(line);
    if (m && names[i]) out.set(names[i]!, { soft: value(m[1]!), hard: value(m[2]!) });
  });
  return out;
}

const FRESH_MS = 1000;

function cached<T>(read: () => T): (uid: number) => T {
  let value: T | undefined;
  let at = -Infinity;
  let readAs = -1;
  return (uid) => {
    const now = Date.now();
    // A uid change (process.setuid) changes the capability sets at once.
    if (value === undefined || now - at > FRESH_MS || uid !== readAs) {
      value = read();
      at = now;
      readAs = uid;
    }
    return value;
  };
}

// 1048576 is the kernel's default when /proc/sys is not there to ask.
const nrOpen = cached(() => Number(readText('/proc/sys/fs/nr_open')?.trim() ?? 1048576));
const caps = cached(readCaps);
const limits = cached(readLimits);

/** The facts for one config: each asked of the cache at most once. */
export function callerFacts(): CallerFacts {
  let uid: number | undefined;
  const euid = () => (uid ??= process.geteuid?.() ?? 0);
  let n: number | undefined;
  let c: CapabilitySets | undefined;
  let l: Map<string, Limit> | undefined;
  return {
    get euid() {
      return euid();
    },
    get egid() {
      return process.getegid?.() ?? 0;
    },
    get nrOpen() {
      return (n ??= nrOpen(euid()));
    },
    get caps() {
      return (c ??= caps(euid()));
    },
    rlimit(type: string) {
      return (l ??= limits(euid())).get(type) ?? UNLIMITED;
    },
  };
}

/**
 * The facts as the child will have them once it made its own user namespace
 * (or, for an exec, entered the container's): the kernel gives a process
 * every capability in a namespace it creates or joins with setns
 * (user_namespaces(7)); its bounding and inheritable sets stay what they were.
 * A rootless caller's child can drop capabilities, set rlimits below its own
 * hard limits, and so on, from there.
 */
export function inNewUserNamespace(caller: CallerFacts): CallerFacts {
  let c: CapabilitySets | undefined;
  return {
    get euid() {
      return caller.euid;
    },
    get egid() {
      return caller.egid;
    },
    get nrOpen() {
      return caller.nrOpen;
    },
    get caps() {
      const all = new Set<string>(CAPABILITIES);
      return (c ??= { effective: all, permitted: all, inheritable: caller.caps.inheritable, bounding: caller.caps.bounding });
    },
    rlimit: (type) => caller.rlimit(type),
  };
}
