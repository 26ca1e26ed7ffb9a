// cgroup v2 device rules: the BPF_PROG_TYPE_CGROUP_DEVICE program berth
// attaches to the container's cgroup, checked by opening device nodes from
// processes in that cgroup.
//
// The manager tests run wherever there is a cgroup2 tree: the kernel runs a
// cgroup2 cgroup's device programs for its processes on a hybrid host too, on
// top of the v1 devices controller (which leaves these host processes alone).
// The container tests need the container's own cgroup to be v2, i.e. the VM
// lane here (npm run test:vm -- test/integration/cgroups-v2-devices.test.js);
// on hybrid hosts containers get their device rules from v1 and are tested by
// the v1 path.
import test from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createContainer } from '../../dist/lib/index.js';
// Internal: the manager itself, layout detection for skip reasons, and the
// addon's BPF_PROG_QUERY to see what is attached.
import { createCgroupManager } from '../../dist/lib/cgroups/index.js';
import { detectLayout } from '../../dist/lib/host/index.js';
import { native } from '../../dist/lib/native/addon.js';
import { assertNoLeaks, ROOTFS, settledSnapshot, stateRootFor } from './helpers.js';

const stateRoot = stateRootFor('cgroups-v2-devices');
const SLOW = process.env.BERTH_VM ? 4 : 1;

const isRoot = process.getuid?.() === 0;
const layout = isRoot ? await detectLayout().catch(() => null) : null;
const managerSkip = !isRoot ? 'not root' : !layout?.unifiedMount ? 'no cgroup2 tree on this host' : null;
const containerSkip = managerSkip ?? (layout.layout !== 'v2'
  ? `the container's cgroup is not v2 on this ${layout.layout} host (its device rules are v1's devices.allow/deny); run the VM lane: npm run test:vm -- test/integration/cgroups-v2-devices.test.js`
  : null);

function gated(title, reason, fn) {
  if (reason) {
    console.log(`# skipped "${title}": ${reason}`);
    return test.serial.skip(`${title} (skipped: ${reason})`, fn);
  }
  return test.serial(title, fn);
}

const ids = new Set();
let seq = 0;
const newId = (kind) => {
  const id = `dev${kind}-${process.pid}-${++seq}`;
  ids.add(id);
  return id;
};
const unifiedDir = (id) => path.join(layout.unifiedMount, 'berth', id);

test.after.always('no cgroup directory of this file is left', (t) => {
  if (!layout?.unifiedMount) return t.pass();
  t.deepEqual([...ids].map(unifiedDir).filter((d) => fs.existsSync(d)), []);
});

/** How many loaded BPF programs this process holds an fd of. */
function bpfProgFds() {
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:bpf-prog') n++;
    } catch {
      // readdir's own fd, gone by now
    }
  }
  return n;
}

// A shell function for the probes: "<node> opens" or "<node> <sh's error>",
// the error carrying strerror(errno) ("Operation not permitted" for EPERM).
// r opens O_RDONLY, w O_WRONLY|O_CREAT|O_TRUNC (a no-op on a device node).
const PROBE = 'probe() { if [ "$1" = r ]; then e=$( (exec 3<"$2") 2>&1 ); else e=$( (exec 3>"$2") 2>&1 ); fi; echo "$1 $2 ${e:-opens}"; }';

/** Parses probe lines into { 'r /dev/null': 'opens', 'r /dev/zero': 'EPERM', ... }. */
function probes(out) {
  const o = {};
  for (const line of out.split('\n')) {
    const m = /^([rw]) (\S+) (.*)$/.exec(line);
    if (!m) continue;
    o[`${m[1]} ${m[2]}`] = m[3] === 'opens' ? 'opens' : /Operation not permitted/.test(m[3]) ? 'EPERM' : m[3];
  }
  return o;
}

// ---- the manager, on this host's cgroup2 tree ----------------------------------

/** A host shell that moves itself into the cgroup, then runs the probes. */
function probeInCgroup(dir, script) {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', `echo $$ > ${dir}/cgroup.procs || exit 90; ${PROBE}; ${script}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(probes(out)) : reject(new Error(`probe exited ${code}: ${out}`))));
  });
}

gated('v2 manager: create() attaches the program, update() replaces it atomically, destroy() detaches it and closes its fd', managerSkip, async (t) => {
  if (layout.layout !== 'v2') t.log(`the v2 manager on the ${layout.layout} host's cgroup2 tree ${layout.unifiedMount}`);
  const fdsBefore = bpfProgFds();
  const m = createCgroupManager({ id: newId('m'), layout: 'v2' });
  t.teardown(() => m.destroy());
  await m.create({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }] });
  const first = native.queryDevicePrograms(m.unifiedPath);
  t.is(first.length, 1, 'one device program attached');
  t.is(bpfProgFds(), fdsBefore + 1, 'the manager holds its fd');

  t.deepEqual(await probeInCgroup(m.unifiedPath, 'probe r /dev/null; probe w /dev/null; probe r /dev/zero; probe w /dev/full'), {
    'r /dev/null': 'opens',
    'w /dev/null': 'opens',
    'r /dev/zero': 'EPERM',
    'w /dev/full': 'EPERM',
  });

  await m.update({ devices: [{ allow: true, type: 'c', major: 1, minor: 5, access: 'r' }] });
  const second = native.queryDevicePrograms(m.unifiedPath);
  t.is(second.length, 1, 'replaced, not added');
  t.not(second[0], first[0]);
  t.is(bpfProgFds(), fdsBefore + 1, 'the old program\'s fd is closed');
  t.deepEqual(await probeInCgroup(m.unifiedPath, 'probe r /dev/zero; probe w /dev/zero; probe r /dev/null'), {
    'r /dev/zero': 'opens',
    'w /dev/zero': 'EPERM',
    'r /dev/null': 'opens',
  });

  await m.update({ devices: [{ allow: false, type: 'c', major: 1, minor: 3, access: 'r' }] });
  t.deepEqual(await probeInCgroup(m.unifiedPath, 'probe r /dev/null; probe w /dev/null'), { 'r /dev/null': 'EPERM', 'w /dev/null': 'opens' });

  await m.destroy();
  t.false(fs.existsSync(m.unifiedPath), 'the cgroup is removed');
  t.is(bpfProgFds(), fdsBefore, 'no program fd left');
});

gated('v2 manager: rules that allow everything leave no program attached', managerSkip, async (t) => {
  const fdsBefore = bpfProgFds();
  // A parent of its own: under the shared /berth, emptied by the rmdir below,
  // another file's container could remove /berth meanwhile, and update() would
  // fail reading it (step enable-controllers) before it reached the attach.
  const id = newId('m');
  const m = createCgroupManager({ id, cgroupsPath: `/berth-devtest-${process.pid}/${id}`, layout: 'v2' });
  t.teardown(() => m.destroy());
  await m.create({ devices: [{ allow: false, access: 'rwm' }] });
  t.is(native.queryDevicePrograms(m.unifiedPath).length, 1);
  t.deepEqual(await probeInCgroup(m.unifiedPath, 'probe r /dev/null'), { 'r /dev/null': 'EPERM' });
  await m.update({ devices: [{ allow: true, access: 'rwm' }] });
  t.deepEqual(native.queryDevicePrograms(m.unifiedPath), [], 'detached');
  t.is(bpfProgFds(), fdsBefore, 'and its fd closed');
  t.deepEqual(await probeInCgroup(m.unifiedPath, 'probe r /dev/null; probe r /dev/zero'), { 'r /dev/null': 'opens', 'r /dev/zero': 'opens' });
  await m.destroy();
  t.false(fs.existsSync(m.unifiedPath));
});

gated('v2 manager: a program that cannot be attached rejects with CGROUP_FAILED naming the step, errno, syscall and cgroup', managerSkip, async (t) => {
  const fdsBefore = bpfProgFds();
  // A parent of its own: under the shared /berth, emptied by the rmdir below,
  // another file's container could remove /berth meanwhile, and update() would
  // fail reading it (step enable-controllers) before it reached the attach.
  const id = newId('m');
  const m = createCgroupManager({ id, cgroupsPath: `/berth-devtest-${process.pid}/${id}`, layout: 'v2' });
  t.teardown(() => m.destroy());
  await m.create({ devices: [{ allow: false, access: 'rwm' }] });
  // The cgroup vanishing under the manager is the one attach failure a test can cause for real.
  fs.rmdirSync(m.unifiedPath);
  const err = await t.throwsAsync(m.update({ devices: [{ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }] }));
  t.is(err.name, 'CgroupError');
  t.is(err.code, 'CGROUP_FAILED');
  t.is(err.step, 'devices');
  t.is(err.errno, 'ENOENT');
  t.is(err.syscall, 'open');
  t.is(err.path, m.unifiedPath);
  t.regex(err.message, /cannot attach the device cgroup program/);
  t.is(bpfProgFds(), fdsBefore + 1, 'the program that failed to attach is closed; the attached one is still held');
  await m.destroy();
  t.is(bpfProgFds(), fdsBefore, 'destroy closes it although the cgroup is gone');
});

// The verifier returns EAGAIN whenever a signal is pending on the loading
// thread; Node takes SIGCHLD for every container that exits, and in the VM
// lane the slow verifier made a plain create fail this way. Under a flood of
// signals at this process, every load must still succeed.
gated('loading the device program survives a flood of signals at the caller (the verifier\'s EAGAIN)', isRoot ? null : 'not root', async (t) => {
  const { deviceFilter } = await import('../../dist/lib/cgroups/device-filter.js');
  const rules = [{ allow: false, access: 'rwm' }];
  // ~3,200 instructions: long enough for the verifier to be caught by a signal.
  for (let i = 0; i < 400; i++) rules.push({ allow: true, type: 'c', major: i % 256, minor: i, access: 'rw' });
  const insns = deviceFilter(rules);
  const onWinch = () => {};
  process.on('SIGWINCH', onWinch);
  // Bursts of four, then a sleep: a tight loop of kills (one per few µs) outran
  // the loop's handling of them (a JS call per SIGWINCH, far slower under
  // emulation), and libuv's signal-pipe reader never returned to the loop: the
  // VM lane hung right here. Bursts still catch every slow load many times.
  const kill = `kill -WINCH ${process.pid} 2>/dev/null`;
  const flood = spawn('/bin/sh', ['-c', `while ${kill} && ${kill} && ${kill} && ${kill}; do sleep 0.001; done`], { stdio: 'ignore' });
  const floodExited = new Promise((r) => flood.once('exit', r));
  // The handler goes first: while it is installed each SIGWINCH is a message in
  // libuv's signal pipe, and with the loop held by the loads (seconds under
  // emulation) the pipe fills and libuv drops what does not fit, the flood's
  // SIGCHLD among them; its exit was then never seen (the VM lane hung here).
  // Even so a SIGCHLD can meet a pipe still full of SIGWINCH messages and be
  // dropped (libuv does not retry a full pipe), and then Node reaps the flood
  // only at the next SIGCHLD: its end is seen in /proc (a zombie is dead) when
  // the 'exit' event does not come, never waited for without a bound.
  const stopFlood = async () => {
    process.off('SIGWINCH', onWinch);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r)); // let the loop drain the pipe
    flood.kill('SIGKILL');
    const gone = () => {
      try {
        return /^\d+ \(.*\) [ZX]/.test(fs.readFileSync(`/proc/${flood.pid}/stat`, 'utf8'));
      } catch {
        return true;
      }
    };
    const until = Date.now() + 10_000;
    let exited = false;
    void floodExited.then(() => (exited = true));
    while (!exited && !gone() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  };
  t.teardown(stopFlood);
  await new Promise((r) => setTimeout(r, 100));
  const failures = [];
  // Ten loads, or as many as fit in 3 s (each one blocks this thread: under
  // software emulation with a flood of signals one takes seconds); at least two.
  const t0 = performance.now();
  let loads = 0;
  while (loads < 10 && (loads < 2 || performance.now() - t0 < 3000)) {
    loads++;
    try {
      native.close(native.loadDeviceProgram(insns));
    } catch (err) {
      failures.push(err.message);
    }
  }
  t.log(`${loads} loads in ${(performance.now() - t0).toFixed(0)} ms under the flood`);
  await stopFlood();
  t.deepEqual(failures, []);
});

// ---- containers whose cgroup is v2 -----------------------------------------------

// runc's default set plus CAP_MKNOD: the cgroup, not a missing capability, is what refuses.
const CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_MKNOD'];

async function runProbes(t, { resources, devices, script }) {
  const id = newId('c');
  const c = await createContainer({
    id,
    rootfs: ROOTFS,
    stateRoot,
    process: { args: ['/bin/sh', '-c', `${PROBE}; ${script} 2>&1`], stdio: ['ignore', 'pipe', 'pipe'], capabilities: { bounding: CAPS, effective: CAPS, permitted: CAPS } },
    linux: { ...(resources ? { resources } : {}), ...(devices ? { devices } : {}) },
  });
  t.teardown(() => c.destroy());
  const init = await c.start();
  let out = '';
  init.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  init.stderr.setEncoding('utf8').on('data', (d) => (out += d));
  const status = await init.wait();
  await new Promise((r) => (init.stdout.readableEnded ? r() : init.stdout.once('end', r)));
  t.deepEqual(status, { exitCode: 0, signal: null }, out);
  return { c, out, got: probes(out) };
}

gated('default container: the standard nodes open; a mknod\'ed /dev/sda-like node (8:0) and /dev/net/tun do not, even with CAP_MKNOD', containerSkip, async (t) => {
  const before = await settledSnapshot(stateRoot);
  // The mknods succeeding show both the capability and the rules' "m" for every node.
  const { c, out, got } = await runProbes(t, {
    script: 'mknod /dev/t-sda b 8 0 && mknod /dev/t-tun c 10 200 && echo mknod-ok; '
      + 'for n in null zero full random urandom; do probe r /dev/$n; probe w /dev/$n; done; probe w /dev/ptmx; probe r /dev/t-sda; probe w /dev/t-sda; probe r /dev/t-tun',
  });
  t.regex(out, /^mknod-ok$/m);
  for (const n of ['null', 'zero', 'full', 'random', 'urandom']) {
    t.is(got[`r /dev/${n}`], 'opens', `r /dev/${n}`);
    t.is(got[`w /dev/${n}`], 'opens', `w /dev/${n}`);
  }
  t.is(got['w /dev/ptmx'], 'opens');
  // Without the program the kernel would get as far as the driver: ENXIO (no such disk), ENODEV or a tun open.
  t.is(got['r /dev/t-sda'], 'EPERM');
  t.is(got['w /dev/t-sda'], 'EPERM');
  t.is(got['r /dev/t-tun'], 'EPERM');
  await c.destroy();
  await assertNoLeaks(t, before, stateRoot);
});

gated('linux.resources.devices: an allowed node opens, with the access allowed only; a denied one fails with EPERM', containerSkip, async (t) => {
  const before = await settledSnapshot(stateRoot);
  // 1:11 is /dev/kmsg: a write-only open (nothing written) needs no capability.
  const { c, got } = await runProbes(t, {
    resources: { devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 11, access: 'w' }] },
    script: 'mknod /dev/t-kmsg c 1 11; mknod /dev/t-sda b 8 0; probe w /dev/t-kmsg; probe r /dev/t-sda; probe w /dev/null',
  });
  t.deepEqual(got, { 'w /dev/t-kmsg': 'opens', 'r /dev/t-sda': 'EPERM', 'w /dev/null': 'opens' });
  await c.destroy();
  await assertNoLeaks(t, before, stateRoot);
});

async function execProbes(c, script) {
  const p = await c.exec({ args: ['/bin/sh', '-c', `${PROBE}; ${script} 2>&1`] });
  const chunks = [];
  p.stdout.on('data', (d) => chunks.push(d));
  const [status] = await Promise.all([p.wait(), new Promise((r) => p.stdout.on('close', r))]);
  const out = Buffer.concat(chunks).toString();
  if (status.exitCode !== 0) throw new Error(`exec exited ${JSON.stringify(status)}: ${out}`);
  return probes(out);
}

gated('update() changes the device rules of a running container; destroy leaves no program attached', containerSkip, async (t) => {
  t.timeout(120_000 * SLOW);
  const before = await settledSnapshot(stateRoot);
  const fdsBefore = bpfProgFds();
  const id = newId('c');
  const c = await createContainer({
    id,
    rootfs: ROOTFS,
    stateRoot,
    process: { args: ['sleep', '1000'], capabilities: { bounding: CAPS, effective: CAPS, permitted: CAPS } },
  });
  t.teardown(() => c.destroy());
  await c.start();
  const dir = unifiedDir(id);
  const first = native.queryDevicePrograms(dir);
  t.is(first.length, 1, 'the container\'s cgroup has its program');
  t.is(bpfProgFds(), fdsBefore + 1);

  // exec'd processes take the init's capabilities, CAP_MKNOD included.
  t.deepEqual(await execProbes(c, 'mknod /dev/t-kmsg c 1 11; probe w /dev/t-kmsg; probe w /dev/null'), { 'w /dev/t-kmsg': 'EPERM', 'w /dev/null': 'opens' });
  await c.update({ devices: [{ allow: true, type: 'c', major: 1, minor: 11, access: 'w' }] });
  t.deepEqual(await execProbes(c, 'probe w /dev/t-kmsg'), { 'w /dev/t-kmsg': 'opens' }, 'the node that was denied opens now');
  await c.update({ devices: [{ allow: false, type: 'c', major: 1, minor: 3, access: 'rwm' }] });
  t.deepEqual(await execProbes(c, 'probe r /dev/null; probe w /dev/t-kmsg'), { 'r /dev/null': 'EPERM', 'w /dev/t-kmsg': 'opens' }, 'and a later deny takes /dev/null away');
  const last = native.queryDevicePrograms(dir);
  t.is(last.length, 1, 'one program after two updates');
  t.not(last[0], first[0]);
  t.is(bpfProgFds(), fdsBefore + 1, 'replaced programs\' fds are closed');

  await c.destroy();
  t.false(fs.existsSync(dir), 'the cgroup (and with it any attachment) is gone');
  t.is(bpfProgFds(), fdsBefore, 'no program fd left in this process');
  await assertNoLeaks(t, before, stateRoot);
});
