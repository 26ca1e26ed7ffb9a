// The per-process side of the OCI Linux surface, read back from inside
// containers by a small static probe (the kernel's own get_mempolicy,
// sched_getattr, personality and sched_getaffinity answers): linux.personality,
// process.scheduler, process.execCPUAffinity, linux.memoryPolicy, and the LSM
// labels (applied where the host has the LSM, refused where it does not).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, SetupError, createContainer, run } from '../../dist/lib/index.js';
import { defaultMounts } from '../../dist/lib/config/defaults.js';
import { assertNoLeaks, ROOTFS, settledSnapshot, stateRootFor } from './helpers.js';

const stateRoot = stateRootFor('oci-surface-proc');

const PROBE_C = String.raw`
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>
struct attr { uint32_t size, policy; uint64_t flags; int32_t nice; uint32_t priority; uint64_t runtime, deadline, period, clamp; };
int main(void) {
  printf("personality=%d\n", personality(0xffffffff));
  struct attr a = {0};
  if (syscall(SYS_sched_getattr, 0, &a, sizeof a, 0) == 0)
    printf("policy=%u nice=%d priority=%u flags=%llu runtime=%llu deadline=%llu period=%llu\n", a.policy, a.nice, a.priority,
           (unsigned long long)a.flags, (unsigned long long)a.runtime, (unsigned long long)a.deadline, (unsigned long long)a.period);
  int mode = -1;
  unsigned long nodes[16] = {0};
  if (syscall(SYS_get_mempolicy, &mode, nodes, 16 * 64, 0, 0) == 0) printf("mempolicy=%d nodes=%lu\n", mode, nodes[0]);
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    printf("cpus=");
    for (int i = 0, first = 1; i < CPU_SETSIZE; i++)
      if (CPU_ISSET(i, &set)) printf(first ? "%d" : ",%d", i), first = 0;
    printf("\n");
  }
  return 0;
}
`;

let probeDir = null;
let probeError = null;

test.before(() => {
  probeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-probe-'));
  fs.writeFileSync(path.join(probeDir, 'probe.c'), PROBE_C);
  try {
    execFileSync('cc', ['-static', '-O2', '-o', path.join(probeDir, 'probe'), path.join(probeDir, 'probe.c')], { stdio: 'pipe' });
  } catch (err) {
    probeError = `cannot build the probe: ${err.stderr?.toString() ?? err}`;
  }
});

test.after.always(() => {
  if (probeDir) fs.rmSync(probeDir, { recursive: true, force: true });
});

const probeMount = () => [{ destination: '/probe', type: 'bind', source: path.join(probeDir, 'probe'), options: ['bind', 'ro'] }];
const withProbeMount = (extra) => [
  ...(extra.mounts ?? defaultMounts()),
  ...probeMount(),
];

function parseProbe(text) {
  const out = {};
  for (const tok of text.split(/\s+/)) {
    const i = tok.indexOf('=');
    if (i > 0) out[tok.slice(0, i)] = tok.slice(i + 1);
  }
  return out;
}

/** Runs the probe as the container's init with `extra` config; returns its readings. */
async function probe(t, extra = {}) {
  if (probeError) throw new Error(probeError);
  const r = await run({ rootfs: ROOTFS, stateRoot, ...extra, mounts: withProbeMount(extra), process: { args: ['/probe'], ...(extra.process ?? {}) } });
  t.is(r.exitCode, 0, r.stderr.toString());
  return parseProbe(r.stdout.toString());
}

async function output(p) {
  const chunks = [];
  p.stdout.on('data', (d) => chunks.push(d));
  const [status] = await Promise.all([p.wait(), new Promise((r) => p.stdout.on('close', r))]);
  return { ...status, out: Buffer.concat(chunks).toString() };
}

async function sleeper(extra = {}) {
  const c = await createContainer({ rootfs: ROOTFS, stateRoot, ...extra, mounts: withProbeMount(extra), process: { args: ['sleep', '1000'], stdio: 'ignore', ...(extra.process ?? {}) } });
  try {
    await c.start();
    return c;
  } catch (err) {
    await c.destroy();
    throw err;
  }
}

async function rejectsConfig(t, config, field, message) {
  const err = await t.throwsAsync(run({ rootfs: ROOTFS, stateRoot, ...config, process: { args: ['true'], ...(config.process ?? {}) } }), { instanceOf: ConfigError }, JSON.stringify(config));
  t.is(err?.field, field, err?.message);
  if (message) t.regex(err?.message ?? '', message);
}

// --- personality -------------------------------------------------------------

test.serial('linux.personality LINUX32: uname reports a 32-bit machine, in the init and in exec\'d processes', async (t) => {
  if (os.arch() !== 'x64') return t.pass('the LINUX32 check reads i686 from uname on x86-64');
  const before = await settledSnapshot(stateRoot);
  const readings = await probe(t, { linux: { personality: { domain: 'LINUX32' } } });
  t.is(readings.personality, '8', 'PER_LINUX32');
  const r = await run({ rootfs: ROOTFS, stateRoot, linux: { personality: { domain: 'LINUX32', flags: [] } }, process: { args: ['uname', '-m'] } });
  t.is(r.stdout.toString(), 'i686\n');
  const c = await sleeper({ linux: { personality: { domain: 'LINUX32' } } });
  try {
    const e = await output(await c.exec({ args: ['uname', '-m'] }));
    t.is(e.out, 'i686\n');
  } finally {
    await c.destroy();
  }
  t.is((await run({ rootfs: ROOTFS, stateRoot, linux: { personality: { domain: 'LINUX' } }, process: { args: ['uname', '-m'] } })).stdout.toString(), 'x86_64\n');
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('linux.personality: an unknown domain or any flag is refused, naming the field', async (t) => {
  await rejectsConfig(t, { linux: { personality: { domain: 'LINUX64' } } }, 'linux.personality.domain', /LINUX32/);
  await rejectsConfig(t, { linux: { personality: {} } }, 'linux.personality.domain');
  await rejectsConfig(t, { linux: { personality: { domain: 'LINUX', flags: ['ADDR_NO_RANDOMIZE'] } } }, 'linux.personality.flags[0]');
});

// --- scheduler ---------------------------------------------------------------

test.serial('process.scheduler: SCHED_BATCH with a nice value and SCHED_IDLE, through sched_setattr', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const batch = await probe(t, { process: { scheduler: { policy: 'SCHED_BATCH', nice: 7 } } });
  t.is(batch.policy, '3', 'SCHED_BATCH');
  t.is(batch.nice, '7');
  const idle = await probe(t, { process: { scheduler: { policy: 'SCHED_IDLE', flags: ['SCHED_FLAG_RESET_ON_FORK'] } } });
  t.is(idle.policy, '5', 'SCHED_IDLE');
  t.is(idle.flags, '1', 'SCHED_FLAG_RESET_ON_FORK');
  const plain = await probe(t);
  t.is(plain.policy, '0', 'no scheduler: SCHED_OTHER as inherited');
  t.is(plain.nice, String(os.getPriority(0)), 'and the nice value inherited');
  // exec'd processes take the init's scheduler unless they bring their own.
  const c = await sleeper({ process: { scheduler: { policy: 'SCHED_BATCH', nice: 3 } } });
  try {
    const inherited = parseProbe((await output(await c.exec({ args: ['/probe'] }))).out);
    t.is(inherited.policy, '3');
    t.is(inherited.nice, '3');
    const own = parseProbe((await output(await c.exec({ args: ['/probe'], scheduler: { policy: 'SCHED_OTHER', nice: 10 } }))).out);
    t.is(own.policy, '0');
    t.is(own.nice, '10');
  } finally {
    await c.destroy();
  }
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('process.scheduler: a real-time policy is applied, or the kernel\'s refusal is a SetupError naming sched_setattr', async (t) => {
  const before = await settledSnapshot(stateRoot);
  try {
    const rt = await probe(t, { process: { scheduler: { policy: 'SCHED_FIFO', priority: 10 } } });
    t.is(rt.policy, '1');
    t.is(rt.priority, '10');
  } catch (err) {
    // cgroup v1 with CONFIG_RT_GROUP_SCHED: a new cpu cgroup has no real-time runtime.
    t.true(err instanceof SetupError, String(err));
    t.is(err.step, 'scheduler');
    t.is(err.syscall, 'sched_setattr');
    t.is(err.errno, 'EPERM');
  }
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('process.scheduler: bad values are refused before anything is created, naming the field', async (t) => {
  const s = (scheduler) => ({ process: { scheduler } });
  await rejectsConfig(t, s({ policy: 'SCHED_LOTTERY' }), 'process.scheduler.policy', /SCHED_OTHER/);
  await rejectsConfig(t, s({ nice: 1 }), 'process.scheduler.policy');
  await rejectsConfig(t, s({ policy: 'SCHED_ISO' }), 'process.scheduler.policy', /Linux/);
  await rejectsConfig(t, s({ policy: 'SCHED_OTHER', nice: 20 }), 'process.scheduler.nice');
  await rejectsConfig(t, s({ policy: 'SCHED_FIFO' }), 'process.scheduler.priority', /1 and 99/);
  await rejectsConfig(t, s({ policy: 'SCHED_BATCH', priority: 5 }), 'process.scheduler.priority');
  await rejectsConfig(t, s({ policy: 'SCHED_OTHER', flags: ['SCHED_FLAG_TURBO'] }), 'process.scheduler.flags[0]');
  await rejectsConfig(t, s({ policy: 'SCHED_DEADLINE', runtime: 2e6, deadline: 1e6, period: 3e6 }), 'process.scheduler.runtime');
  await rejectsConfig(t, s({ policy: 'SCHED_DEADLINE', runtime: 1e6, deadline: 2e6, period: 1e6 }), 'process.scheduler.period');
  await rejectsConfig(t, s({ policy: 'SCHED_OTHER', runtime: 1e6 }), 'process.scheduler.runtime', /SCHED_DEADLINE/);
});

// --- execCPUAffinity ---------------------------------------------------------

const hostCpus = fs.readFileSync('/proc/self/status', 'utf8').match(/Cpus_allowed_list:\s*(\S+)/)[1];

test.serial('process.execCPUAffinity: an exec\'d process runs on its final CPUs; the init is not affected', async (t) => {
  if (os.availableParallelism() < 2) return t.pass('needs two CPUs');
  const before = await settledSnapshot(stateRoot);
  const c = await sleeper({ process: { execCPUAffinity: { initial: '0', final: '1' } } });
  try {
    const init = fs.readFileSync(`/proc/${c.pid}/status`, 'utf8').match(/Cpus_allowed_list:\s*(\S+)/)[1];
    t.is(init, hostCpus, 'not applicable to the init (runtime-spec)');
    const inherited = parseProbe((await output(await c.exec({ args: ['/probe'] }))).out);
    t.is(inherited.cpus, '1', 'the container\'s execCPUAffinity applies to exec');
    const own = parseProbe((await output(await c.exec({ args: ['/probe'], execCPUAffinity: { initial: '1', final: '0-1' } }))).out);
    t.is(own.cpus, '0,1');
    const finalOnly = parseProbe((await output(await c.exec({ args: ['/probe'], execCPUAffinity: { final: '0' } }))).out);
    t.is(finalOnly.cpus, '0');
  } finally {
    await c.destroy();
  }
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('process.execCPUAffinity: a malformed list or a CPU the host lacks is refused, naming the field', async (t) => {
  await rejectsConfig(t, { process: { execCPUAffinity: { initial: '0-' } } }, 'process.execCPUAffinity.initial');
  await rejectsConfig(t, { process: { execCPUAffinity: { final: '4096' } } }, 'process.execCPUAffinity.final', /CPU/);
  await rejectsConfig(t, { process: { execCPUAffinity: { final: '0', middle: '1' } } }, 'process.execCPUAffinity.middle');
  const c = await sleeper();
  try {
    const err = await t.throwsAsync(c.exec({ args: ['true'], execCPUAffinity: { final: '3-1' } }), { instanceOf: ConfigError });
    t.is(err?.field, 'process.execCPUAffinity.final');
  } finally {
    await c.destroy();
  }
});

// --- memoryPolicy ------------------------------------------------------------

test.serial('linux.memoryPolicy: set_mempolicy before execve, for the init and exec\'d processes', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const bind = await probe(t, { linux: { memoryPolicy: { mode: 'MPOL_BIND', nodes: '0' } } });
  t.is(bind.mempolicy, '2', 'MPOL_BIND');
  t.is(bind.nodes, '1', 'node 0');
  const interleave = await probe(t, { linux: { memoryPolicy: { mode: 'MPOL_INTERLEAVE', nodes: '0', flags: ['MPOL_F_STATIC_NODES'] } } });
  t.is(Number(interleave.mempolicy), 3 | (1 << 15), 'MPOL_INTERLEAVE | MPOL_F_STATIC_NODES');
  const local = await probe(t, { linux: { memoryPolicy: { mode: 'MPOL_LOCAL' } } });
  t.is(local.mempolicy, '4', 'MPOL_LOCAL');
  t.is((await probe(t)).mempolicy, '0', 'none given: MPOL_DEFAULT');
  const c = await sleeper({ linux: { memoryPolicy: { mode: 'MPOL_PREFERRED', nodes: '0' } } });
  try {
    const e = parseProbe((await output(await c.exec({ args: ['/probe'] }))).out);
    t.is(e.mempolicy, '1', 'MPOL_PREFERRED in the exec\'d process');
  } finally {
    await c.destroy();
  }
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('linux.memoryPolicy: modes, nodes and flags that set_mempolicy would refuse are refused first, naming the field', async (t) => {
  const m = (memoryPolicy) => ({ linux: { memoryPolicy } });
  await rejectsConfig(t, m({ mode: 'MPOL_RANDOM' }), 'linux.memoryPolicy.mode', /MPOL_BIND/);
  await rejectsConfig(t, m({ nodes: '0' }), 'linux.memoryPolicy.mode');
  await rejectsConfig(t, m({ mode: 'MPOL_BIND' }), 'linux.memoryPolicy.nodes', /at least one/);
  await rejectsConfig(t, m({ mode: 'MPOL_DEFAULT', nodes: '0' }), 'linux.memoryPolicy.nodes', /no nodes/);
  await rejectsConfig(t, m({ mode: 'MPOL_LOCAL', nodes: '0' }), 'linux.memoryPolicy.nodes');
  await rejectsConfig(t, m({ mode: 'MPOL_BIND', nodes: '0,x' }), 'linux.memoryPolicy.nodes');
  await rejectsConfig(t, m({ mode: 'MPOL_BIND', nodes: '1000' }), 'linux.memoryPolicy.nodes', /node/);
  await rejectsConfig(t, m({ mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_STATIC_NODES', 'MPOL_F_RELATIVE_NODES'] }), 'linux.memoryPolicy.flags');
  await rejectsConfig(t, m({ mode: 'MPOL_INTERLEAVE', nodes: '0', flags: ['MPOL_F_NUMA_BALANCING'] }), 'linux.memoryPolicy.flags[0]', /MPOL_BIND/);
  await rejectsConfig(t, m({ mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_FAST'] }), 'linux.memoryPolicy.flags[0]');
});

// --- AppArmor / SELinux ------------------------------------------------------

function activeLsms() {
  try {
    return fs.readFileSync('/sys/kernel/security/lsm', 'utf8').trim().split(',');
  } catch {
    const lsms = [];
    try {
      if (fs.readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').startsWith('Y')) lsms.push('apparmor');
    } catch {}
    if (fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(' - selinuxfs ')) lsms.push('selinux');
    return lsms;
  }
}

test.serial('process.apparmorProfile is applied where the host has AppArmor and refused, saying so, where it has not', async (t) => {
  if (activeLsms().includes('apparmor')) {
    // "unconfined" always exists; a named profile would have to be loaded first.
    const r = await run({ rootfs: ROOTFS, stateRoot, process: { args: ['cat', '/proc/self/attr/current'], apparmorProfile: 'unconfined' } });
    t.is(r.exitCode, 0, r.stderr.toString());
    t.regex(r.stdout.toString(), /unconfined/);
    return;
  }
  await rejectsConfig(t, { process: { apparmorProfile: 'berth-test' } }, 'process.apparmorProfile', /AppArmor/);
  const c = await sleeper();
  try {
    const err = await t.throwsAsync(c.exec({ args: ['true'], apparmorProfile: 'berth-test' }), { instanceOf: ConfigError });
    t.is(err?.field, 'process.apparmorProfile');
  } finally {
    await c.destroy();
  }
  // OCI writers emit "" for "none": that is not a request for a profile.
  t.is((await run({ rootfs: ROOTFS, stateRoot, process: { args: ['true'], apparmorProfile: '' } })).exitCode, 0);
});

test.serial('process.selinuxLabel and linux.mountLabel are applied where the host has SELinux and refused, saying so, where it has not', async (t) => {
  if (activeLsms().includes('selinux')) {
    const label = fs.readFileSync('/proc/self/attr/current', 'utf8').replace(/\0/g, '').trim();
    const r = await run({ rootfs: ROOTFS, stateRoot, process: { args: ['cat', '/proc/self/attr/current'], selinuxLabel: label } });
    t.is(r.exitCode, 0, r.stderr.toString());
    t.is(r.stdout.toString().replace(/\0/g, '').trim(), label);
    return;
  }
  await rejectsConfig(t, { process: { selinuxLabel: 'system_u:system_r:container_t:s0' } }, 'process.selinuxLabel', /SELinux/);
  await rejectsConfig(t, { linux: { mountLabel: 'system_u:object_r:container_file_t:s0' } }, 'linux.mountLabel', /SELinux/);
  t.is((await run({ rootfs: ROOTFS, stateRoot, linux: { mountLabel: '' }, process: { args: ['true'], selinuxLabel: '' } })).exitCode, 0);
});
