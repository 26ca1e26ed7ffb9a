// Shared fixtures for the root-free unit tests: fake host facts (so a test does
// not depend on the machine it runs on) and a throwaway rootfs directory.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CAPABILITIES } from '../../dist/lib/kernel/abi.js';

export function fakeCgroupInfo(layout = 'hybrid') {
  return { layout, cpus: new Set([0, 1]), mems: new Set([0]), hugepageSizes: ['2MB'], blockDevices: new Set(['8:0']) };
}

export function fakeHostFacts(layout = 'hybrid') {
  const unifiedMount = layout === 'v1' ? null : layout === 'v2' ? '/sys/fs/cgroup' : '/sys/fs/cgroup/unified';
  return { capLast: 40, cgroups: { layout, unifiedMount, v1: {} } };
}

/**
 * The facts of a root caller with every capability (what config validation
 * checks capsets and rlimits against), so a unit test judges the config, not
 * the user or machine it runs as.
 */
export function fakeCaller(over = {}) {
  const all = new Set(CAPABILITIES);
  const rlimits = { RLIMIT_STACK: { soft: 8 * 1024 * 1024, hard: Infinity }, RLIMIT_NOFILE: { soft: 1024, hard: 1048576 } };
  return {
    euid: 0,
    egid: 0,
    nrOpen: 1048576,
    caps: { effective: all, permitted: all, inheritable: new Set(), bounding: all },
    rlimit: (type) => rlimits[type] ?? { soft: Infinity, hard: Infinity },
    ...over,
  };
}

/** A scratch directory under os.tmpdir(); the test file removes it in after.always. */
export function scratchDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `berth-unit-${prefix}-`));
}

export function removeDir(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * Asserts that `fn` (sync or async) throws a ConfigError for exactly `field`.
 * Returns the error for further checks.
 */
export async function rejectsField(t, fn, field, message) {
  let err;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  t.truthy(err, `expected a ConfigError at ${field}, got no error`);
  if (!err) return undefined;
  t.is(err.code, 'INVALID_CONFIG', `${err.stack}`);
  t.is(err.field, field, `${err.message}`);
  if (message !== undefined) t.regex(err.message, message);
  return err;
}

/** A seeded generator (mulberry32), so a randomized test's failure names a reproducible case. */
export function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
