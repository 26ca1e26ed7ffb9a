// The per-process side of the OCI Linux surface, read back from inside
// containers through /proc (what the kernel says the task's attributes are):
// linux.personality, process.scheduler, process.execCPUAffinity,
// linux.memoryPolicy, and the LSM labels (applied where the host has the LSM,
// refused where it does not).
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import { ConfigError, SetupError, createContainer, run } from '../../dist/lib/index.js';
import { assertNoLeaks, outputOf, ROOTFS, settledSnapshot, startedSleeper, stateRootFor } from './helpers.js';

const stateRoot = stateRootFor('oci-surface-proc');

// The shell is the program berth exec'd; its children inherit personality,
// memory policy and affinity (and the scheduler, unless SCHED_FLAG_RESET_ON_FORK).
// /proc/<pid>/stat after "pid (comm) ": nice is field 19, rt_priority 40, policy 41.
const PROBE = [
  'sched() { sed "s/^.*) //" /proc/$1/stat | awk -v p=$2 \'{ print p "policy=" $39, p "nice=" $17, p "priority=" $38 }\'; }',
  'sched $$ ""',
  'sched self child_',
  'echo personality=$(cat /proc/self/personality)',
  'head -1 /proc/self/numa_maps | awk \'{ print "mempolicy=" $2 }\'',
  'grep Cpus_allowed_list /proc/self/status | awk \'{ print "cpus=" $2 }\'',
].join('\n');
const probeArgs = ['/bin/sh', '-c', PROBE];

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
  const r = await run({ rootfs: ROOTFS, stateRoot, ...extra, process: { args: probeArgs, ...(extra.process ?? {}) } });
  t.is(r.exitCode, 0, r.stderr.toString());
  return parseProbe(r.stdout.toString());
}

const output = outputOf;

const sleeper = (extra = {}) => startedSleeper(createContainer, stateRoot, extra);

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
  t.is(readings.personality, '00000008', 'PER_LINUX32');
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

test.serial('process.scheduler: SCHED_BATCH with a nice value, SCHED_IDLE and SCHED_FLAG_RESET_ON_FORK, through sched_setattr', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const batch = await probe(t, { process: { scheduler: { policy: 'SCHED_BATCH', nice: 7 } } });
  t.is(batch.policy, '3', 'SCHED_BATCH');
  t.is(batch.nice, '7');
  t.is(batch.child_policy, '3', 'its children keep the policy');
  t.is(batch.child_nice, '7');
  const idle = await probe(t, { process: { scheduler: { policy: 'SCHED_IDLE' } } });
  t.is(idle.policy, '5', 'SCHED_IDLE');
  // SCHED_FLAG_RESET_ON_FORK: children do not inherit a negative nice value (sched(7)).
  const reset = await probe(t, { process: { scheduler: { policy: 'SCHED_BATCH', nice: -5, flags: ['SCHED_FLAG_RESET_ON_FORK'] } } });
  t.is(reset.nice, '-5');
  t.is(reset.child_nice, '0', 'the flag reached the kernel');
  const plain = await probe(t);
  t.is(plain.policy, '0', 'no scheduler: SCHED_OTHER as inherited');
  t.is(plain.nice, String(os.getPriority(0)), 'and the nice value inherited');
  // exec'd processes take the init's scheduler unless they bring their own.
  const c = await sleeper({ process: { scheduler: { policy: 'SCHED_BATCH', nice: 3 } } });
  try {
    const inherited = parseProbe((await output(await c.exec({ args: probeArgs }))).out);
    t.is(inherited.policy, '3');
    t.is(inherited.nice, '3');
    const own = parseProbe((await output(await c.exec({ args: probeArgs, scheduler: { policy: 'SCHED_OTHER', nice: 10 } }))).out);
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
    t.is(rt.priority, '10', 'rt_priority');
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
    const inherited = parseProbe((await output(await c.exec({ args: probeArgs }))).out);
    t.is(inherited.cpus, '1', 'the container\'s execCPUAffinity applies to exec');
    const own = parseProbe((await output(await c.exec({ args: probeArgs, execCPUAffinity: { initial: '1', final: '0-1' } }))).out);
    t.is(own.cpus, '0-1');
    const finalOnly = parseProbe((await output(await c.exec({ args: probeArgs, execCPUAffinity: { final: '0' } }))).out);
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
  t.is(bind.mempolicy, 'bind:0', 'MPOL_BIND on node 0');
  const interleave = await probe(t, { linux: { memoryPolicy: { mode: 'MPOL_INTERLEAVE', nodes: '0', flags: ['MPOL_F_STATIC_NODES'] } } });
  t.is(interleave.mempolicy, 'interleave=static:0', 'MPOL_INTERLEAVE | MPOL_F_STATIC_NODES');
  const local = await probe(t, { linux: { memoryPolicy: { mode: 'MPOL_LOCAL' } } });
  t.is(local.mempolicy, 'local', 'MPOL_LOCAL');
  t.is((await probe(t)).mempolicy, 'default', 'none given: MPOL_DEFAULT');
  const c = await sleeper({ linux: { memoryPolicy: { mode: 'MPOL_PREFERRED', nodes: '0' } } });
  try {
    const e = parseProbe((await output(await c.exec({ args: probeArgs }))).out);
    t.is(e.mempolicy, 'prefer:0', 'MPOL_PREFERRED in the exec\'d process');
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

test.serial("HOME: when env has none, the user's home from the container's /etc/passwd (else /), as runc; an env HOME wins; exec too", async (t) => {
  const before = await settledSnapshot(stateRoot);
  const home = async (process) => {
    const r = await run({ rootfs: ROOTFS, stateRoot, process: { args: ['/bin/sh', '-c', 'echo "$HOME"'], ...process } });
    t.is(r.exitCode, 0, r.stderr.toString());
    return r.stdout.toString().trim();
  };
  const passwd = fs.readFileSync(`${ROOTFS}/etc/passwd`, 'utf8');
  t.regex(passwd, /^user:x:1000:1000:[^:]*:\/home\/user:/m, 'the fixture has the entry this test reads');
  t.is(await home({}), '/root');
  t.is(await home({ user: { uid: 1000, gid: 1000 } }), '/home/user');
  t.is(await home({ user: { uid: 4242, gid: 4242 } }), '/', 'no passwd entry');
  t.is(await home({ user: { uid: 1000, gid: 1000 }, env: ['HOME=/elsewhere'] }), '/elsewhere');
  const c = await startedSleeper(createContainer, stateRoot);
  try {
    const p = await c.exec({ args: ['/bin/sh', '-c', 'echo "$HOME"'], user: { uid: 1000, gid: 1000 } });
    const { exitCode, out } = await outputOf(p);
    t.is(exitCode, 0);
    t.is(out.trim(), '/home/user');
  } finally {
    await c.destroy();
  }
  await assertNoLeaks(t, before, stateRoot);
});
