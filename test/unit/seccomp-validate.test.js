// linux.seccomp validation (lib/config/seccomp.ts): every OCI field, each bad
// input a ConfigError naming its JSON path; and how a valid profile becomes
// libseccomp's input and the kernel's flags (lib/seccomp/compile.ts).
import test from 'ava';
import { normalizeSeccomp } from '../../dist/lib/config/seccomp.js';
import { ConfigError } from '../../dist/lib/index.js';
import { compileSeccomp, filterFlags, nativeSpec } from '../../dist/lib/seccomp/compile.js';

const allowBut = (syscalls, extra = {}) => ({ defaultAction: 'SCMP_ACT_ALLOW', ...extra, syscalls });
const rule = (extra = {}) => ({ names: ['getppid'], action: 'SCMP_ACT_ERRNO', ...extra });
const arg = (extra = {}) => ({ index: 0, value: 1, op: 'SCMP_CMP_EQ', ...extra });

function refused(t, profile, field, message) {
  const err = t.throws(() => normalizeSeccomp(profile, 'linux.seccomp'), { instanceOf: ConfigError });
  t.is(err?.field, field, err?.message);
  if (message) t.regex(err?.message ?? '', message);
}

test('every field of a full profile comes through, normalized and frozen', (t) => {
  const p = normalizeSeccomp({
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 38,
    architectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32', 'SCMP_ARCH_X86'],
    flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV', 'SECCOMP_FILTER_FLAG_TSYNC'],
    syscalls: [
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
      { names: ['getppid'], action: 'SCMP_ACT_ERRNO', errnoRet: 42, args: [{ index: 5, value: 2n ** 64n - 1n, valueTwo: 3, op: 'SCMP_CMP_MASKED_EQ' }] },
      { names: ['getpid'], action: 'SCMP_ACT_TRACE', errnoRet: 0, args: null },
      ...['SCMP_ACT_KILL', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_TRAP', 'SCMP_ACT_LOG'].map((action) => ({ names: ['gettid'], action })),
      ...['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_GE', 'SCMP_CMP_GT'].map((op) => ({ names: ['getuid'], action: 'SCMP_ACT_LOG', args: [{ index: 1, value: 7, op }] })),
    ],
  }, 'linux.seccomp');
  t.is(p.defaultErrnoRet, 38);
  t.deepEqual(p.architectures, ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'], 'each once');
  t.is(p.flags.length, 4);
  t.deepEqual(p.syscalls[1].args, [{ index: 5, value: 2n ** 64n - 1n, valueTwo: 3, op: 'SCMP_CMP_MASKED_EQ' }]);
  t.deepEqual(p.syscalls[2], { names: ['getpid'], action: 'SCMP_ACT_TRACE', errnoRet: 0, args: [] });
  t.deepEqual(p.syscalls[0].args, [], 'args absent: none');
  t.is(p.syscalls.length, 13);
  t.true(Object.isFrozen(p) && Object.isFrozen(p.syscalls[1].args[0]));
  t.is(normalizeSeccomp(null, 'linux.seccomp'), null);
  t.deepEqual(normalizeSeccomp({ defaultAction: 'SCMP_ACT_ALLOW' }, 'linux.seccomp'), { defaultAction: 'SCMP_ACT_ALLOW', architectures: [], flags: [], syscalls: [] });
});

test('the shape: an object with OCI\'s fields only', (t) => {
  refused(t, 'SCMP_ACT_ALLOW', 'linux.seccomp');
  refused(t, { defaultAction: 'SCMP_ACT_ALLOW', default: 'x' }, 'linux.seccomp.default', /unknown field/);
  refused(t, {}, 'linux.seccomp.defaultAction');
  refused(t, allowBut({}), 'linux.seccomp.syscalls');
  refused(t, allowBut([rule(), 'read']), 'linux.seccomp.syscalls[1]');
  refused(t, allowBut([rule({ name: 'read' })]), 'linux.seccomp.syscalls[0].name', /unknown field/);
  refused(t, allowBut([rule({ args: [arg({ index: 0, values: 1 })] })]), 'linux.seccomp.syscalls[0].args[0].values');
});

test('actions: unknown ones refused; NOTIFY accepted on rules, refused as the default and on what berth-init hands the listener over with', (t) => {
  refused(t, { defaultAction: 'SCMP_ACT_DENY' }, 'linux.seccomp.defaultAction', /unknown action/);
  refused(t, { defaultAction: 'SCMP_ACT_NOTIFY' }, 'linux.seccomp.defaultAction', /cannot be the default action/);
  refused(t, allowBut([rule(), rule(), rule(), rule({ action: 'SCMP_ACT_NOPE' })]), 'linux.seccomp.syscalls[3].action', /unknown action/);
  refused(t, allowBut([rule({ names: ['write'], action: 'SCMP_ACT_NOTIFY' })]), 'linux.seccomp.syscalls[0].names[0]', /cannot be used for write/);
  for (const name of ['sendmsg', 'sendto', 'writev', 'sendmmsg', 'socketcall']) {
    refused(t, allowBut([rule(), rule({ names: ['mkdir', name], action: 'SCMP_ACT_NOTIFY' })]), 'linux.seccomp.syscalls[1].names[1]', new RegExp(`cannot be used for ${name}`));
  }
  // The same names under any other action are ordinary rules.
  t.is(normalizeSeccomp(allowBut([rule({ names: ['write', 'sendmsg'], action: 'SCMP_ACT_LOG' })]), 'linux.seccomp').syscalls[0].action, 'SCMP_ACT_LOG');
  const p = normalizeSeccomp(allowBut([rule({ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' })], { listenerPath: '/run/agent.sock', listenerMetadata: 'tenant=7' }), 'linux.seccomp');
  t.is(p.syscalls[0].action, 'SCMP_ACT_NOTIFY');
  t.is(p.listenerPath, '/run/agent.sock');
  t.is(p.listenerMetadata, 'tenant=7');
  refused(t, allowBut([], { listenerPath: 'relative.sock' }), 'linux.seccomp.listenerPath', /absolute/);
  refused(t, allowBut([], { listenerPath: `/run/${'x'.repeat(120)}.sock` }), 'linux.seccomp.listenerPath', /unix socket path/);
  refused(t, allowBut([], { listenerPath: '/run/agent.sock', listenerMetadata: 7 }), 'linux.seccomp.listenerMetadata');
  refused(t, allowBut([], { listenerMetadata: 'x' }), 'linux.seccomp.listenerMetadata', /no(ne| agent)/);
});

test('a NOTIFY rule sets SECCOMP_FILTER_FLAG_NEW_LISTENER (and lets WAIT_KILLABLE_RECV through); without one neither is passed', (t) => {
  const NEW_LISTENER = 1 << 3;
  const WAIT_KILLABLE_RECV = 1 << 5;
  const flags = ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'];
  const notifying = normalizeSeccomp(allowBut([rule({ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' })], { flags }), 'linux.seccomp');
  t.is(filterFlags(notifying), NEW_LISTENER | WAIT_KILLABLE_RECV);
  t.is(filterFlags(normalizeSeccomp(allowBut([rule()], { flags }), 'linux.seccomp')), 0);
});

test('errnoRet: 0–4095, and only where the action returns one', (t) => {
  refused(t, allowBut([rule({ errnoRet: 4096 })]), 'linux.seccomp.syscalls[0].errnoRet');
  refused(t, allowBut([rule({ errnoRet: -1 })]), 'linux.seccomp.syscalls[0].errnoRet');
  refused(t, allowBut([rule({ errnoRet: 1.5 })]), 'linux.seccomp.syscalls[0].errnoRet');
  refused(t, allowBut([rule({ action: 'SCMP_ACT_ALLOW', errnoRet: 1 })]), 'linux.seccomp.syscalls[0].errnoRet', /only SCMP_ACT_ERRNO and SCMP_ACT_TRACE/);
  refused(t, { defaultAction: 'SCMP_ACT_KILL', defaultErrnoRet: 1 }, 'linux.seccomp.defaultErrnoRet');
  t.is(normalizeSeccomp(allowBut([rule({ errnoRet: null })]), 'x').syscalls[0].errnoRet, undefined, 'null is absent');
});

test('names: at least one, each a syscall name (unknown ones are skipped later, not refused)', (t) => {
  refused(t, allowBut([rule({ names: [] })]), 'linux.seccomp.syscalls[0].names', /at least one/);
  refused(t, allowBut([rule({ names: undefined })]), 'linux.seccomp.syscalls[0].names');
  refused(t, allowBut([rule({ names: ['read', 7] })]), 'linux.seccomp.syscalls[0].names[1]');
  refused(t, allowBut([rule({ names: ['read', 'get pid'] })]), 'linux.seccomp.syscalls[0].names[1]', /not a syscall name/);
  t.deepEqual(normalizeSeccomp(allowBut([rule({ names: ['no_such_syscall', '_llseek'] })]), 'x').syscalls[0].names, ['no_such_syscall', '_llseek']);
});

test('args: index 0–5, a known operator, unsigned 64-bit values exact in JS', (t) => {
  refused(t, allowBut([rule({ args: [arg({ index: 6 })] })]), 'linux.seccomp.syscalls[0].args[0].index');
  refused(t, allowBut([rule({ args: [arg(), arg({ index: -1 })] })]), 'linux.seccomp.syscalls[0].args[1].index');
  refused(t, allowBut([rule({ args: [arg({ op: 'SCMP_CMP_MASKED_NE' })] })]), 'linux.seccomp.syscalls[0].args[0].op', /unknown operator/);
  refused(t, allowBut([rule({ args: [arg({ value: -1 })] })]), 'linux.seccomp.syscalls[0].args[0].value');
  refused(t, allowBut([rule({ args: [arg({ value: 2 ** 64 })] })]), 'linux.seccomp.syscalls[0].args[0].value', /BigInt/);
  refused(t, allowBut([rule({ args: [arg({ value: 2n ** 64n })] })]), 'linux.seccomp.syscalls[0].args[0].value');
  refused(t, allowBut([rule({ args: [arg({ valueTwo: '1' })] })]), 'linux.seccomp.syscalls[0].args[0].valueTwo');
  refused(t, allowBut([rule({ args: [arg({ value: undefined })] })]), 'linux.seccomp.syscalls[0].args[0].value');
});

test('architectures and flags: the names OCI gives them', (t) => {
  refused(t, allowBut([], { architectures: ['SCMP_ARCH_X86_64', 'x86'] }), 'linux.seccomp.architectures[1]', /unknown architecture/);
  refused(t, allowBut([], { architectures: 'SCMP_ARCH_X86' }), 'linux.seccomp.architectures');
  refused(t, allowBut([], { flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_NEW_LISTENER'] }), 'linux.seccomp.flags[1]', /unknown flag/);
});

test('libseccomp\'s input: actions as SECCOMP_RET values (EPERM where no errno is named), the native arch first', (t) => {
  const p = normalizeSeccomp({
    defaultAction: 'SCMP_ACT_ERRNO',
    architectures: ['SCMP_ARCH_X86', process.arch === 'x64' ? 'SCMP_ARCH_X86_64' : 'SCMP_ARCH_X32'],
    syscalls: [rule({ errnoRet: 42, args: [arg({ value: 5, valueTwo: 6 })] }), rule({ action: 'SCMP_ACT_TRACE' }), rule({ action: 'SCMP_ACT_KILL' }), rule({ action: 'SCMP_ACT_KILL_PROCESS' })],
  }, 'linux.seccomp');
  const spec = nativeSpec(p);
  t.is(spec.defaultAction, 0x00050001);
  t.deepEqual(spec.rules.map((r) => r.action), [0x0005002a, 0x7ff00001, 0, 0x80000000]);
  t.deepEqual(spec.rules[0].args, [{ index: 0, op: 'SCMP_CMP_EQ', value: 5n, valueTwo: 6n }]);
  t.is(spec.badArchAction, 0x80000000, 'a syscall through an unlisted table kills the process');
  if (process.arch === 'x64') t.deepEqual(spec.arches, ['x86_64', 'x86'], 'native first, each once');
  t.false(spec.binaryTree, 'a linear filter for a handful of syscalls');
  t.true(nativeSpec(normalizeSeccomp(allowBut([rule({ names: Array.from({ length: 33 }, (_, i) => `s${i}`) })]), 'x')).binaryTree);
});

test('flags for seccomp(2): LOG and SPEC_ALLOW; TSYNC never; WAIT_KILLABLE_RECV only with a listener', (t) => {
  const flags = (f) => filterFlags(normalizeSeccomp(allowBut([], { flags: f }), 'x'));
  t.is(flags(['SECCOMP_FILTER_FLAG_LOG']), 2);
  t.is(flags(['SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_LOG']), 6);
  t.is(flags(['SECCOMP_FILTER_FLAG_TSYNC']), 0);
  t.is(flags(['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV']), 0);
});

test('what only compiling can tell is still a ConfigError naming the field, found before anything exists', async (t) => {
  const tooMany = allowBut(Array.from({ length: 10_000 }, (_, i) => rule({ names: ['personality'], args: [arg({ value: i })] })));
  const t0 = Date.now();
  const big = await t.throwsAsync(compileSeccomp(normalizeSeccomp(tooMany, 'linux.seccomp'), 'linux.seccomp'), { instanceOf: ConfigError });
  t.is(big.field, 'linux.seccomp.syscalls');
  t.regex(big.message, /at least 10000 BPF instructions.*BPF_MAXINSNS/);
  t.true(Date.now() - t0 < 5000, 'refused before libseccomp spends a minute on it');
  // Under the bound, the real length decides (4,090 values: ~4,120 instructions).
  const near = allowBut(Array.from({ length: 4_090 }, (_, i) => rule({ names: ['personality'], args: [arg({ value: i })] })));
  const exact = await t.throwsAsync(compileSeccomp(normalizeSeccomp(near, 'process.seccomp'), 'process.seccomp'), { instanceOf: ConfigError });
  t.is(exact?.field, 'process.seccomp.syscalls');
  t.regex(exact?.message ?? '', /compiles to \d+ BPF instructions/);
  const arch = await t.throwsAsync(compileSeccomp(normalizeSeccomp(allowBut([], { architectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_LOONGARCH64'] }), 'linux.seccomp'), 'linux.seccomp'));
  // libseccomp 2.5 has no loongarch; a newer one compiles it.
  if (arch) t.is(arch.field, 'linux.seccomp.architectures[1]');
});
