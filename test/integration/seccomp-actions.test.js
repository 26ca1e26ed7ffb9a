// A caller's own linux.seccomp, checked by the kernel from inside a container:
// every action, every argument operator, architectures (other syscall tables
// filtered by their own numbers, or refused), flags, and bad profiles refused
// before anything exists. The probe runs as the container's process itself:
// a shell would make syscalls of its own that the test profiles aim at.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { ConfigError, createContainer, run } from '../../dist/lib/index.js';
import { assertNoLeaks, settledSnapshot, stateEntries, stateRootFor } from './helpers.js';
import { probeRootfs, probeSkips, results, when } from './seccomp-probe.js';

const stateRoot = stateRootFor('seccomp-actions');
const { EPERM, ENOSYS } = os.constants.errno;
const probe = probeRootfs();
test.after.always(() => probe.remove?.());

const { noProbe, noInt80 } = probeSkips(probe);
const noX86 = process.arch === 'x64' ? undefined : 'the i386/x32 tables are x86_64 only';

/** Runs the probe (calls separated by '--') as the container's process under `seccomp`. */
function probeUnder(seccomp, ...calls) {
  const args = ['/probe', ...calls.flatMap((c, i) => (i ? ['--', ...c] : c))];
  return run({ rootfs: probe.rootfs, stateRoot, linux: { seccomp }, process: { args } });
}

const allowBut = (syscalls, extra = {}) => ({ defaultAction: 'SCMP_ACT_ALLOW', ...extra, syscalls });

// One profile for every action, each on a syscall nothing but the probe makes.
const ACTIONS = allowBut([
  { names: ['getppid'], action: 'SCMP_ACT_ERRNO', errnoRet: 42 },
  { names: ['getpid'], action: 'SCMP_ACT_ERRNO' },
  { names: ['getuid'], action: 'SCMP_ACT_KILL_PROCESS' },
  { names: ['getgid'], action: 'SCMP_ACT_TRAP' },
  { names: ['geteuid'], action: 'SCMP_ACT_LOG' },
  { names: ['getegid'], action: 'SCMP_ACT_TRACE' },
  { names: ['gettid'], action: 'SCMP_ACT_KILL_THREAD' },
  { names: ['getpgrp'], action: 'SCMP_ACT_KILL' },
  { names: ['sched_yield'], action: 'SCMP_ACT_ALLOW' },
]);

when(noProbe, 'SCMP_ACT_ERRNO returns the errno it names (EPERM when it names none); SCMP_ACT_ALLOW lets the call through', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const r = await probeUnder(ACTIONS, ['sys', 'getppid'], ['sys', 'getpid'], ['sys', 'sched_yield']);
  t.deepEqual(results(r.stdout), [{ errno: 42 }, { errno: EPERM }, { ok: 0 }]);
  await assertNoLeaks(t, before, stateRoot);
});

when(noProbe, 'SCMP_ACT_ALLOW opens a syscall the deny-by-default profile refuses', async (t) => {
  const c = await createContainer({ rootfs: probe.rootfs, stateRoot, process: { args: ['true'] } });
  await c.destroy();
  const profile = c.config.seccomp;
  const withKeyctl = { ...profile, syscalls: [...profile.syscalls, { names: ['keyctl'], action: 'SCMP_ACT_ALLOW' }] };
  t.deepEqual(results((await probeUnder(profile, ['sys', 'keyctl', '0', '-3', '0'])).stdout), [{ errno: EPERM }]);
  t.notDeepEqual(results((await probeUnder(withKeyctl, ['sys', 'keyctl', '0', '-3', '0'])).stdout), [{ errno: EPERM }]);
});

when(noProbe, 'SCMP_ACT_KILL_PROCESS kills the process (from any thread), SCMP_ACT_KILL and KILL_THREAD only the calling thread', async (t) => {
  const killed = await probeUnder(ACTIONS, ['sys', 'getuid']);
  t.is(killed.signal, 'SIGSYS');
  t.is(killed.stdout.toString(), '');
  const fromThread = await probeUnder(ACTIONS, ['thread', 'getuid']);
  t.is(fromThread.signal, 'SIGSYS', 'the whole process, though a second thread made the call');
  t.is(fromThread.stdout.toString(), '');
  const thread = await probeUnder(ACTIONS, ['thread', 'gettid']);
  t.is(thread.exitCode, 0);
  t.is(thread.stdout.toString(), 'main alive\n', 'the calling thread died before it could print; the main thread went on');
  const kill = await probeUnder(ACTIONS, ['thread', 'getpgrp']);
  t.is(kill.stdout.toString(), 'main alive\n', 'SCMP_ACT_KILL is KILL_THREAD');
  t.is((await probeUnder(ACTIONS, ['sys', 'getpgrp'])).signal, 'SIGSYS', 'the only thread: the process ends with it');
});

when(noProbe, 'SCMP_ACT_TRAP raises SIGSYS, naming the syscall and the arch', async (t) => {
  const r = await probeUnder(ACTIONS, ['trap', 'getgid']);
  t.is(r.exitCode, 0);
  t.is(r.stdout.toString(), `sigsys syscall=104 arch=0x${(0xc000003e).toString(16)}\n`);
});

when(noProbe, 'SCMP_ACT_TRACE without a tracer fails the call with ENOSYS', async (t) => {
  t.deepEqual(results((await probeUnder(ACTIONS, ['sys', 'getegid'])).stdout), [{ errno: ENOSYS }]);
});

/** The kernel log's audit lines (type=1326: AUDIT_SECCOMP) for a host pid, or null if the log is not readable. */
async function auditLines(pid) {
  for (let i = 0; i < 40; i++) {
    let log;
    try {
      log = execFileSync('dmesg', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      return null;
    }
    const lines = log.split('\n').filter((l) => l.includes('type=1326') && l.includes(` pid=${pid} `));
    if (lines.length) return lines;
    await new Promise((r) => setTimeout(r, 50));
  }
  return [];
}

async function probeAsInit(seccomp, args) {
  const c = await createContainer({ rootfs: probe.rootfs, stateRoot, linux: { seccomp }, process: { args: ['/probe', ...args] } });
  try {
    const p = await c.start();
    const chunks = [];
    p.stdout.on('data', (d) => chunks.push(d));
    await Promise.all([p.wait(), new Promise((r) => p.stdout.on('close', r))]);
    return { pid: c.pid, out: Buffer.concat(chunks).toString() };
  } finally {
    await c.destroy();
  }
}

when(noProbe, 'SCMP_ACT_LOG lets the call through and logs it; SECCOMP_FILTER_FLAG_LOG logs the other actions too', async (t) => {
  const logged = await probeAsInit(ACTIONS, ['sys', 'geteuid']);
  t.is(logged.out, 'ok 0\n');
  const lines = await auditLines(logged.pid);
  if (lines === null) return t.log('the kernel log is not readable here (dmesg failed): the audit line could not be checked');
  const actionsLogged = fs.readFileSync('/proc/sys/kernel/seccomp/actions_logged', 'utf8');
  if (lines.length === 0 && !/\blog\b/.test(actionsLogged)) return t.log(`this kernel does not log SCMP_ACT_LOG (actions_logged: ${actionsLogged.trim()})`);
  t.true(lines.some((l) => / syscall=107 /.test(l) && /code=0x7ffc0000/.test(l)), `audit lines for pid ${logged.pid}: ${lines.join(' | ') || 'none'}`);
  const errnoProfile = allowBut([{ names: ['getppid'], action: 'SCMP_ACT_ERRNO', errnoRet: 42 }]);
  const quiet = await probeAsInit(errnoProfile, ['sys', 'getppid']);
  t.is(quiet.out, 'err 42\n');
  t.deepEqual(await auditLines(quiet.pid), [], 'an ERRNO without the flag is not logged');
  const loud = await probeAsInit({ ...errnoProfile, flags: ['SECCOMP_FILTER_FLAG_LOG'] }, ['sys', 'getppid']);
  t.is(loud.out, 'err 42\n');
  // The audit line names the action, not its data (errno 42).
  t.true((await auditLines(loud.pid)).some((l) => / syscall=110 /.test(l) && /code=0x50000\b/.test(l)), 'the ERRNO logged');
});

when(noProbe, 'SECCOMP_FILTER_FLAG_SPEC_ALLOW and TSYNC are accepted; WAIT_KILLABLE_RECV too (it only matters with a notify listener)', async (t) => {
  const flags = ['SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'];
  const r = await run({ rootfs: probe.rootfs, stateRoot, linux: { seccomp: allowBut([], { flags }) }, process: { args: ['grep', '-E', '^(Seccomp|Speculation_Store_Bypass):', '/proc/self/status'] } });
  t.is(r.exitCode, 0, r.stderr.toString());
  t.regex(r.stdout.toString(), /^Seccomp:\t2$/m);
  t.log(r.stdout.toString().trim().replace(/\n/g, ' · '));
});

// arg0 against 5 (MASKED_EQ: arg0 & 0xf0 == 0x50); each operator on its own syscall, each with its own errno.
const OPS = [
  ['getppid', 'SCMP_CMP_EQ'],
  ['getpid', 'SCMP_CMP_NE'],
  ['getuid', 'SCMP_CMP_LT'],
  ['getgid', 'SCMP_CMP_LE'],
  ['geteuid', 'SCMP_CMP_GT'],
  ['getegid', 'SCMP_CMP_GE'],
];

when(noProbe, 'every argument operator: EQ, NE, LT, LE, GT, GE and MASKED_EQ, on 64-bit values', async (t) => {
  const syscalls = OPS.map(([name, op], i) => ({ names: [name], action: 'SCMP_ACT_ERRNO', errnoRet: 100 + i, args: [{ index: 0, value: 5, op }] }));
  syscalls.push({ names: ['gettid'], action: 'SCMP_ACT_ERRNO', errnoRet: 110, args: [{ index: 0, value: 0xf0, valueTwo: 0x50, op: 'SCMP_CMP_MASKED_EQ' }] });
  // The upper 32 bits count: 2^40 + 5 is not 5. A BigInt says a value JSON could not.
  syscalls.push({ names: ['getpgrp'], action: 'SCMP_ACT_ERRNO', errnoRet: 111, args: [{ index: 0, value: 2n ** 40n + 5n, op: 'SCMP_CMP_EQ' }] });
  // Several args in one rule: all of them must match.
  syscalls.push({ names: ['sched_yield'], action: 'SCMP_ACT_ERRNO', errnoRet: 112, args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }, { index: 3, value: 2, op: 'SCMP_CMP_EQ' }] });
  const calls = [];
  for (const [name] of OPS) for (const v of ['4', '5', '6']) calls.push(['sys', name, v]);
  for (const v of ['0x5a', '0x6a', '0x50', '0x150']) calls.push(['sys', 'gettid', v]);
  for (const v of ['5', String(2 ** 40 + 5)]) calls.push(['sys', 'getpgrp', v]);
  calls.push(['sys', 'sched_yield', '1', '0', '0', '2'], ['sys', 'sched_yield', '1', '0', '0', '3'], ['sys', 'sched_yield', '0', '0', '0', '2']);
  const r = await probeUnder(allowBut(syscalls), ...calls);
  t.is(r.exitCode, 0, r.stderr.toString());
  const hit = results(r.stdout).map((x) => x.errno ?? 0);
  const m = (e, ...matches) => matches.map((yes) => (yes ? e : 0));
  t.deepEqual(hit, [
    ...m(100, false, true, false), // EQ 5
    ...m(101, true, false, true), // NE 5
    ...m(102, true, false, false), // LT 5
    ...m(103, true, true, false), // LE 5
    ...m(104, false, false, true), // GT 5
    ...m(105, false, true, true), // GE 5
    ...m(110, true, false, true, true), // & 0xf0 == 0x50
    ...m(111, false, true), // EQ 2^40 + 5
    ...m(112, true, false, false), // arg0 == 1 && arg3 == 2
  ]);
});

when(noProbe, 'names this kernel or libseccomp does not know are skipped, as runc and crun do', async (t) => {
  const r = await probeUnder(allowBut([{ names: ['no_such_syscall', 'getppid', 'arm_sync_file_range'], action: 'SCMP_ACT_ERRNO', errnoRet: 77 }]), ['sys', 'getppid']);
  t.deepEqual(results(r.stdout), [{ errno: 77 }]);
});

when(noInt80, 'architectures: a listed one is filtered through its own numbers; one not listed is refused (the process is killed)', async (t) => {
  const rules = [{ names: ['keyctl'], action: 'SCMP_ACT_ERRNO', errnoRet: 55 }];
  // i386: keyctl is 288 there, 250 on x86_64; getpid 20.
  const listed = await probeUnder(allowBut(rules, { architectures: ['SCMP_ARCH_X86'] }), ['i386', '288', '0', '-3', '0'], ['i386', '20'], ['sys', 'keyctl', '0', '-3', '0']);
  const [viaInt80, getpid, native] = results(listed.stdout);
  t.deepEqual(viaInt80, { errno: 55 }, 'keyctl through int 0x80, by its i386 number');
  t.true(getpid.ok > 0, JSON.stringify(getpid));
  t.deepEqual(native, { errno: 55 });
  const unlisted = await probeUnder(allowBut(rules), ['i386', '20']);
  t.is(unlisted.signal, 'SIGSYS', 'an i386 call under a native-only profile');
});

when(noProbe ?? noX86, 'architectures: x32 numbers are refused unless SCMP_ARCH_X32 is listed, then filtered by their own rules', async (t) => {
  const rules = [{ names: ['getpid'], action: 'SCMP_ACT_ERRNO', errnoRet: 66 }];
  const unlisted = await probeUnder(allowBut(rules), ['x32', '39']);
  t.is(unlisted.signal, 'SIGSYS', 'x32 getpid under a native-only profile');
  const listed = await probeUnder(allowBut(rules, { architectures: ['SCMP_ARCH_X32'] }), ['x32', '39'], ['x32', '110']);
  // The x32 getpid meets its rule; x32 getppid passes the filter and reaches a
  // kernel that may lack the x32 ABI (ENOSYS) or run it (a pid).
  const [getpid, getppid] = results(listed.stdout);
  t.deepEqual(getpid, { errno: 66 });
  t.true(getppid.errno === ENOSYS || getppid.ok >= 0, JSON.stringify(getppid));
});

// Bad profiles: a ConfigError naming the JSON path, and nothing on the system.
const BAD = [
  [{ defaultAction: 'SCMP_ACT_MAYBE' }, 'linux.seccomp.defaultAction'],
  [allowBut([{ names: ['getppid'], action: 'SCMP_ACT_ALLOW' }, {}, {}, { names: ['getpid'], action: 'SCMP_ACT_NOPE' }]), 'linux.seccomp.syscalls[1].names'],
  [allowBut([{ names: ['getppid'], action: 'SCMP_ACT_ALLOW' }, { names: ['a'], action: 'SCMP_ACT_ALLOW' }, { names: ['b'], action: 'SCMP_ACT_LOG' }, { names: ['getpid'], action: 'SCMP_ACT_NOPE' }]), 'linux.seccomp.syscalls[3].action'],
  [allowBut([{ names: [], action: 'SCMP_ACT_ERRNO' }]), 'linux.seccomp.syscalls[0].names'],
  [allowBut([{ names: ['getppid'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }]), 'linux.seccomp.syscalls[0].args[0].index'],
  [allowBut([{ names: ['getppid'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_ALMOST' }] }]), 'linux.seccomp.syscalls[0].args[0].op'],
  [allowBut([], { architectures: ['SCMP_ARCH_Z80'] }), 'linux.seccomp.architectures[0]'],
  [allowBut([], { flags: ['SECCOMP_FILTER_FLAG_FAST'] }), 'linux.seccomp.flags[0]'],
  [{ defaultAction: 'SCMP_ACT_NOTIFY' }, 'linux.seccomp.defaultAction'],
  [allowBut([{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }]), 'linux.seccomp.syscalls[0].action'],
];

test.serial('a bad profile is a ConfigError naming the field, and nothing is created', async (t) => {
  const before = await settledSnapshot(stateRoot);
  for (const [seccomp, field] of BAD) {
    const err = await t.throwsAsync(createContainer({ rootfs: probe.rootfs ?? '/', stateRoot, linux: { seccomp }, process: { args: ['true'] } }), { instanceOf: ConfigError });
    t.is(err?.field, field, err?.message);
  }
  const notify = await t.throwsAsync(createContainer({ rootfs: probe.rootfs ?? '/', stateRoot, linux: { seccomp: { defaultAction: 'SCMP_ACT_NOTIFY' } }, process: { args: ['true'] } }));
  t.regex(notify.message, /cannot be the default action/);
  const unanswered = await t.throwsAsync(createContainer({ rootfs: probe.rootfs ?? '/', stateRoot, linux: { seccomp: allowBut([{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }]) }, process: { args: ['true'] } }));
  t.regex(unanswered.message, /needs someone to answer/);
  t.deepEqual(stateEntries(stateRoot), before.state);
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('a profile of 10,000 rules that would compile past BPF_MAXINSNS is refused at once, before anything exists', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const syscalls = Array.from({ length: 10_000 }, (_, i) => ({ names: ['personality'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: i, op: 'SCMP_CMP_EQ' }] }));
  const t0 = Date.now();
  const err = await t.throwsAsync(createContainer({ rootfs: probe.rootfs ?? '/', stateRoot, linux: { seccomp: allowBut(syscalls) }, process: { args: ['true'] } }), { instanceOf: ConfigError });
  t.is(err?.field, 'linux.seccomp.syscalls');
  t.regex(err?.message ?? '', /BPF_MAXINSNS|4096/);
  t.true(Date.now() - t0 < 10_000, `refused in ${Date.now() - t0} ms (libseccomp alone would take a minute)`);
  await assertNoLeaks(t, before, stateRoot);
});
