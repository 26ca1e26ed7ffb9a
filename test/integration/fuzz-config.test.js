// A hostile caller's configs: a few hundred mutations of one valid config
// (fields dropped or replaced by wrong types, huge and negative numbers, empty
// strings, nested junk, BigInts, unknown namespace types, odd mount options,
// bad paths, ...) each given to run() with /bin/true. Allowed: success, or a
// ConfigError whose field names a path of the mutated config (or its parent).
// Anything else — a SetupError from a late kernel refusal, a TypeError, a hang —
// fails with the seed and the case. Then nothing may be left behind.
// Replay a run with BERTH_FUZZ_SEED=<seed> (BERTH_FUZZ_CASES=<n> and
// BERTH_FUZZ_BUDGET_MS=<ms> for longer sweeps).
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, run } from '../../dist/lib/index.js';
import { ROOTFS, assertNoLeaks, quiesce, settledSnapshot, stateRootFor } from './helpers.js';

const stateRoot = stateRootFor('fuzz');
const SEED = process.env.BERTH_FUZZ_SEED !== undefined ? Number(process.env.BERTH_FUZZ_SEED) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
const CASES = Number(process.env.BERTH_FUZZ_CASES ?? 400);
const CASE_TIMEOUT_MS = 30_000; // a shared 2-core machine: generous, a hang is minutes
const BUDGET_MS = Number(process.env.BERTH_FUZZ_BUDGET_MS ?? 45_000); // no new cases past this (the suite's budget is ~60 s)

// mulberry32: small, seedable, good enough to pick mutations.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const DEFAULT_NS = ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup'];

function baseConfig(id) {
  return {
    id,
    rootfs: ROOTFS,
    stateRoot,
    hostname: 'fuzz',
    domainname: 'example',
    process: {
      args: ['/bin/true', 'arg'],
      env: ['PATH=/bin:/usr/bin', 'A=1'],
      cwd: '/',
      user: { uid: 0, gid: 0, additionalGids: [1], umask: 18 },
      capabilities: {
        bounding: ['CAP_KILL', 'CAP_CHOWN', 'CAP_AUDIT_WRITE'],
        effective: ['CAP_KILL'],
        permitted: ['CAP_KILL', 'CAP_CHOWN'],
        inheritable: ['CAP_CHOWN'],
        ambient: [],
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 }, { type: 'RLIMIT_CORE', soft: 0, hard: 0 }],
      noNewPrivileges: true,
      oomScoreAdj: 10,
    },
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'size=1m', 'nr_inodes=1k', 'mode=1777'] },
    ],
    linux: {
      namespaces: DEFAULT_NS.map((type) => ({ type })),
      devices: [{ path: '/dev/fuzz-null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 }],
      maskedPaths: ['/proc/kcore', '/proc/keys'],
      readonlyPaths: ['/proc/sys', '/proc/bus'],
      sysctl: { 'net.ipv4.ip_forward': '0' },
      resources: { pids: { limit: 64 }, cpu: { shares: 512 } },
    },
    annotations: { 'org.example/fuzz': 'yes' },
  };
}

// --- values a hostile caller sends ---

function cyclic() {
  const o = { a: {} };
  o.a.back = o;
  return o;
}

// Wrong wherever they land (every field that takes a string takes a non-empty
// one, and no field takes these numbers' forms or these objects).
const JUNK = [
  () => -1, () => -(2 ** 63), () => 1.5, () => 2 ** 65, () => 1e308, () => true, () => null,
  () => '', () => 'a\0b', () => `/${'../'.repeat(8)}etc`, () => 'x'.repeat(5000), () => '\u{1F600}'.repeat(70000),
  () => [], () => ({}), () => [[[]]], () => ({ a: { b: [1, { c: null }] } }), () => [null, 7, 'x', {}],
  () => 10n, () => -(2n ** 70n), () => NaN, () => Infinity, () => -Infinity, () => () => 'fn', () => Symbol('s'),
  () => new Date(0), () => new Map([['k', 'v']]), () => Buffer.from('buf'), cyclic,
];
const HUGE = [() => 2 ** 53, () => 2 ** 64, () => Number.MAX_SAFE_INTEGER, () => 2 ** 32, () => 2 ** 31];
const ODD_KEYS = ['bogus', '__proto__', 'toString', 'constructor', '', 'a.b', 'x'.repeat(300)];

// Targeted mutations: [description, apply(config, rnd)].
const pick = (rnd, list) => list[Math.floor(rnd() * list.length)];
const TARGETED = [
  ['unknown namespace type', (c, r) => c.linux.namespaces.push({ type: pick(r, ['bogus', 'user', 'toString', '__proto__', 'NETWORK', 'net']) })],
  ['namespace path that is no namespace of its type', (c, r) => {
    c.linux.namespaces.find((n) => n.type === 'network').path = pick(r, ['/etc/hostname', '/proc/self/ns/uts', '/dev/null', '/nonexistent/ns', '/proc/self', 'relative/ns', '/proc/self/ns/../ns/mnt']);
  }],
  ['no mount namespace', (c) => { c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'mount'); }],
  ['duplicate namespace', (c) => c.linux.namespaces.push({ type: 'ipc' })],
  ['odd tmpfs option', (c, r) => c.mounts[5].options.push(pick(r, ['size=-1', 'size=', 'size', 'size=1.5G', 'size=0x', 'nr_inodes=1x', 'nr_blocks=-3', 'mode=999', 'mode=', 'uid=abc', 'uid=-1', 'uid=4294967295', 'gid=4294967296', 'inode64=1', 'bind', 'rbind', 'toString', 'defaults', 'ro', 'private', '=x', ''].map(String)))],
  ['odd devpts option', (c, r) => c.mounts[2].options.push(pick(r, ['max=-1', 'max=2000000', 'ptmxmode=0888', 'newinstance=1', 'bogus', 'uid=x', 'mode=8']))],
  ['odd mqueue or sysfs option', (c, r) => c.mounts[pick(r, [3, 4])].options.push(pick(r, ['size=1', 'bogus', 'mode=0755', 'source=x']))],
  ['odd proc option', (c, r) => c.mounts[0].options.push(pick(r, ['hidepid=3', 'hidepid=', 'subset=sys', 'subset=', 'gid=x', 'gid=-1']))],
  ['mount data over a page', (c) => c.mounts[5].options.push(...Array.from({ length: 400 }, () => 'mode=1777'))],
  ['mount destination that escapes', (c, r) => { c.mounts[5].destination = pick(r, ['/../../tmp', '/tmp/../../..', 'tmp', '', `/${'d'.repeat(300)}`]); }],
  ['bind mount with a bad source', (c, r) => c.mounts.push({ destination: '/mnt-fuzz', type: 'bind', source: pick(r, ['', '/nonexistent/src', 'relative']), options: ['rbind'] })],
  ['empty filesystem type', (c) => { c.mounts[5].type = ''; }],
  ['device path outside /dev', (c, r) => { c.linux.devices[0].path = pick(r, ['/dev/../../tmp/fuzz-x', '/dev/../etc/fuzz', '/dev/', '/dev', '', 'dev/x', `/dev/${'x'.repeat(256)}`, '/tmp/x']); }],
  ['device over a mount point', (c, r) => { c.linux.devices[0].path = pick(r, ['/dev/pts', '/dev/mqueue']); }],
  ['masked or readonly path that escapes', (c, r) => { c.linux[pick(r, ['maskedPaths', 'readonlyPaths'])].push(pick(r, ['/proc/../../etc', '/../x', 'rel', ''])); }],
  ['cwd that escapes', (c, r) => { c.process.cwd = pick(r, ['/../tmp', '', 'tmp', `/${'é'.repeat(2100)}`]); }],
  ['empty rootfs', (c) => { c.rootfs = ''; }],
  ['huge environment variable', (c) => c.process.env.push(`BIG=${'x'.repeat(200 * 1024)}`)],
  ['huge argument', (c) => c.process.args.push('y'.repeat(131072))],
  ['args and env over the stack limit', (c) => c.process.env.push(...Array.from({ length: 25 }, (_, i) => `V${i}=${'v'.repeat(100 * 1024)}`))],
  ['env entry that is not KEY=VALUE', (c, r) => c.process.env.push(pick(r, ['NOEQUALS', '=x', '']))],
  ['RLIMIT_NOFILE above nr_open', (c, r) => { c.process.rlimits[0].hard = pick(r, [2 ** 53 - 1, 2 ** 53, 2 ** 64, 2_000_000]); }],
  ['rlimit of an unknown type', (c, r) => { c.process.rlimits[1].type = pick(r, ['RLIMIT_BOGUS', 'toString', '__proto__', 'rlimit_core']); }],
  ['inheritable outside bounding', (c) => c.process.capabilities.inheritable.push('CAP_SYS_ADMIN')],
  ['effective outside permitted', (c) => c.process.capabilities.effective.push('CAP_AUDIT_WRITE')],
  ['unknown capability', (c, r) => c.process.capabilities[pick(r, ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'])].push(pick(r, ['CAP_BOGUS', 'toString', '', 'cap_']))],
  ['BigInt resource', (c, r) => { c.linux.resources[pick(r, ['pids', 'memory'])] = { limit: pick(r, [10n, 2n ** 64n]) }; }],
  ['unsupported feature', (c, r) => { const [k, v] = pick(r, [['seccomp', { defaultAction: 'SCMP_ACT_ERRNO' }], ['uidMappings', [{ containerID: 0, hostID: 1000, size: 1 }]]]); c.linux[k] = v; }],
  ['long domainname', (c) => { c.domainname = 'd'.repeat(65); }],
  ['too many groups', (c) => { c.process.user.additionalGids = Array.from({ length: 65537 }, (_, i) => i); }],
];

// Fields whose values only the running system can judge, where a well-formed
// but unlucky value fails late by design (or where it would do something the
// test must not: rootfs/stateRoot/id strings point at real paths and names).
// Generic junk still reaches them; targeted mutations cover their bad forms.
const KERNEL_JUDGED = [
  /^process\.args\[0\]$/, // which executables exist: EXECUTABLE_NOT_FOUND at exec
  /^process\.rlimits\[\d+\]\.(soft|hard)$/, // small limits are legal; berth's own setup needs fds after prlimit (see report)
  /^process\.oomScoreAdj$/, // lowering it needs CAP_SYS_RESOURCE or a low oom_score_adj_min, which /proc does not show
  /^linux\.sysctl[.[]/, // a sysctl's value syntax is the sysctl's
  /^linux\.resources\./, // a 1-byte memory limit is legal and kills the container
];
const isJudged = (p) => KERNEL_JUDGED.some((re) => re.test(p));
/** Values that are well-formed at a kernel-judged path (so only the kernel can refuse them). */
const wellFormed = (v) => typeof v === 'string' || typeof v === 'number';

// --- paths of a config, in the library's spelling ---

const IDENT = /^[A-Za-z_$][\w$]*$/;
function childPaths(parent, key) {
  if (typeof key === 'number') return [`${parent}[${key}]`];
  const dotted = parent === '' ? key : `${parent}.${key}`;
  return IDENT.test(key) ? [dotted] : [`${parent}[${JSON.stringify(key)}]`, dotted];
}

/** Every path of `v` (both spellings of odd keys), for judging an error's field. */
function allPaths(v, at = '', out = new Set(['$']), seen = new Set()) {
  if (typeof v !== 'object' || v === null || seen.has(v)) return out;
  seen.add(v);
  const entries = Array.isArray(v) ? v.map((x, i) => [i, x]) : (v instanceof Map ? [] : Object.keys(v).map((k) => [k, v[k]]));
  for (const [k, x] of entries) {
    for (const p of childPaths(at, k)) {
      out.add(p);
      allPaths(x, p, out, seen);
    }
  }
  return out;
}

function parentOf(field) {
  const m = /^(.*?)(\.[^.[\]]+|\[(\d+|"(?:[^"\\]|\\.)*")\])$/.exec(field);
  if (m) return m[1] === '' ? '$' : m[1];
  return field === '$' ? null : '$'; // a top-level field's parent is the config itself
}

/** Container nodes (objects/arrays) and leaves with their path and parent, for a random pick. */
function nodes(v, at = '', out = [], seen = new Set()) {
  if (typeof v !== 'object' || v === null || seen.has(v) || Buffer.isBuffer(v)) return out;
  seen.add(v);
  const entries = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.keys(v).map((k) => [k, v[k]]);
  for (const [k, x] of entries) {
    const p = childPaths(at, k)[0];
    out.push({ parent: v, key: k, path: p, value: x });
    nodes(x, p, out, seen);
  }
  return out;
}

function describe(v) {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'function') return '<function>';
  if (typeof v === 'symbol') return String(v);
  if (v instanceof Map) return '<Map>';
  if (Buffer.isBuffer(v)) return '<Buffer>';
  if (typeof v === 'string' && v.length > 60) return `"${v.slice(0, 20)}…" (${v.length} chars)`;
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 80)}…` : s;
  } catch {
    return '<cyclic>';
  }
}

function mutate(config, rnd) {
  const steps = [];
  const roll0 = rnd();
  const count = roll0 < 0.5 ? 1 : roll0 < 0.8 ? 2 : 3;
  for (let n = 0, tries = 0; n < count && tries < 100; n++, tries++) {
    const roll = rnd();
    if (roll < 0.35) {
      const [what, apply] = pick(rnd, TARGETED);
      try {
        apply(config, rnd);
        steps.push(what);
      } catch {
        // an earlier step took away what this one changes
      }
      continue;
    }
    const all = nodes(config).filter((x) => x.path !== 'id' && x.path !== 'stateRoot');
    if (all.length === 0) break;
    const target = pick(rnd, all);
    if (roll < 0.5) {
      // Dropping an argument moves another into args[0], which only the rootfs can judge.
      if (/^process\.args\[\d+\]$/.test(target.path)) {
        n--;
        continue;
      }
      if (Array.isArray(target.parent)) target.parent.splice(target.key, 1);
      else delete target.parent[target.key];
      steps.push(`drop ${target.path}`);
    } else if (roll < 0.85) {
      const value = (rnd() < 0.8 ? pick(rnd, JUNK) : pick(rnd, HUGE))();
      if (isJudged(target.path) && wellFormed(value)) {
        n--; // a well-formed value where only the kernel can judge it: pick again
        continue;
      }
      target.parent[target.key] = value;
      steps.push(`set ${target.path} = ${describe(value)}`);
    } else {
      const objects = nodes(config).filter((x) => typeof x.value === 'object' && x.value !== null && !Array.isArray(x.value) && !(x.value instanceof Map) && !Buffer.isBuffer(x.value) && !isJudged(`${x.path}.x`));
      if (objects.length === 0) continue;
      const holder = pick(rnd, objects);
      const key = pick(rnd, ODD_KEYS);
      const value = pick(rnd, JUNK)();
      Object.defineProperty(holder.value, key, { value, enumerable: true, writable: true, configurable: true });
      steps.push(`add ${holder.path}[${JSON.stringify(key.slice(0, 20))}] = ${describe(value)}`);
    }
  }
  return steps;
}

function withTimeout(promise, ms) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer after ${ms} ms (hang)`)), ms);
    }),
  ]);
}

function cgroupRoots() {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n')
    .map((l) => l.split(' - '))
    .filter(([, tail]) => /^cgroup2? /.test(tail ?? ''))
    .map(([head]) => head.split(' ')[4]);
}

test.serial('a few hundred mutated configs: success or a ConfigError naming a field of the config, and nothing left behind', async (t) => {
  t.timeout(BUDGET_MS + 5 * 60_000);
  console.log(`fuzz-config: seed ${SEED} (replay with BERTH_FUZZ_SEED=${SEED})`);
  t.log(`seed ${SEED}`);
  await quiesce();
  const before = await settledSnapshot(stateRoot);
  const mountsBefore = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  const rootfsBefore = fs.readdirSync(ROOTFS).sort();
  const rnd = prng(SEED);
  const failures = [];
  const tally = { ok: 0, config: 0 };
  const ids = [];
  const started = Date.now();
  let i = 0;
  for (; i < CASES && Date.now() - started < BUDGET_MS; i++) {
    const id = `fuzz-${process.pid}-${i}`;
    ids.push(id);
    const config = baseConfig(id);
    const steps = mutate(config, rnd);
    const fields = allPaths(config);
    const report = (what) => failures.push(`case ${i} (seed ${SEED}): ${steps.join('; ')}\n    -> ${what}`);
    try {
      await withTimeout(run(config), CASE_TIMEOUT_MS);
      tally.ok++;
    } catch (err) {
      if (!(err instanceof ConfigError)) {
        report(`${err?.constructor?.name}: ${err?.message}${err?.step ? ` [step ${err.step}, ${err.errno}]` : ''}`);
      } else if (!fields.has(err.field) && !fields.has(parentOf(err.field))) {
        report(`ConfigError names ${err.field}, which is not in the config: ${err.message}`);
      } else {
        tally.config++;
      }
    }
  }
  t.log(`${i} cases in ${Date.now() - started} ms: ${tally.ok} ran, ${tally.config} refused`);
  t.deepEqual(failures, [], `seed ${SEED}:\n${failures.join('\n')}`);
  t.true(tally.ok > 0 && tally.config > 0, 'both outcomes occur');

  // Residue: state dirs, mounts, fds, processes (assertNoLeaks), the rootfs, and cgroups of these ids.
  await assertNoLeaks(t, before, stateRoot);
  t.is(fs.readFileSync('/proc/self/mountinfo', 'utf8'), mountsBefore, 'mount table');
  t.deepEqual(fs.readdirSync(ROOTFS).sort(), rootfsBefore, 'rootfs entries');
  const left = [];
  for (const root of cgroupRoots()) for (const id of ids) if (fs.existsSync(path.join(root, 'berth', id))) left.push(path.join(root, 'berth', id));
  t.deepEqual(left, [], 'cgroups of the fuzz containers');
});

test.after.always(() => {
  // A bind mount case makes its mount point in the rootfs (as any mount would).
  fs.rmSync(path.join(ROOTFS, 'mnt-fuzz'), { recursive: true, force: true });
});
