// cgroup limits through the public Container API, checked from inside the
// container where possible: OOM kill, pids limit, cpu quota, pause/resume,
// stats, live update, destroy of a fork bomb, invalid values. Runs on the
// hybrid development hosts and in the pure cgroup v2 VM lane (npm run test:vm).
// Every test checks that nothing is left behind: fds, mounts, state dirs,
// children, zombies, and the container's cgroup directory in every hierarchy.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createContainer } from '../../dist/lib/index.js';
// Internal, for skip reasons and leak checks only (which hierarchies exist here).
import { detectLayout } from '../../dist/lib/host/index.js';
import { assertNoLeaks, isAlive, ROOTFS, settledSnapshot, snapshot, stateRootFor } from './helpers.js';
import { when } from './when.js';

const stateRoot = stateRootFor('cgroups-container');
const MiB = 2 ** 20;
// Under TCG (the VM lane) everything is several times slower.
const SLOW = process.env.BERTH_VM ? 4 : 1;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// (helpers.js opens libuv's per-loop inotify fd before any fd snapshot.)

const isRoot = process.getuid?.() === 0;
const layout = isRoot ? await detectLayout().catch(() => null) : null;
const unifiedControllers = layout?.unifiedMount
  ? fs.readFileSync(path.join(layout.unifiedMount, 'cgroup.controllers'), 'utf8').trim().split(/\s+/)
  : [];

/** Why this host cannot run a test that needs these controllers, or null. */
function lacking(...controllers) {
  if (!isRoot) return 'not root';
  if (!layout) return 'no cgroup hierarchy mounted';
  for (const c of controllers) {
    if (layout.layout === 'v2') {
      // The v2 core freezer (cgroup.freeze) needs no controller.
      if (c !== 'freezer' && !unifiedControllers.includes(c)) return `no ${c} controller in the cgroup2 tree`;
    } else if (c === 'freezer') {
      if (!layout.v1.freezer && !layout.unifiedMount) return 'no freezer (v1) and no cgroup2 tree';
    } else if (!layout.v1[c]) {
      return `no v1 ${c} controller mounted`;
    }
  }
  return null;
}

/** test.serial, or a skip whose title carries the reason (also printed at load time). */
function cgtest(title, controllers, fn) {
  const reason = lacking(...controllers);
  if (reason) {
    console.log(`# skipped "${title}": ${reason}`);
    return test.serial.skip(`${title} (skipped: ${reason})`, fn);
  }
  return test.serial(title, fn);
}

/** The mount point of every cgroup hierarchy on this host. */
function hierarchyMounts() {
  if (!layout) return [];
  const mounts = new Set(Object.values(layout.v1));
  if (layout.unifiedMount) mounts.add(layout.unifiedMount);
  return [...mounts];
}

/** Every directory the container's cgroup `berth/<id>` maps to on this host. */
function cgroupDirs(id) {
  return hierarchyMounts().map((m) => path.join(m, 'berth', id));
}

const ids = new Set();
let seq = 0;
const newId = () => {
  const id = `cgc-${process.pid}-${++seq}`;
  ids.add(id);
  return id;
};

test.after.always('no cgroup directory of this file is left in any hierarchy', (t) => {
  const left = [...ids].flatMap(cgroupDirs).filter((d) => fs.existsSync(d));
  t.deepEqual(left, []);
});

/**
 * Creates and starts a container and registers its destruction, whatever the test does.
 * Collects stdout/stderr; `until(re)` waits for stdout to match.
 */
async function started(t, resources, script, extra = {}) {
  // extra.beforeStart(c): e.g. listeners that must be there before the program runs.
  const id = newId();
  const c = await createContainer({
    id,
    rootfs: ROOTFS,
    stateRoot,
    process: { args: ['/bin/sh', '-c', script], stdio: ['pipe', 'pipe', 'pipe'] },
    linux: { resources },
  });
  t.teardown(() => c.destroy());
  extra.beforeStart?.(c);
  const init = await c.start();
  const out = { stdout: '', stderr: '' };
  init.stdout.setEncoding('utf8').on('data', (d) => (out.stdout += d));
  init.stderr.setEncoding('utf8').on('data', (d) => (out.stderr += d));
  const until = async (re, timeoutMs = 10000 * SLOW) => {
    const deadline = Date.now() + timeoutMs;
    while (!re.test(out.stdout)) {
      if (Date.now() > deadline || !init.running) {
        throw new Error(`stdout never matched ${re} (running: ${init.running}); stdout: ${out.stdout.slice(-300)} stderr: ${out.stderr.slice(-300)}`);
      }
      await sleep(10);
    }
  };
  return { c, init, id, out, until };
}

/** Destroys and checks that nothing of the container remains. */
async function destroyAndCheck(t, c, before) {
  await c.destroy();
  t.deepEqual(cgroupDirs(c.id).filter((d) => fs.existsSync(d)), [], 'cgroup directories removed');
  t.false(fs.existsSync(path.join(stateRoot, c.id)), 'state directory removed');
  await assertNoLeaks(t, before, stateRoot);
}

/** /proc/<pid>/stat starttime, or null when the pid is gone. */
function startTime(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return null;
  }
}

function statusFile(id) {
  return JSON.parse(fs.readFileSync(path.join(stateRoot, id, 'state.json'), 'utf8')).status;
}

// ---- memory ------------------------------------------------------------------

/** The OCI swap value (memory+swap) only where the kernel accounts swap: v1 memsw, v2 memory.swap.max. */
function swapSupported() {
  if (!layout) return false;
  // v2: memory.swap.max exists wherever the memory controller does, unless swap
  // accounting was turned off on the kernel command line.
  if (layout.layout === 'v2') return !/\bswapaccount=0\b/.test(fs.readFileSync('/proc/cmdline', 'utf8'));
  return fs.existsSync(path.join(layout.v1.memory, 'memory.memsw.limit_in_bytes'));
}

cgtest('a 64 MiB memory limit OOM-kills a 200 MB allocation: wait() says oomKilled and the oom event fired', ['memory'], async (t) => {
  t.timeout(120_000);
  const before = await settledSnapshot(stateRoot);
  const memory = { limit: 64 * MiB };
  if (swapSupported()) memory.swap = 64 * MiB; // memory+swap = memory: no swap at all
  else t.log('kernel does not account swap (no memsw / memory.swap.max): memory limit only');
  // The shell itself holds the 200 MB read through the command substitution, so the
  // init is what the OOM killer takes.
  let oomEvents = 0;
  const { c, init, out } = await started(t, { memory }, 'x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived ${#x}', {
    beforeStart: (c) => c.on('oom', () => oomEvents++),
  });
  const status = await init.wait();
  t.is(oomEvents >= 1, true, "the 'oom' event fired by the time wait() resolved");
  t.deepEqual(status, { exitCode: null, signal: 'SIGKILL', oomKilled: true });
  t.false(out.stdout.includes('survived'), 'the allocation did not succeed');
  const stats = await c.stats();
  t.true(stats.memory.oomKills >= 1, `oomKills ${stats.memory.oomKills}`);
  t.is(stats.memory.limit, 64 * MiB);
  t.true(stats.memory.peak <= 64 * MiB, `peak ${stats.memory.peak} within the limit`);
  t.is(c.status, 'stopped');
  await destroyAndCheck(t, c, before);
});

cgtest('a process that stays under the memory limit is not reported as OOM-killed', ['memory'], async (t) => {
  const before = await settledSnapshot(stateRoot);
  let oomEvents = 0;
  const { c, init, out } = await started(t, { memory: { limit: 64 * MiB } }, 'x=$(head -c 8000000 /dev/zero | tr "\\0" a); echo survived ${#x}', {
    beforeStart: (c) => c.on('oom', () => oomEvents++),
  });
  t.deepEqual(await init.wait(), { exitCode: 0, signal: null });
  t.is(out.stdout, 'survived 8000000\n');
  t.is(oomEvents, 0);
  await destroyAndCheck(t, c, before);
});

// ---- pids ----------------------------------------------------------------------

cgtest('pids limit 32: the 33rd process cannot be forked inside the container', ['pids'], async (t) => {
  const before = await settledSnapshot(stateRoot);
  // busybox ash exits when a fork fails, so every "ok" is one sleep that started.
  // The init shell is process 1 of 32; `$(seq ...)` runs (and exits) before the loop.
  const { c, init, out } = await started(t, { pids: { limit: 32 } }, 'for i in $(seq 1 60); do sleep 1000 & echo ok; done; echo all-started');
  const status = await init.wait();
  const oks = out.stdout.split('\n').filter((l) => l === 'ok').length;
  t.is(oks, 31, 'the shell and 31 sleeps fill the limit');
  t.false(out.stdout.includes('all-started'));
  t.regex(out.stderr, /can't fork/);
  t.deepEqual(status, { exitCode: 2, signal: null });
  await destroyAndCheck(t, c, before);
});

cgtest('update() raises the pids limit of a running container', ['pids'], async (t) => {
  const before = await settledSnapshot(stateRoot);
  // The init (never forking itself, so a failed fork cannot end it) runs one subshell
  // per line on stdin; each subshell starts N sleeps and dies at the first failed fork.
  // Sleeps of a round stay, reparented to the init.
  const script = 'while read n; do ( for i in $(seq 1 $n); do sleep 1000 & echo ok; done; echo all-started ); echo "round $?"; done';
  const { c, init, out, until } = await started(t, { pids: { limit: 16 } }, script);
  t.is((await c.stats()).pids.limit, 16);
  init.stdin.write('40\n');
  await until(/round \d+\n/);
  const round1 = out.stdout;
  const oks1 = round1.split('\n').filter((l) => l === 'ok').length;
  t.true(oks1 < 16, `only ${oks1} of 40 sleeps started under limit 16`);
  t.false(round1.includes('all-started'));
  t.not(round1.match(/round (\d+)/)[1], '0');

  await c.update({ pids: { limit: 64 } });
  t.is((await c.stats()).pids.limit, 64);
  out.stdout = '';
  init.stdin.write('40\n');
  await until(/round \d+\n/);
  const oks2 = out.stdout.split('\n').filter((l) => l === 'ok').length;
  t.is(oks2, 40, 'every sleep started after the update');
  t.regex(out.stdout, /all-started\nround 0\n/);
  t.is(c.status, 'running');
  await destroyAndCheck(t, c, before);
});

cgtest('destroy() of a fork bomb held by its pids limit leaves no process and no cgroup', ['pids', 'freezer'], async (t) => {
  t.timeout(120_000);
  const before = await settledSnapshot(stateRoot);
  // Every b forks two more b's and then blocks reading the init's stdin (saved as fd 3;
  // nobody writes to it). busybox ash exits when a fork fails, but the ones whose forks
  // succeeded stay, and the dead ones stay zombies of a blocked parent: the bomb sits
  // at the limit, every further fork refused.
  const script = 'exec 3<&0; b(){ b & b & read x <&3; }; b & read x <&3';
  const { c, init, out } = await started(t, { pids: { limit: 32 } }, script);
  // Held: the count reaches the limit and never goes over it.
  let max = 0;
  const deadline = Date.now() + 2000 * SLOW;
  while (Date.now() < deadline) {
    const { pids } = await c.stats();
    max = Math.max(max, pids.current);
    t.true(pids.current <= 32, `pids.current ${pids.current} <= 32`);
    await sleep(50);
  }
  t.is(max, 32, 'the bomb reached the limit');
  t.regex(out.stderr, /can't fork/, 'forks were refused');
  t.true(init.running, 'the init survived the bomb');
  const pids = await c.processes();
  t.true(pids.length >= 2 && pids.length <= 32, `${pids.length} processes`);
  const seen = pids.map((pid) => ({ pid, start: startTime(pid) }));
  await c.destroy();
  const survivors = seen.filter(({ pid, start }) => start !== null && startTime(pid) === start);
  t.deepEqual(survivors, [], 'no process of the container survived destroy()');
  t.false(isAlive(c.pid));
  t.deepEqual(await c.processes(), []);
  await destroyAndCheck(t, c, before);
});

// ---- cpu -----------------------------------------------------------------------

/** cpu time / wall time of the container over `ms`. */
async function cpuShare(c, ms) {
  const s0 = await c.stats();
  const t0 = process.hrtime.bigint();
  await sleep(ms);
  const s1 = await c.stats();
  const wallUsec = Number(process.hrtime.bigint() - t0) / 1000;
  return {
    ratio: (s1.cpu.usageUsec - s0.cpu.usageUsec) / wallUsec,
    throttled: s1.cpu.nrThrottled - s0.cpu.nrThrottled,
  };
}

cgtest('a 50% cpu quota keeps a busy loop near half of one cpu', ['cpu', ...(layout?.layout === 'v2' ? [] : ['cpuacct'])], async (t) => {
  t.timeout(120_000);
  const before = await settledSnapshot(stateRoot);
  const { c } = await started(t, { cpu: { quota: 50000, period: 100000 } }, 'while :; do :; done');
  await sleep(300 * SLOW); // past the start-up
  let m = await cpuShare(c, 1500 * SLOW);
  t.log(`cpu/wall ${m.ratio.toFixed(3)}, throttled ${m.throttled} periods`);
  // Above the band cannot be noise (the quota is a hard cap); below it can be a busy
  // shared host starving the loop (2 cores, other test files alongside: 0.27 seen
  // once in a full run): measure again, up to three more times, in that case.
  for (let i = 0; i < 3 && m.ratio < 0.35; i++) {
    m = await cpuShare(c, 1500 * SLOW);
    t.log(`below the band (starved?); again: cpu/wall ${m.ratio.toFixed(3)}, throttled ${m.throttled} periods`);
  }
  t.true(m.ratio >= 0.35 && m.ratio <= 0.65, `cpu/wall ${m.ratio.toFixed(3)} within 0.35..0.65`);
  t.true(m.throttled > 0, 'the quota throttled the loop');
  await destroyAndCheck(t, c, before);
});

// ---- pause / resume ----------------------------------------------------------

cgtest('pause() stops a counter inside the container, resume() restarts it; state paused between', ['freezer'], async (t) => {
  t.timeout(120_000);
  const before = await settledSnapshot(stateRoot);
  // Written to a temp file and renamed, so a reader never sees a half-written value.
  const script = 'i=0; while :; do i=$((i+1)); echo $i > /dev/shm/n.tmp; mv /dev/shm/n.tmp /dev/shm/n; done';
  const { c, id } = await started(t, undefined, script);
  // Read from the host through the init's root: an exec into a frozen container would freeze too.
  const file = `/proc/${c.pid}/root/dev/shm/n`;
  const read = () => {
    try {
      return Number(fs.readFileSync(file, 'utf8'));
    } catch {
      return 0;
    }
  };
  const advancing = async (from) => {
    const deadline = Date.now() + 5000 * SLOW;
    while (Date.now() < deadline) {
      if (read() > from + 5) return true;
      await sleep(20);
    }
    return false;
  };
  t.true(await advancing(0), 'the counter runs');

  await c.pause();
  t.is(c.status, 'paused');
  t.is(statusFile(id), 'paused');
  const a = read();
  await sleep(500 * SLOW);
  const b = read();
  t.true(a > 0);
  t.is(b, a, 'the counter did not move while paused');
  const cpuA = (await c.stats()).cpu.usageUsec;
  await sleep(200 * SLOW);
  t.is((await c.stats()).cpu.usageUsec, cpuA, 'no cpu time while paused');

  await c.resume();
  t.is(c.status, 'running');
  t.is(statusFile(id), 'running');
  t.true(await advancing(b), 'the counter runs again after resume()');
  await destroyAndCheck(t, c, before);
});

// ---- stats ---------------------------------------------------------------------

cgtest('stats() moves: cpu usage grows, memory follows an allocation, pids counts the processes', ['memory', 'pids', ...(layout?.layout === 'v2' ? ['cpu'] : ['cpuacct'])], async (t) => {
  const before = await settledSnapshot(stateRoot);
  // Idle until told, then hold 20 MB, report, and spin.
  const script = 'read go; x=$(head -c 20000000 /dev/zero | tr "\\0" a); echo ready; sleep 1000 & while :; do :; done';
  const { c, init, until } = await started(t, { pids: { limit: 100 } }, script);
  const s0 = await c.stats();
  t.true(s0.memory.current > 0, `memory.current ${s0.memory.current}`);
  t.true(s0.pids.current >= 1, `pids.current ${s0.pids.current}`);
  t.is(s0.pids.limit, 100);
  init.stdin.write('go\n');
  await until(/ready\n/);
  await sleep(300 * SLOW);
  const s1 = await c.stats();
  t.true(s1.cpu.usageUsec > s0.cpu.usageUsec, `cpu ${s0.cpu.usageUsec} -> ${s1.cpu.usageUsec}`);
  t.true(s1.cpu.userUsec + s1.cpu.systemUsec > 0);
  t.true(s1.memory.current >= s0.memory.current + 15 * MiB, `memory ${s0.memory.current} -> ${s1.memory.current}`);
  t.true(s1.memory.peak >= s1.memory.current || s1.memory.peak === 0, `peak ${s1.memory.peak}`);
  t.is(s1.memory.oomKills, 0);
  t.is(s1.pids.current, 2, 'the shell and its sleep');
  t.deepEqual((await c.processes()).length, 2);
  for (const k of ['readBytes', 'writeBytes', 'readOps', 'writeOps']) t.true(Number.isInteger(s1.io[k]) && s1.io[k] >= 0, `io.${k}`);
  await destroyAndCheck(t, c, before);
});

// ---- invalid values --------------------------------------------------------------

cgtest('invalid resources are refused by createContainer naming the field, leaving nothing behind', [], async (t) => {
  const before = await settledSnapshot(stateRoot);
  const cases = [
    [{ memory: { limit: -5 } }, 'linux.resources.memory.limit'],
    [{ cpu: { cpus: '0-999' } }, 'linux.resources.cpu.cpus'],
    [{ pids: { limit: 1.5 } }, 'linux.resources.pids.limit'],
    // OCI fields berth does not apply: refused, not ignored.
    [{ network: { classID: 0x100001 } }, 'linux.resources.network.classID'],
    [{ rdma: { mlx5_0: { hcaHandles: 2 } } }, 'linux.resources.rdma.mlx5_0'],
    [{ blockIO: { leafWeight: 300 } }, 'linux.resources.blockIO.leafWeight'],
    [{ memory: { useHierarchy: false } }, 'linux.resources.memory.useHierarchy'],
    ...(layout?.layout === 'v2' ? [[{ memory: { swappiness: 10 } }, 'linux.resources.memory.swappiness'], [{ memory: { disableOOMKiller: true } }, 'linux.resources.memory.disableOOMKiller']] : []),
  ];
  for (const [resources, field] of cases) {
    const id = newId();
    const err = await t.throwsAsync(
      createContainer({ id, rootfs: ROOTFS, stateRoot, process: { args: ['/bin/true'] }, linux: { resources } }),
      { code: 'INVALID_CONFIG' },
    );
    t.is(err?.field, field);
    t.true(err?.message.includes(field), err?.message);
    t.false(fs.existsSync(path.join(stateRoot, id)), 'no state directory');
    t.deepEqual(cgroupDirs(id).filter((d) => fs.existsSync(d)), [], 'no cgroup directory');
  }
  await assertNoLeaks(t, before, stateRoot);
});

cgtest('a value the kernel refuses rejects with the file and errno, leaving nothing behind', ['cpu'], async (t) => {
  const before = await settledSnapshot(stateRoot);
  // Valid by itself, but the kernel refuses a burst larger than the quota (EINVAL).
  const burstFile = layout.layout === 'v2' ? 'cpu.max.burst' : 'cpu.cfs_burst_us';
  const id = newId();
  const err = await t.throwsAsync(
    createContainer({ id, rootfs: ROOTFS, stateRoot, process: { args: ['/bin/true'] }, linux: { resources: { cpu: { quota: 10000, period: 100000, burst: 50000 } } } }),
    { code: 'CGROUP_FAILED' },
  );
  t.log(err?.message);
  t.is(path.basename(err?.path ?? ''), burstFile);
  t.is(err?.errno, 'EINVAL');
  t.false(fs.existsSync(path.join(stateRoot, id)), 'no state directory');
  t.deepEqual(cgroupDirs(id).filter((d) => fs.existsSync(d)), [], 'no cgroup directory');
  await assertNoLeaks(t, before, stateRoot);
});

// ---- fields checked in their cgroup files ------------------------------------------

/** The container's directory in the hierarchy that holds `controller` ('unified': the cgroup2 tree). */
function controllerDir(id, controller) {
  const mount = controller === 'unified' || layout.layout === 'v2' ? layout.unifiedMount : layout.v1[controller];
  return path.join(mount, 'berth', id);
}
const readCg = (id, controller, file) => fs.readFileSync(path.join(controllerDir(id, controller), file), 'utf8').trim();

cgtest('memory.swappiness, disableOOMKiller and kernelTCP (v1), cpu.idle and cpu.burst reach their files', ['memory', 'cpu'], async (t) => {
  const before = await settledSnapshot(stateRoot);
  const v2 = layout.layout === 'v2';
  // cpu.idle (SCHED_IDLE cgroups) came with Linux 5.15.
  const [major, minor] = os.release().split('.').map(Number);
  const hasIdle = major > 5 || (major === 5 && minor >= 15);
  const cpu = { quota: 50000, period: 100000, burst: 20000, ...(hasIdle ? { idle: 1 } : {}) };
  const { c, id, until } = await started(t, { memory: v2 ? { limit: 256 * MiB } : { swappiness: 7, disableOOMKiller: true, kernelTCP: 16 * MiB }, cpu }, 'echo up; exec sleep 100');
  await until(/up/);
  if (v2) {
    t.is(readCg(id, 'cpu', 'cpu.max.burst'), '20000');
  } else {
    t.is(readCg(id, 'memory', 'memory.swappiness'), '7');
    t.regex(readCg(id, 'memory', 'memory.oom_control'), /^oom_kill_disable 1$/m);
    t.is(readCg(id, 'memory', 'memory.kmem.tcp.limit_in_bytes'), String(16 * MiB));
    t.is(readCg(id, 'cpu', 'cpu.cfs_burst_us'), '20000');
  }
  if (hasIdle) t.is(readCg(id, 'cpu', 'cpu.idle'), '1');
  else t.log(`kernel ${os.release()} has no cpu.idle (5.15+): not checked`);
  await destroyAndCheck(t, c, before);
});

cgtest('memory.checkBeforeUpdate: update() refuses a limit below the usage and writes nothing; a limit above it applies', ['memory'], async (t) => {
  const before = await settledSnapshot(stateRoot);
  const limitFile = layout.layout === 'v2' ? 'memory.max' : 'memory.limit_in_bytes';
  // 32 MiB in /dev/shm (tmpfs pages are charged to the cgroup) stay charged while it runs.
  const { c, id, until } = await started(t, { memory: { limit: 512 * MiB, checkBeforeUpdate: true } }, 'head -c 33554432 /dev/zero > /dev/shm/fill && echo up; exec sleep 100');
  await until(/up/);
  const usage = (await c.stats()).memory.current;
  t.true(usage >= 32 * MiB, `usage ${usage}`);
  // The create config's checkBeforeUpdate holds for later updates, and an update's own says it too.
  for (const memory of [{ limit: 16 * MiB }, { limit: 16 * MiB, checkBeforeUpdate: true }]) {
    const err = await t.throwsAsync(c.update({ memory }), { code: 'INVALID_CONFIG' });
    t.is(err?.field, 'resources.memory.limit');
    t.regex(err?.message ?? '', /not above the container's memory usage/);
    t.is(readCg(id, 'memory', limitFile), String(512 * MiB), 'nothing written');
  }
  await c.update({ memory: { limit: 256 * MiB } });
  t.is(readCg(id, 'memory', limitFile), String(256 * MiB));
  await destroyAndCheck(t, c, before);
});

const hugetlbHere = () => {
  if (!fs.existsSync('/sys/kernel/mm/hugepages/hugepages-2048kB')) return 'no 2MB huge pages on this host';
  if (layout.layout === 'v1' || (layout.layout === 'hybrid' && layout.v1.hugetlb)) return layout.v1.hugetlb ? null : 'no hugetlb controller';
  return unifiedControllers.includes('hugetlb') ? null : 'no hugetlb controller in the cgroup2 tree';
};

test.serial('hugepageLimits reach hugetlb.2MB.* (on a hybrid host in the unified tree, whose parents the child enables it in)', async (t) => {
  const reason = lacking() ?? hugetlbHere();
  if (reason) {
    t.log(`skipped: ${reason}`);
    t.pass();
    return;
  }
  const before = await settledSnapshot(stateRoot);
  const { c, id, until } = await started(t, { hugepageLimits: [{ pageSize: '2MB', limit: 4 * 2 * MiB }] }, 'echo up; exec sleep 100');
  await until(/up/);
  if (layout.layout === 'v2' || !layout.v1.hugetlb) {
    t.is(readCg(id, 'unified', 'hugetlb.2MB.max'), String(8 * MiB));
    if (fs.existsSync(path.join(controllerDir(id, 'unified'), 'hugetlb.2MB.rsvd.max'))) t.is(readCg(id, 'unified', 'hugetlb.2MB.rsvd.max'), String(8 * MiB));
  } else {
    t.is(readCg(id, 'hugetlb', 'hugetlb.2MB.limit_in_bytes'), String(8 * MiB));
  }
  await destroyAndCheck(t, c, before);
});

test.serial('cpu.realtimeRuntime the parent cannot fund rejects naming the field and the rule (v1: new cgroups have no RT budget)', async (t) => {
  const reason = lacking('cpu') ?? (layout.layout === 'v2' ? 'cgroup v2: realtimeRuntime is refused by the config (unit-tested)' : null) ??
    (fs.existsSync(path.join(layout.v1.cpu, 'cpu.rt_runtime_us')) ? null : 'kernel without CONFIG_RT_GROUP_SCHED (no cpu.rt_runtime_us)');
  if (reason) {
    t.log(`skipped: ${reason}`);
    t.pass();
    return;
  }
  const before = await settledSnapshot(stateRoot);
  const id = newId();
  const err = await t.throwsAsync(
    createContainer({ id, rootfs: ROOTFS, stateRoot, process: { args: ['/bin/true'] }, linux: { resources: { cpu: { realtimeRuntime: 1000 } } } }),
    { code: 'CGROUP_FAILED' },
  );
  t.is(path.basename(err?.path ?? ''), 'cpu.rt_runtime_us');
  t.is(err?.errno, 'EINVAL');
  t.regex(err?.message ?? '', /linux\.resources\.cpu\.realtimeRuntime.*parent cgroup's/);
  t.false(fs.existsSync(path.join(stateRoot, id)), 'no state directory');
  t.deepEqual(cgroupDirs(id).filter((d) => fs.existsSync(d)), [], 'no cgroup directory');
  await assertNoLeaks(t, before, stateRoot);
});

// v1 only (cgtest skips on v2, where io.weight depends on blk-iocost; the message is unit-tested).
cgtest('blockIO.weight (v1): applied where the kernel has a weight file, else a CGROUP_FAILED that says what provides weights', ['blkio'], async (t) => {
  const before = await settledSnapshot(stateRoot);
  const present = ['blkio.weight', 'blkio.bfq.weight'].find((f) => fs.existsSync(path.join(layout.v1.blkio, f)));
  if (present) {
    const { c, id, until } = await started(t, { blockIO: { weight: 300 } }, 'echo up; exec sleep 100');
    await until(/up/);
    t.regex(readCg(id, 'blkio', present), /300/);
    await destroyAndCheck(t, c, before);
    return;
  }
  const id = newId();
  const err = await t.throwsAsync(
    createContainer({ id, rootfs: ROOTFS, stateRoot, process: { args: ['/bin/true'] }, linux: { resources: { blockIO: { weight: 300 } } } }),
    { code: 'CGROUP_FAILED' },
  );
  t.log(err?.message);
  t.is(err?.errno, 'ENOENT');
  t.regex(err?.message ?? '', /linux\.resources\.blockIO\.weight.*CONFIG_BFQ_GROUP_IOSCHED/);
  t.deepEqual(cgroupDirs(id).filter((d) => fs.existsSync(d)), [], 'no cgroup directory');
  await assertNoLeaks(t, before, stateRoot);
});

// ---- concurrency ---------------------------------------------------------------

cgtest('concurrent creates under a new parent cgroup all start (v1: the parent cpuset is seeded before use)', ['cpuset'], async (t) => {
  const before = await settledSnapshot(stateRoot);
  const parent = `cgc-race-${process.pid}`;
  const parentDirs = hierarchyMounts().map((m) => path.join(m, parent));
  // The parent is shared, and only its creator removes it (when it is the last one out):
  // whatever is left is ours to clean up.
  t.teardown(() => {
    for (const d of parentDirs) if (fs.existsSync(d)) fs.rmdirSync(d);
  });
  const n = 8;
  const results = await Promise.allSettled(
    Array.from({ length: n }, async (_, i) => {
      const c = await createContainer({
        id: newId(), rootfs: ROOTFS, stateRoot, process: { args: ['/bin/true'], stdio: 'ignore' }, linux: { cgroupsPath: `${parent}/c${i}` },
      });
      try {
        await c.start();
        return await c.wait();
      } finally {
        await c.destroy();
      }
    }),
  );
  const failed = results.filter((r) => r.status === 'rejected').map((r) => `${r.reason.code} ${r.reason.errno} ${r.reason.path}`);
  t.deepEqual(failed, [], 'every concurrent create succeeded');
  t.deepEqual(results.filter((r) => r.status === 'fulfilled').map((r) => r.value), Array(n).fill({ exitCode: 0, signal: null }));
  for (const d of parentDirs) t.deepEqual(fs.existsSync(d) ? fs.readdirSync(d).filter((e) => /^c\d+$/.test(e)) : [], [], `no container cgroup left in ${d}`);
  await assertNoLeaks(t, before, stateRoot);
});

// What a Node, JVM or Go runtime in the container reads to size itself: its own
// cgroup at /sys/fs/cgroup (the default mount with a cgroup namespace of its
// own), read-only. Pure v2 only: v1 hierarchies are not mounted inside yet.
const notV2 = layout?.layout === 'v2' ? null : 'needs pure cgroup v2 (the VM lane runs it)';
when(notV2, 'the container sees its own cgroup at /sys/fs/cgroup, read-only: memory.max is its limit', async (t) => {
  const limit = 48 * 2 ** 20;
  const c = await createContainer({
    rootfs: ROOTFS,
    stateRoot,
    linux: { resources: { memory: { limit } } },
    process: { args: ['/bin/sh', '-c', 'cat /sys/fs/cgroup/memory.max; cat /proc/self/cgroup; touch /sys/fs/cgroup/x 2>&1 || true'], stdio: ['ignore', 'pipe', 'pipe'] },
  });
  try {
    const init = await c.start();
    let out = '';
    init.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    await init.wait();
    await new Promise((r) => (init.stdout.readableEnded ? r() : init.stdout.once('end', r)));
    const [max, cgroup, touch] = out.trim().split('\n');
    t.is(max, String(limit));
    t.is(cgroup, '0::/', 'the cgroup namespace is rooted at its cgroup');
    t.regex(touch ?? '', /Read-only file system/);
  } finally {
    await c.destroy();
  }
});
