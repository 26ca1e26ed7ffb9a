// The default seccomp profile (Docker's default semantics) as a process inside
// the container meets it: what it refuses and with which errno, what newer
// syscalls get, the i386 entry point, ordinary tools, exec'd processes, and the
// opt-outs (linux.seccomp: null, an OCI bundle without a profile).
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createContainer, run } from '../../dist/lib/index.js';
import { assertNoLeaks, settledSnapshot, stateRootFor } from './helpers.js';
import { probeRootfs, probeSkips, results, when } from './seccomp-probe.js';

const stateRoot = stateRootFor('seccomp-default');
const { EPERM, ENOSYS } = os.constants.errno;
const probe = probeRootfs();
test.after.always(() => probe.remove?.());

const { noProbe, noInt80 } = probeSkips(probe);

async function sh(script, extra = {}) {
  const r = await run({ rootfs: probe.rootfs, stateRoot, ...extra, process: { args: ['/bin/sh', '-c', script], ...(extra.process ?? {}) } });
  return r;
}

const status = (r) => Object.fromEntries(r.stdout.toString().trim().split('\n').map((l) => l.split(/:\s+/)));

when(noProbe, 'with nothing said about seccomp, the process runs under one filter; linux.seccomp: null runs it under none', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const filtered = await sh('grep ^Seccomp /proc/self/status');
  t.is(filtered.exitCode, 0, filtered.stderr.toString());
  t.deepEqual(status(filtered), { Seccomp: '2', Seccomp_filters: '1' });
  const open = await sh('grep ^Seccomp /proc/self/status', { linux: { seccomp: null } });
  t.deepEqual(status(open), { Seccomp: '0', Seccomp_filters: '0' });
  await assertNoLeaks(t, before, stateRoot);
});

when(noProbe, 'container.config shows the default profile it applied, and null where the caller opted out', async (t) => {
  const configOf = async (extra) => {
    const c = await createContainer({ rootfs: probe.rootfs, stateRoot, process: { args: ['true'] }, ...extra });
    await c.destroy();
    return c.config;
  };
  const { seccomp } = await configOf({});
  t.is(seccomp?.defaultAction, 'SCMP_ACT_ERRNO');
  t.is(seccomp?.defaultErrnoRet, EPERM);
  t.true(seccomp?.architectures.includes('SCMP_ARCH_X86_64') || process.arch !== 'x64');
  t.true(seccomp?.syscalls.some((r) => r.action === 'SCMP_ACT_ALLOW' && r.names.includes('read')));
  t.is((await configOf({ linux: { seccomp: null } })).seccomp, null);
});

// Each call: its arguments are ones the kernel itself would not refuse with
// EPERM here (no capabilities needed), so EPERM can only be the filter's.
const DENIED = [
  ['keyctl', '0', '-3', '0'], // KEYCTL_GET_KEYRING_ID of the session keyring
  ['unshare', '0'], // no flags: a no-op the kernel allows anyone
  ['mount', '0', '0', '0', '0', '0'], // the kernel fails the NULL target (EFAULT) before any permission check
  ['bpf', '0', '0', '0'],
  ['userfaultfd', '1'], // UFFD_USER_MODE_ONLY: allowed without privileges
  ['io_uring_setup', '1', '0'], // fails on the NULL params (EFAULT)
];

when(noProbe, 'the default profile refuses keyctl, unshare, mount, bpf, userfaultfd and io_uring_setup with EPERM', async (t) => {
  const script = DENIED.map((c) => `/probe sys ${c.join(' ')}`).join('; ');
  const filtered = results((await sh(script)).stdout);
  const open = results((await sh(script, { linux: { seccomp: null } })).stdout);
  DENIED.forEach(([name], i) => {
    t.deepEqual(filtered[i], { errno: EPERM }, `${name} under the default profile`);
  });
  // Without a filter the kernel answers otherwise, except bpf where the host
  // refuses unprivileged callers itself (kernel.unprivileged_bpf_disabled).
  const bpfLocked = fs.readFileSync('/proc/sys/kernel/unprivileged_bpf_disabled', 'utf8').trim() !== '0';
  DENIED.forEach(([name], i) => {
    if (name === 'bpf' && bpfLocked) return;
    t.notDeepEqual(open[i], { errno: EPERM }, `${name} without a filter: ${JSON.stringify(open[i])}`);
  });
});

when(noProbe, 'the default profile follows the bounding set: CAP_SYS_ADMIN brings mount and unshare back, as in Docker', async (t) => {
  const caps = ['CAP_SYS_ADMIN', 'CAP_KILL'];
  const r = await sh('/probe sys unshare 0; /probe sys keyctl 0 -3 0', { process: { capabilities: { bounding: caps, effective: caps, permitted: caps } } });
  const [unshare, keyctl] = results(r.stdout);
  t.deepEqual(unshare, { ok: 0 });
  t.deepEqual(keyctl, { errno: EPERM }, 'keyctl stays refused whatever the capabilities');
});

when(noProbe, 'with noNewPrivileges false the filter goes on while CAP_SYS_ADMIN is still held (as runc does), so an unprivileged user is filtered too', async (t) => {
  // Without no_new_privs only CAP_SYS_ADMIN may install a filter: after the
  // switch to uid 1000 it would be too late.
  const r = await sh('grep -E "^(NoNewPrivs|Seccomp):" /proc/self/status; id -u; /probe sys keyctl 0 -3 0', { process: { noNewPrivileges: false, user: { uid: 1000, gid: 1000 } } });
  t.is(r.exitCode, 0, r.stderr.toString());
  const lines = r.stdout.toString().trim().split('\n');
  t.deepEqual(lines.slice(0, 3), ['NoNewPrivs:\t0', 'Seccomp:\t2', '1000']);
  t.deepEqual(results(lines.slice(3).join('\n')), [{ errno: EPERM }]);
});

when(noProbe, 'a syscall newer than every one the default profile names gets ENOSYS; the ones it leaves out below that get EPERM', async (t) => {
  const { compileSeccomp } = await import('../../dist/lib/seccomp/compile.js');
  const c = await createContainer({ rootfs: probe.rootfs, stateRoot, process: { args: ['true'] } });
  await c.destroy();
  const profile = c.config.seccomp;
  const compiled = await compileSeccomp(profile, 'linux.seccomp');
  const highest = compiled.highestSyscall.SCMP_ARCH_X86_64;
  t.true(highest > 400, `the default profile's highest x86_64 syscall: ${highest}`);
  const newer = Array.from({ length: 16 }, (_, i) => highest + 1 + i);
  const script = newer.map((nr) => `/probe sys ${nr}`).join('; ');
  const filtered = results((await sh(script)).stdout);
  const open = results((await sh(script, { linux: { seccomp: null } })).stdout);
  newer.forEach((nr, i) => t.deepEqual(filtered[i], { errno: ENOSYS }, `syscall ${nr} under the default profile`));
  const implemented = newer.filter((_, i) => open[i].errno !== ENOSYS);
  t.log(`of ${newer[0]}..${newer.at(-1)} this kernel implements ${implemented.join(' ') || 'none'}`);
  if (implemented.length === 0) t.log('no newer syscall on this kernel: the ENOSYS above cannot be told from the kernel\'s own');
  const left = results((await sh('/probe sys 246; /probe sys 250 0 -3 0')).stdout); // kexec_load, keyctl: below the highest
  t.deepEqual(left, [{ errno: EPERM }, { errno: EPERM }]);
});

when(noInt80, 'the same syscall through int 0x80 (the i386 table) is refused too; i386 calls the profile allows still work', async (t) => {
  // i386 numbers: keyctl 288, unshare 310, getpid 20.
  const script = '/probe i386 288 0 -3 0; /probe i386 310 0; /probe i386 20';
  const filtered = results((await sh(script)).stdout);
  t.deepEqual(filtered.slice(0, 2), [{ errno: EPERM }, { errno: EPERM }]);
  t.true(filtered[2].ok > 0, `i386 getpid: ${JSON.stringify(filtered[2])}`);
  const open = results((await sh(script, { linux: { seccomp: null } })).stdout);
  t.notDeepEqual(open[0], { errno: EPERM }, 'i386 keyctl without a filter');
  t.deepEqual(open[1], { ok: 0 }, 'i386 unshare(0) without a filter');
});

when(noProbe, 'busybox\'s ordinary tools work under the default profile: sh, ls, ps, wget from a loopback httpd, tar, sort', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const script = [
    'set -e',
    'grep ^Seccomp: /proc/self/status',
    'mkdir -p /tmp/www /tmp/t && echo served-over-loopback > /tmp/www/index.html',
    'httpd -p 127.0.0.1:8080 -h /tmp/www',
    'wget -q -O - http://127.0.0.1:8080/index.html',
    'printf "c\\na\\nb\\n" | sort | tr "\\n" " "; echo',
    'ls / | grep -c probe',
    'ps -o comm | grep -c httpd',
    'echo archived > /tmp/t/file && tar -C /tmp -cf /tmp/t.tar t && tar -tf /tmp/t.tar | sort | tr "\\n" " "; echo',
    'tar -C /tmp/www -xf /tmp/t.tar && cat /tmp/www/t/file',
  ].join('\n');
  const r = await sh(script);
  t.is(r.exitCode, 0, r.stderr.toString());
  t.deepEqual(r.stdout.toString().trim().split('\n'), ['Seccomp:\t2', 'served-over-loopback', 'a b c ', '1', '1', 't/ t/file ', 'archived']);
  await assertNoLeaks(t, before, stateRoot);
});

when(noProbe, 'exec\'d processes run under the container\'s filter unless their own config brings one (or null)', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const c = await createContainer({ rootfs: probe.rootfs, stateRoot, process: { args: ['sleep', '1000'] } });
  try {
    await c.start();
    const out = async (p) => {
      const chunks = [];
      p.stdout.on('data', (d) => chunks.push(d));
      await Promise.all([p.wait(), new Promise((r) => p.stdout.on('close', r))]);
      return Buffer.concat(chunks).toString();
    };
    const script = 'grep ^Seccomp: /proc/self/status; /probe sys keyctl 0 -3 0; /probe sys getppid';
    const inherited = (await out(await c.exec({ args: ['sh', '-c', script] }))).split('\n');
    t.is(inherited[0], 'Seccomp:\t2');
    t.deepEqual(results(inherited.slice(1).join('\n')).slice(0, 1), [{ errno: EPERM }]);
    const none = (await out(await c.exec({ args: ['sh', '-c', script], seccomp: null }))).split('\n');
    t.is(none[0], 'Seccomp:\t0');
    const own = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['getppid'], action: 'SCMP_ACT_ERRNO', errnoRet: 42 }] };
    const mine = (await out(await c.exec({ args: ['sh', '-c', script], seccomp: own }))).split('\n');
    t.is(mine[0], 'Seccomp:\t2');
    const [keyctl, getppid] = results(mine.slice(1).join('\n'));
    t.notDeepEqual(keyctl, { errno: EPERM }, 'its own profile allows keyctl');
    t.deepEqual(getppid, { errno: 42 });
  } finally {
    await c.destroy();
  }
  await assertNoLeaks(t, before, stateRoot);
});

when(noProbe, 'an OCI bundle is taken literally: no linux.seccomp there, no filter; its own profile is applied', async (t) => {
  const bundle = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-seccomp-bundle-'));
  try {
    const spec = { ociVersion: '1.0.2', root: { path: probe.rootfs }, process: { args: ['grep', '^Seccomp:', '/proc/self/status'], cwd: '/' }, linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }] } };
    fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
    const literal = await run({ bundle, stateRoot });
    t.is(literal.stdout.toString(), 'Seccomp:\t0\n');
    const c = await createContainer({ bundle, stateRoot });
    await c.destroy();
    t.is(c.config.seccomp, null);
    const profile = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['keyctl'], action: 'SCMP_ACT_ERRNO' }] };
    fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify({ ...spec, linux: { ...spec.linux, seccomp: profile } }));
    t.is((await run({ bundle, stateRoot })).stdout.toString(), 'Seccomp:\t2\n');
  } finally {
    fs.rmSync(bundle, { recursive: true, force: true });
  }
});
