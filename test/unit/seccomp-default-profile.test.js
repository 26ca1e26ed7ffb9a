// berth's default profile (lib/seccomp/default-profile.ts): Docker's default
// resolved for the bounding set, architecture and kernel; when it applies
// (lib/config/seccomp.ts); and, compiled by libseccomp through the addon, what
// the program answers (a BPF interpreter runs the bytes berth-init installs).
import test from 'ava';
import { resolveSeccomp } from '../../dist/lib/config/seccomp.js';
import { DEFAULT_CAPABILITIES } from '../../dist/lib/index.js';
import { compileSeccomp } from '../../dist/lib/seccomp/compile.js';
import { defaultProfile } from '../../dist/lib/seccomp/default-profile.js';
import { runFilter, seccompData } from './bpf-interpreter.js';

const on = (extra = {}) => ({ bounding: DEFAULT_CAPABILITIES, arch: 'SCMP_ARCH_X86_64', kernel: [6, 1], ...extra });
const allowed = (p) => new Set(p.syscalls.filter((r) => r.action === 'SCMP_ACT_ALLOW' && r.args.length === 0).flatMap((r) => r.names));
const rulesFor = (p, name) => p.syscalls.filter((r) => r.names.includes(name));

test('an allowlist answering EPERM to the rest, with the i386 and x32 tables of x86_64 filtered too', (t) => {
  const p = defaultProfile(on());
  t.is(p.defaultAction, 'SCMP_ACT_ERRNO');
  t.is(p.defaultErrnoRet, 1);
  t.deepEqual(p.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  const ok = allowed(p);
  for (const name of ['read', 'write', 'execve', 'futex', 'arch_prctl', 'modify_ldt', 'socketcall', 'ptrace']) t.true(ok.has(name), name);
  for (const name of ['keyctl', 'add_key', 'mount', 'unshare', 'setns', 'bpf', 'userfaultfd', 'io_uring_setup', 'io_uring_enter', 'kexec_load', 'open_by_handle_at', 'perf_event_open', 'reboot', 'chroot', 'cacheflush', 'riscv_flush_icache']) {
    t.false(ok.has(name), name);
  }
  t.true(Object.isFrozen(p) && Object.isFrozen(p.syscalls[0].names), 'frozen all the way down');
});

test('without CAP_SYS_ADMIN: clone only without namespace flags, clone3 ENOSYS (so libc falls back to clone)', (t) => {
  const p = defaultProfile(on());
  const clone = rulesFor(p, 'clone');
  t.is(clone.length, 1);
  t.deepEqual(clone[0].args, [{ index: 0, op: 'SCMP_CMP_MASKED_EQ', value: 0x7e020000, valueTwo: 0 }]);
  t.deepEqual(rulesFor(p, 'clone3').map((r) => [r.action, r.errnoRet]), [['SCMP_ACT_ERRNO', 38]]);
  const socket = rulesFor(p, 'socket').map((r) => r.args[0]);
  t.deepEqual(socket.map((a) => [a.op, a.value]), [['SCMP_CMP_LT', 38], ['SCMP_CMP_EQ', 39], ['SCMP_CMP_GT', 40]], 'AF_ALG and AF_VSOCK left out');
  t.deepEqual(rulesFor(p, 'personality').map((r) => r.args[0].value), [0, 8, 0x20000, 0x20008, 0xffffffff]);
});

test('each capability in the bounding set opens what it is for', (t) => {
  const admin = defaultProfile(on({ bounding: [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'] }));
  const ok = allowed(admin);
  for (const name of ['mount', 'umount2', 'unshare', 'setns', 'clone', 'clone3', 'bpf', 'sethostname']) t.true(ok.has(name), name);
  t.is(rulesFor(admin, 'clone3').length, 1, 'no ENOSYS rule for clone3 beside the allow');
  t.true(allowed(defaultProfile(on({ bounding: ['CAP_SYS_PTRACE'] }))).has('kcmp'));
  t.true(allowed(defaultProfile(on({ bounding: ['CAP_SYS_TIME'] }))).has('clock_settime'));
  t.true(allowed(defaultProfile(on({ bounding: ['CAP_DAC_READ_SEARCH'] }))).has('open_by_handle_at'));
  t.true(allowed(defaultProfile(on({ bounding: ['CAP_BPF'] }))).has('bpf'));
  t.false(allowed(defaultProfile(on({ bounding: ['CAP_BPF'] }))).has('mount'));
});

test('the kernel and the architecture narrow it', (t) => {
  t.false(allowed(defaultProfile(on({ kernel: [4, 7] }))).has('ptrace'), 'ptrace could bypass seccomp before 4.8');
  t.true(allowed(defaultProfile(on({ kernel: [4, 8] }))).has('ptrace'));
  const arm = defaultProfile(on({ arch: 'SCMP_ARCH_AARCH64' }));
  t.deepEqual(arm.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  t.true(allowed(arm).has('cacheflush'));
  t.false(allowed(arm).has('arch_prctl'));
  const s390 = defaultProfile(on({ arch: 'SCMP_ARCH_S390X' }));
  t.deepEqual(rulesFor(s390, 'clone').map((r) => r.args[0].index), [1], 's390 passes the clone flags second');
  t.deepEqual(defaultProfile(on({ arch: 'SCMP_ARCH_PPC64LE' })).architectures, [], 'no companions: the native one only');
});

test('when it applies: a config that says nothing gets it, an OCI bundle gets none, null opts out', (t) => {
  const a = resolveSeccomp(undefined, 'linux.seccomp', { fromBundle: false, bounding: DEFAULT_CAPABILITIES });
  t.is(a.defaultAction, 'SCMP_ACT_ERRNO');
  t.is(resolveSeccomp(undefined, 'linux.seccomp', { fromBundle: false, bounding: [...DEFAULT_CAPABILITIES, 'CAP_CHOWN'] }), a, 'capabilities the profile ignores share one profile');
  t.not(resolveSeccomp(undefined, 'linux.seccomp', { fromBundle: false, bounding: ['CAP_SYS_ADMIN'] }), a);
  t.is(resolveSeccomp(undefined, 'linux.seccomp', { fromBundle: true, bounding: DEFAULT_CAPABILITIES }), null);
  t.is(resolveSeccomp(null, 'linux.seccomp', { fromBundle: false, bounding: DEFAULT_CAPABILITIES }), null);
});

// x86_64 and i386 numbers.
const X86_64 = 0xc000003e;
const I386 = 0x40000003;
const AARCH64 = 0xc00000b7;
const RET = { ALLOW: 0x7fff0000, EPERM: 0x00050001, ENOSYS: 0x00050026, KILL_PROCESS: 0x80000000 };
const x64 = process.arch === 'x64' ? test : test.skip;

x64('compiled, it answers as Docker\'s does: the program berth-init installs, interpreted', async (t) => {
  const profile = resolveSeccomp(undefined, 'linux.seccomp', { fromBundle: false, bounding: DEFAULT_CAPABILITIES });
  const compiled = await compileSeccomp(profile, 'linux.seccomp');
  const ask = (nr, args = [], arch = X86_64) => runFilter(compiled.program, seccompData({ nr, arch, args }));
  t.is(ask(0), RET.ALLOW, 'read');
  t.is(ask(59), RET.ALLOW, 'execve');
  t.is(ask(250), RET.EPERM, 'keyctl');
  t.is(ask(165), RET.EPERM, 'mount');
  t.is(ask(272), RET.EPERM, 'unshare');
  t.is(ask(425), RET.EPERM, 'io_uring_setup');
  t.is(ask(56, [0x11]), RET.ALLOW, 'clone(SIGCHLD)');
  t.is(ask(56, [0x10000011]), RET.EPERM, 'clone(CLONE_NEWUSER)');
  t.is(ask(435), RET.ENOSYS, 'clone3');
  t.is(ask(41, [2]), RET.ALLOW, 'socket(AF_INET)');
  t.is(ask(41, [39]), RET.ALLOW, 'socket(39)');
  t.is(ask(41, [38]), RET.EPERM, 'socket(AF_ALG)');
  t.is(ask(41, [40]), RET.EPERM, 'socket(AF_VSOCK)');
  t.is(ask(135, [0xffffffff]), RET.ALLOW, 'personality(query)');
  t.is(ask(135, [1]), RET.EPERM, 'personality(1)');
  const highest = compiled.highestSyscall.SCMP_ARCH_X86_64;
  t.is(ask(highest + 1), RET.ENOSYS, `${highest + 1}: newer than the profile`);
  t.is(ask(288, [], I386), RET.EPERM, 'i386 keyctl');
  t.is(ask(20, [], I386), RET.ALLOW, 'i386 getpid');
  t.is(ask(0x40000000 | 39), RET.ALLOW, 'x32 getpid');
  t.is(ask(0x40000000 | 250), RET.EPERM, 'x32 keyctl');
  t.is(ask(172, [], AARCH64), RET.KILL_PROCESS, 'an architecture the profile does not list');
  t.true(compiled.instructions < 4096 && compiled.instructions > 100, `${compiled.instructions} instructions`);
});

x64('compiled once per distinct profile: the same object, or an equal one, gets the same program', async (t) => {
  const profile = resolveSeccomp(undefined, 'linux.seccomp', { fromBundle: false, bounding: DEFAULT_CAPABILITIES });
  const a = await compileSeccomp(profile, 'linux.seccomp');
  t.is(await compileSeccomp(profile, 'linux.seccomp'), a);
  t.is(await compileSeccomp(structuredClone(profile), 'linux.seccomp'), a, 'an equal profile validated apart');
  const other = { ...structuredClone(profile), defaultErrnoRet: 13 };
  t.not(await compileSeccomp(other, 'linux.seccomp'), a);
});
