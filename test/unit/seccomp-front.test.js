// The range front (lib/seccomp/front.ts, shrink.ts): the program berth-init
// installs must answer every syscall exactly as libseccomp's own program for
// the profile does (behind the ENOSYS prologue). Checked here with the test
// suite's own BPF interpreter (not the evaluator the front is built with), for
// every syscall number of every filtered architecture and for argument values
// drawn at random and from the rules; the kernel's answers are in
// test/integration/seccomp-*.test.js.
import test from 'ava';
import { resolveSeccomp } from '../../dist/lib/config/seccomp.js';
import { DEFAULT_CAPABILITIES } from '../../dist/lib/index.js';
import { compileSeccomp, referenceProgram } from '../../dist/lib/seccomp/compile.js';
import { REDUCED, rangeFront } from '../../dist/lib/seccomp/front.js';
import { evaluate } from '../../dist/lib/seccomp/bpf-eval.js';
import { runFilter, seccompData } from './bpf-interpreter.js';
import { prng } from './helpers.js';

const x64 = process.arch === 'x64' ? test : test.skip;
const AUDIT = { SCMP_ARCH_X86_64: 0xc000003e, SCMP_ARCH_X86: 0x40000003, SCMP_ARCH_X32: 0xc000003e, SCMP_ARCH_AARCH64: 0xc00000b7 };
const X32_BIT = 0x40000000;
const ALL_CAPS = ['CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_CHROOT', 'CAP_SYS_MODULE', 'CAP_SYS_PACCT', 'CAP_SYS_PTRACE', 'CAP_SYS_RAWIO', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_SYS_NICE', 'CAP_SYSLOG', 'CAP_SYS_RESOURCE', 'CAP_BPF', 'CAP_PERFMON', 'CAP_DAC_READ_SEARCH'];


/** Argument vectors: zeros, ones, the rules' own values (and ±1), and random ones. */
function argVectors(profile, rand, n) {
  const values = profile.syscalls.flatMap((r) => r.args.flatMap((a) => [BigInt(a.value), BigInt(a.valueTwo)]));
  const near = values.flatMap((v) => [v, v + 1n, v - 1n, v | 0xffffffff00000000n]);
  const out = [[], [~0n, ~0n, ~0n, ~0n, ~0n, ~0n]];
  for (let i = 0; i < 6; i++) for (const v of near) out.push(Object.assign(Array(6).fill(0n), { [i]: v }));
  const pick = () => (rand() < 0.5 && near.length ? near[Math.floor(rand() * near.length)] : BigInt(Math.floor(rand() * 2 ** 32)) << BigInt(rand() < 0.3 ? 32 : 0));
  for (let i = 0; i < n; i++) out.push(Array.from({ length: 6 }, pick));
  return out;
}

/** Compares the installed program with the reference for every number (and argument vectors where answers read them). */
async function assertSameAnswers(t, profile, { rand, vectors = 40 }) {
  const compiled = await compileSeccomp(profile, 'linux.seccomp');
  const ref = await referenceProgram(profile);
  const args = argVectors(profile, rand, vectors);
  let checked = 0;
  for (const { arch, highest } of ref.limits) {
    const lo = arch === 'SCMP_ARCH_X32' ? X32_BIT : 0;
    const nrs = [];
    for (let nr = lo; nr <= Math.max(highest, lo) + 8; nr++) nrs.push(nr);
    nrs.push(lo + 0x3ff, 0x7fffffff, 0xffffffff);
    for (const nr of nrs) {
      const audit = AUDIT[arch];
      const readsArgs = evaluate(ref.program, { nr, arch: audit }).readsArgs;
      for (const a of readsArgs ? args : args.slice(0, 2)) {
        const want = runFilter(ref.program, seccompData({ nr, arch: audit, args: a }));
        const got = runFilter(compiled.program, seccompData({ nr, arch: audit, args: a }));
        if (got !== want) {
          t.fail(`${arch} nr ${nr} args [${a.join(', ')}]: 0x${got.toString(16)}, libseccomp's program says 0x${want.toString(16)}`);
          return compiled;
        }
        checked++;
      }
    }
  }
  t.true(checked > 0);
  return compiled;
}

x64('the default profile: the range front, under half of libseccomp\'s length, the same answer for every syscall and argument', async (t) => {
  const rand = prng(1);
  for (const bounding of [DEFAULT_CAPABILITIES, ALL_CAPS, []]) {
    const profile = resolveSeccomp(undefined, 'linux.seccomp', { fromBundle: false, bounding });
    const c = await assertSameAnswers(t, profile, { rand, vectors: 200 });
    t.is(c.shape, 'ranges', `bounding ${bounding.length} caps`);
    t.true(c.instructions * 2 < c.referenceInstructions, `${c.instructions} instructions, libseccomp's ${c.referenceInstructions}`);
    t.log(`${bounding.length} capabilities: ${c.instructions} instructions (libseccomp: ${c.referenceInstructions})`);
  }
});

const NAMES = [
  'read', 'write', 'open', 'close', 'stat', 'fstat', 'mmap', 'mprotect', 'ioctl', 'getpid', 'getppid', 'clone', 'fork', 'execve', 'kill',
  'uname', 'fcntl', 'mkdir', 'rmdir', 'chmod', 'chown', 'ptrace', 'personality', 'mount', 'umount2', 'keyctl', 'bpf', 'unshare', 'setns',
  'socket', 'bind', 'connect', 'accept4', 'sendto', 'recvmsg', 'socketpair', 'setsockopt', 'socketcall', 'ipc', 'semop', 'shmat', 'msgget',
  'openat', 'openat2', 'clone3', 'io_uring_setup', 'futex', 'nanosleep', 'arch_prctl', 'modify_ldt', 'no_such_syscall',
];
const ACTIONS = ['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'];
const OPS = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'];

// Every name Docker's profile knows, and a few more: allowlists of real size.
const POOL = [...new Set([...NAMES, ...resolveSeccomp(undefined, 'linux.seccomp', { fromBundle: false, bounding: ALL_CAPS }).syscalls.flatMap((r) => r.names)])];

/**
 * A random valid profile (each name in at most one rule, so libseccomp takes
 * it): half of them allowlists of a few hundred names with a few rules on
 * arguments (what the front is for), the rest small mixed profiles.
 */
function randomProfile(rand) {
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const names = [...POOL].sort(() => rand() - 0.5);
  if (rand() < 0.5) {
    const allow = names.splice(0, Math.floor(names.length * (0.5 + rand() * 0.4)));
    const big = { defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', ...(rand() < 0.5 ? ['SCMP_ARCH_X32'] : [])], syscalls: [{ names: allow, action: 'SCMP_ACT_ALLOW' }] };
    for (let i = 0; i < 4; i++) {
      const op = pick(OPS);
      big.syscalls.push({ names: [names.pop()], action: pick(['SCMP_ACT_ALLOW', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_LOG']), args: [{ index: Math.floor(rand() * 6), op, value: Math.floor(rand() * 70000), valueTwo: op === 'SCMP_CMP_MASKED_EQ' ? 5 : 0 }] });
    }
    big.syscalls.push({ names: names.splice(0, 5), action: 'SCMP_ACT_ERRNO', errnoRet: 38 });
    return resolveSeccomp(big, 'linux.seccomp', { fromBundle: false, bounding: [] });
  }
  const defaultAction = pick(['SCMP_ACT_ERRNO', 'SCMP_ACT_ERRNO', 'SCMP_ACT_ALLOW', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_LOG']);
  const syscalls = [];
  let at = 0;
  const rules = 1 + Math.floor(rand() * 6);
  for (let i = 0; i < rules && at < names.length; i++) {
    let action = pick(ACTIONS);
    if (action === defaultAction) action = defaultAction === 'SCMP_ACT_ALLOW' ? 'SCMP_ACT_ERRNO' : 'SCMP_ACT_ALLOW';
    const withArgs = rand() < 0.35;
    const take = withArgs ? 1 + Math.floor(rand() * 2) : 1 + Math.floor(rand() * 14);
    const rule = { names: names.slice(at, at + take), action };
    at += take;
    if (action === 'SCMP_ACT_ERRNO' || action === 'SCMP_ACT_TRACE') rule.errnoRet = 1 + Math.floor(rand() * 100);
    if (withArgs) {
      const n = 1 + Math.floor(rand() * 2);
      const indexes = [0, 1, 2, 3, 4, 5].sort(() => rand() - 0.5).slice(0, n);
      rule.args = indexes.map((index) => {
        const op = pick(OPS);
        const value = rand() < 0.2 ? 2n ** 40n + BigInt(Math.floor(rand() * 1000)) : Math.floor(rand() * 70000);
        return { index, op, value, valueTwo: op === 'SCMP_CMP_MASKED_EQ' ? Math.floor(rand() * 256) : 0 };
      });
    }
    syscalls.push(rule);
  }
  const architectures = ['SCMP_ARCH_X86_64', ...(rand() < 0.6 ? ['SCMP_ARCH_X86'] : []), ...(rand() < 0.4 ? ['SCMP_ARCH_X32'] : [])];
  return resolveSeccomp({ defaultAction, ...(defaultAction === 'SCMP_ACT_ERRNO' ? { defaultErrnoRet: pick([1, 13, 38]) } : {}), architectures, syscalls }, 'linux.seccomp', { fromBundle: false, bounding: [] });
}

x64('random profiles: where the range front is used, it answers as libseccomp\'s program does', async (t) => {
  const rand = prng(7);
  const shapes = { ranges: 0, libseccomp: 0 };
  for (let i = 0; i < 60; i++) {
    const profile = randomProfile(rand);
    let c;
    try {
      c = await assertSameAnswers(t, profile, { rand, vectors: 60 });
    } catch (err) {
      // libseccomp refuses some random combinations (e.g. a rule equal to the default); berth reports those as ConfigErrors.
      t.is(err.name, 'ConfigError', `profile ${i}: ${err.message}`);
      continue;
    }
    shapes[c.shape]++;
  }
  t.log(`shapes: ${JSON.stringify(shapes)}`);
  t.true(shapes.ranges >= 20, 'the front is used for the allowlists');
});

/** The answer of a bare front: its own verdict, or REACHED when it hands over to the program after it. */
const REACHED = 0x00050000 | 123;
const tail = Buffer.from([0x06, 0, 0, 0, REACHED & 0xff, (REACHED >> 8) & 0xff, (REACHED >> 16) & 0xff, REACHED >>> 24]);

test('a front with more runs than a conditional jump reaches: every number gets its run\'s answer', (t) => {
  const runs = [];
  for (let i = 0; i < 300; i++) runs.push({ lo: i * 2, hi: i * 2 + 1, out: i % 7 === 3 ? REDUCED : (0x00050000 | (i % 5)) >>> 0 });
  const highest = runs[runs.length - 1].hi;
  for (const [n, shape] of [[300, 'long'], [40, 'shared']]) {
    const part = runs.slice(0, n);
    const top = part[part.length - 1].hi;
    const program = Buffer.concat([rangeFront([{ arch: 'SCMP_ARCH_X86_64', highest: top, runs: part }], true), tail]);
    for (const r of part) {
      for (const nr of [r.lo, r.hi]) t.is(runFilter(program, seccompData({ nr, arch: AUDIT.SCMP_ARCH_X86_64 })), r.out === REDUCED ? REACHED : r.out, `${shape}: nr ${nr}`);
    }
    t.is(runFilter(program, seccompData({ nr: top + 1, arch: AUDIT.SCMP_ARCH_X86_64 })), 0x00050000 | 38, `${shape}: above the highest: ENOSYS`);
    t.is(runFilter(program, seccompData({ nr: X32_BIT | 1, arch: AUDIT.SCMP_ARCH_X86_64 })), REACHED, `${shape}: x32 without x32 in the filter: libseccomp's program decides`);
    t.is(runFilter(program, seccompData({ nr: 1, arch: AUDIT.SCMP_ARCH_AARCH64 })), REACHED, `${shape}: another architecture: libseccomp's program decides`);
  }
  t.true(highest > 255);
});

test('the evaluator says when an answer read the arguments', (t) => {
  // ld [nr]; jeq 1 → ld [args[0]]; ret ALLOW | ret ERRNO
  const p = Buffer.alloc(5 * 8);
  const put = (i, code, jt, jf, k) => {
    p.writeUInt16LE(code, i * 8);
    p[i * 8 + 2] = jt;
    p[i * 8 + 3] = jf;
    p.writeUInt32LE(k >>> 0, i * 8 + 4);
  };
  put(0, 0x20, 0, 0, 0);
  put(1, 0x15, 0, 2, 1);
  put(2, 0x20, 0, 0, 16);
  put(3, 0x06, 0, 0, 0x7fff0000);
  put(4, 0x06, 0, 0, 0x00050001);
  t.deepEqual(evaluate(p, { nr: 1, arch: 0 }), { ret: 0x7fff0000, readsArgs: true });
  t.deepEqual(evaluate(p, { nr: 2, arch: 0 }), { ret: 0x00050001, readsArgs: false });
});

x64('the check that guards the front finds a wrong one: a reduced program without the socketcall family differs on i386 (where socketcall is not allowed outright)', async (t) => {
  const { native } = await import('../../dist/lib/native/addon.js');
  const { answerRuns } = await import('../../dist/lib/seccomp/front.js');
  const { firstDifference, reducedSpec } = await import('../../dist/lib/seccomp/shrink.js');
  // The default profile without socketcall itself: libseccomp then answers socketcall(2) by its first argument.
  const given = structuredClone(resolveSeccomp(undefined, 'linux.seccomp', { fromBundle: false, bounding: DEFAULT_CAPABILITIES }));
  for (const r of given.syscalls) r.names = r.names.filter((n) => n !== 'socketcall');
  const profile = resolveSeccomp({ ...given, syscalls: given.syscalls.filter((r) => r.names.length) }, 'linux.seccomp', { fromBundle: false, bounding: [] });
  t.is((await compileSeccomp(profile, 'linux.seccomp')).shape, 'ranges');
  const ref = await referenceProgram(profile);
  const front = rangeFront(ref.limits.map((a) => ({ ...a, runs: answerRuns(ref.out.program, a) })), true);
  const right = Buffer.concat([front, (await native.compileSeccomp(reducedSpec(ref.spec, { socketcall: true, ipc: true }))).program]);
  const wrong = Buffer.concat([front, (await native.compileSeccomp(reducedSpec(ref.spec, { socketcall: false, ipc: false }))).program]);
  t.is(await firstDifference(right, ref.program, ref.limits), null);
  const d = await firstDifference(wrong, ref.program, ref.limits);
  t.truthy(d, 'found');
  t.deepEqual([d?.arch, d?.nr], [AUDIT.SCMP_ARCH_X86, 102], 'socketcall(2), where libseccomp files bind, connect, … by their call number');
});
