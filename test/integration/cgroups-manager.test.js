// cgroup manager tests against the real kernel (run as root). Each test makes its own
// cgroups and processes and removes them in teardown; an after.always hook checks that
// no cgroup of this run is left in any hierarchy.
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, closeSync, fstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createCgroupManager, sharesToWeight, cpuMax, swapMaxV2, blkioWeightToIoWeight,
} from '../../dist/lib/cgroups/index.js';
import { detectLayout, readHostCgroupInfo, parseMountinfo } from '../../dist/lib/host/index.js';
import { validateResources } from '../../dist/lib/config/resources.js';

const isRoot = process.getuid?.() === 0;
const layout = await detectLayout().catch(() => null);
const host = layout ? await readHostCgroupInfo() : null;
const cgtest = isRoot && layout ? test.serial : test.serial.skip;
if (!isRoot || !layout) console.log(`# cgroup tests skipped: ${!isRoot ? 'not root' : 'no cgroup hierarchy mounted'}`);

const RUN = `t${process.pid}`;
let seq = 0;
const newId = () => `${RUN}-${++seq}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const MiB = 2 ** 20;

/** Every directory a cgroup path maps to on this host, for leak checks. */
function hierarchyDirs(rel) {
  const dirs = Object.values(layout.v1).map((m) => join(m, rel));
  if (layout.unifiedMount) dirs.push(join(layout.unifiedMount, rel));
  return [...new Set(dirs)];
}

/** A shell started waiting on stdin, so it can be placed in the cgroup before it does anything. */
async function spawnGated(script) {
  const child = spawn('sh', ['-c', `read _go; ${script}`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => (stdout += d));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  await new Promise((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  return { child, exited, go: () => child.stdin.write('go\n'), out: () => stdout, err: () => stderr };
}

/** Manager + teardown that kills what is in its cgroup, kills our own child, and removes the cgroup. */
function managed(t, opts = {}) {
  const id = newId();
  const m = createCgroupManager({ id, ...opts });
  const children = [];
  t.teardown(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await m.killAll().catch(() => undefined);
    await m.destroy();
  });
  return { id, m, own: (p) => (children.push(p.child), p) };
}

function procCgroups(pid) {
  return readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n').map((l) => {
    const [hid, ctrls, path] = l.split(':');
    return { hid, ctrls, path };
  });
}

async function waitFor(check, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(20);
  }
  return false;
}

test.after.always('no cgroup of this run is left behind', (t) => {
  if (!layout) return t.pass();
  const leftovers = [];
  for (const dir of hierarchyDirs('berth')) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) if (name.startsWith(`${RUN}-`)) leftovers.push(join(dir, name));
  }
  for (const dir of hierarchyDirs('berth-test-custom')) if (existsSync(dir)) leftovers.push(dir);
  t.deepEqual(leftovers, []);
});

// ---- pure functions --------------------------------------------------------------

test('conversions follow crun/runc', (t) => {
  t.is(sharesToWeight(2), 1);
  t.is(sharesToWeight(1024), 100);
  t.is(sharesToWeight(262144), 10000);
  t.true(sharesToWeight(512) < 100 && sharesToWeight(2048) > 100);
  t.is(cpuMax(50000, 100000), '50000 100000');
  t.is(cpuMax(-1, 100000), 'max 100000');
  t.is(cpuMax(50000, undefined), '50000 100000');
  t.is(cpuMax(undefined, undefined), null);
  t.is(swapMaxV2(128 * MiB, 64 * MiB), String(64 * MiB));
  t.is(swapMaxV2(64 * MiB, 64 * MiB), '0');
  t.is(swapMaxV2(-1, 64 * MiB), 'max');
  t.is(swapMaxV2(undefined, 64 * MiB), null);
  t.throws(() => swapMaxV2(64 * MiB, undefined));
  t.is(blkioWeightToIoWeight(10), 1);
  t.is(blkioWeightToIoWeight(1000), 10000);
  t.is(blkioWeightToIoWeight(500), 4950);
});

test('mountinfo parsing tells the three layouts apart', (t) => {
  const v2 = '30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n';
  const v1 = '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n';
  t.is(parseMountinfo(v2).layout, 'v2');
  t.is(parseMountinfo(v1).layout, 'v1');
  t.deepEqual(parseMountinfo(v1).v1, { cpu: '/sys/fs/cgroup/cpu,cpuacct', cpuacct: '/sys/fs/cgroup/cpu,cpuacct' });
  const hy = parseMountinfo(v1 + '41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n');
  t.is(hy.layout, 'hybrid');
  t.is(hy.unifiedMount, '/sys/fs/cgroup/unified');
});

const invalid = [
  [{ memory: { limit: -5 } }, 'linux.resources.memory.limit'],
  [{ memory: { limit: 1.5 } }, 'linux.resources.memory.limit'],
  [{ memory: { limit: 64 * MiB, swap: 32 * MiB } }, 'linux.resources.memory.swap'],
  [{ memory: { limti: 1 } }, 'linux.resources.memory.limti'],
  [{ pids: { limit: -2 } }, 'linux.resources.pids.limit'],
  [{ cpu: { cpus: '0-' } }, 'linux.resources.cpu.cpus'],
  [{ cpu: { cpus: '0,,1' } }, 'linux.resources.cpu.cpus'],
  [{ cpu: { cpus: '4096' } }, 'linux.resources.cpu.cpus'],
  [{ cpu: { mems: '63' } }, 'linux.resources.cpu.mems'],
  [{ cpu: { shares: -1 } }, 'linux.resources.cpu.shares'],
  [{ cpu: { period: 10 } }, 'linux.resources.cpu.period'],
  [{ unified: { '../x': '1' } }, 'linux.resources.unified["../x"]'],
  [{ unified: { 'memory.max/../../x': '1' } }, 'linux.resources.unified["memory.max/../../x"]'],
  [{ unified: { 'cgroup.procs': '1' } }, 'linux.resources.unified["cgroup.procs"]'],
  [{ unified: { 'bogus.key': '1' } }, 'linux.resources.unified["bogus.key"]'],
  [{ hugepageLimits: [{ pageSize: '3MB', limit: 0 }] }, 'linux.resources.hugepageLimits[0].pageSize'],
  [{ hugepageLimits: [{ pageSize: 'huge', limit: 0 }] }, 'linux.resources.hugepageLimits[0].pageSize'],
  [{ blockIO: { throttleReadBpsDevice: [{ major: 4095, minor: 4095, rate: 1 }] } }, 'linux.resources.blockIO.throttleReadBpsDevice[0].major'],
  [{ blockIO: { weight: 5 } }, 'linux.resources.blockIO.weight'],
  [{ devices: [{ allow: true, access: 'rx' }] }, 'linux.resources.devices[0].access'],
];

test('validation names the JSON path of the bad field', (t) => {
  t.plan(invalid.length * 2 + 1);
  const h = host ?? { layout: 'v2', cpus: new Set([0]), mems: new Set([0]), hugepageSizes: ['2MB'], blockDevices: new Set() };
  for (const [resources, field] of invalid) {
    const err = t.throws(() => validateResources(resources, h), undefined, JSON.stringify(resources));
    t.is(err?.field, field, err?.message);
  }
  t.notThrows(() => validateResources({ memory: { limit: 64 * MiB, swap: -1 }, pids: { limit: -1 }, cpu: { cpus: '0', quota: -1 } }, h));
});

test('a cgroupsPath that climbs out of the mount root is refused', (t) => {
  for (const p of ['../x', '/a/../../b', '/']) {
    const err = t.throws(() => createCgroupManager({ id: 'x', cgroupsPath: p, layout: 'v2' }));
    t.is(err.code, 'INVALID_CONFIG');
  }
});

// ---- against the kernel -------------------------------------------------------------

cgtest('detectLayout is cached and names this host', async (t) => {
  t.is(await detectLayout(), layout);
  t.true(['v2', 'hybrid', 'v1'].includes(layout.layout));
  t.log(`layout: ${layout.layout}`);
});

cgtest('invalid resources are refused (by config validation, before the manager) with no cgroup made', async (t) => {
  const id = newId();
  const err = t.throws(() => validateResources({ memory: { limit: -5 } }, host));
  t.is(err.code, 'INVALID_CONFIG');
  t.is(err.field, 'linux.resources.memory.limit');
  for (const d of hierarchyDirs(`berth/${id}`)) t.false(existsSync(d), d);
});

cgtest('a value the kernel refuses rejects with file and errno and leaves nothing behind', async (t) => {
  const id = newId();
  const m = createCgroupManager({ id });
  // v1 with RT group scheduling: a child's rt runtime above the parent's is EINVAL.
  // v2: a garbage value for a raw key.
  const resources = layout.layout === 'v2'
    ? { pids: { limit: 10 }, unified: { 'pids.max': 'lots' } }
    : { cpu: { realtimePeriod: 1000000, realtimeRuntime: 990000 } };
  if (layout.layout !== 'v2' && !existsSync(join(layout.v1.cpu ?? '/nonexistent', 'cpu.rt_runtime_us'))) {
    t.log('skipped: kernel without RT group scheduling');
    return t.pass();
  }
  const err = await t.throwsAsync(m.create(resources));
  t.is(err.code, 'CGROUP_FAILED');
  t.is(err.errno, 'EINVAL');
  t.regex(err.path, /(pids\.max|cpu\.rt_runtime_us)$/);
  for (const d of hierarchyDirs(`berth/${id}`)) t.false(existsSync(d), d);
});

cgtest('addProcess places a process in every hierarchy and limits hold converted values', async (t) => {
  const { id, m, own } = managed(t);
  const resources = {
    memory: { limit: 64 * MiB, swap: 96 * MiB, reservation: 32 * MiB },
    cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0' },
    pids: { limit: 32 },
    ...(host.hugepageSizes.includes('2MB') ? { hugepageLimits: [{ pageSize: '2MB', limit: 0 }] } : {}),
  };
  await m.create(resources);
  const p = own(await spawnGated('sleep 30'));
  await m.addProcess(p.child.pid);
  const rel = `/berth/${id}`;
  const cg = procCgroups(p.child.pid);
  for (const line of cg) {
    if (line.ctrls.startsWith('name=')) continue; // named hierarchies are not berth's
    t.is(line.path, rel, `hierarchy ${line.hid}:${line.ctrls}`);
  }
  t.deepEqual(await m.pids(), [p.child.pid]);
  const read = (dir, f) => readFileSync(join(dir, f), 'utf8').trim();
  if (layout.layout === 'v2') {
    const d = m.unifiedPath;
    t.is(read(d, 'memory.max'), String(64 * MiB));
    t.is(read(d, 'memory.swap.max'), String(32 * MiB));
    t.is(read(d, 'memory.low'), String(32 * MiB));
    t.is(read(d, 'cpu.weight'), String(sharesToWeight(512)));
    t.is(read(d, 'cpu.max'), '50000 100000');
    t.is(read(d, 'cpuset.cpus'), '0');
    t.is(read(d, 'pids.max'), '32');
  } else {
    const v = (c) => join(layout.v1[c], rel);
    t.is(read(v('memory'), 'memory.limit_in_bytes'), String(64 * MiB));
    if (existsSync(join(v('memory'), 'memory.memsw.limit_in_bytes'))) t.is(read(v('memory'), 'memory.memsw.limit_in_bytes'), String(96 * MiB));
    t.is(read(v('memory'), 'memory.soft_limit_in_bytes'), String(32 * MiB));
    t.is(read(v('cpu'), 'cpu.shares'), '512');
    t.is(read(v('cpu'), 'cpu.cfs_quota_us'), '50000');
    t.is(read(v('cpu'), 'cpu.cfs_period_us'), '100000');
    t.is(read(v('cpuset'), 'cpuset.cpus'), '0');
    t.is(read(v('pids'), 'pids.max'), '32');
  }
  if (resources.hugepageLimits) {
    const dir = layout.v1.hugetlb ? join(layout.v1.hugetlb, rel) : m.unifiedPath;
    t.is(read(dir, layout.v1.hugetlb ? 'hugetlb.2MB.limit_in_bytes' : 'hugetlb.2MB.max'), '0');
  }
});

cgtest('a pids limit makes the 33rd task fail to fork', async (t) => {
  const { m, own } = managed(t);
  await m.create({ pids: { limit: 32 } });
  // perl, not sh: dash exits on its first failed fork. perl is 1 task + 31 children = 32.
  const forker = '$| = 1; my $f = 0; for (1..40) { my $p = fork; if (!defined $p) { $f++ } elsif ($p == 0) { sleep 30; exit 0 } } print "failed=$f\\n"; sleep 30';
  const p = own(await spawnGated(`exec perl -e '${forker}'`));
  await m.addProcess(p.child.pid);
  p.go();
  t.true(await waitFor(() => p.out().includes('failed='), 5000), 'forking finished');
  const s = await m.stats();
  t.log(`${p.out().trim()}, pids.current=${s.pids.current}`);
  t.is(p.out().trim(), 'failed=9');
  t.is(s.pids.current, 32);
  t.is(s.pids.limit, 32);
});

cgtest('freeze stops a counter and thaw restarts it', async (t) => {
  const { id, m, own } = managed(t);
  await m.create(undefined);
  const dir = mkdtempSync(join(tmpdir(), 'berth-cg-'));
  let p;
  // Teardowns run last-registered first: the writer is still alive here, so it
  // is killed before its directory goes (else a last write races the rmdir).
  t.teardown(() => {
    if (p && p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 });
  });
  const file = join(dir, 'n');
  p = own(await spawnGated(`i=0; while :; do i=$((i+1)); echo $i > ${file}; sleep 0.02; done`));
  await m.addProcess(p.child.pid);
  p.go();
  const count = () => Number(readFileSync(file, 'utf8').trim() || 0);
  t.true(await waitFor(() => existsSync(file) && count() > 2));
  await m.freeze();
  await sleep(50); // a write in flight when the freeze landed
  const frozenAt = count();
  await sleep(400);
  t.is(count(), frozenAt, 'no progress while frozen');
  if (layout.v1.freezer) t.is(readFileSync(join(layout.v1.freezer, 'berth', id, 'freezer.state'), 'utf8').trim(), 'FROZEN');
  await m.thaw();
  t.true(await waitFor(() => count() > frozenAt + 2, 3000), 'progress after thaw');
});

cgtest('a 200 MiB allocation under a 64 MiB limit is OOM-killed and reported', async (t) => {
  const { m, own } = managed(t);
  await m.create({ memory: { limit: 64 * MiB, swap: 64 * MiB } });
  let fired = 0;
  const stop = m.watchOom(() => fired++);
  t.teardown(stop);
  const p = own(await spawnGated('x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived ${#x}'));
  await m.addProcess(p.child.pid);
  p.go();
  const { signal } = await p.exited;
  t.is(signal, 'SIGKILL');
  t.false(p.out().includes('survived'));
  t.true((await m.oomKillCount()) > 0);
  t.true((await m.stats()).memory.oomKills > 0);
  t.true(await waitFor(() => fired > 0, 3000), 'watchOom fired');
});

cgtest('stats move while a process works', async (t) => {
  const { m, own } = managed(t);
  await m.create({ pids: { limit: 100 } });
  const before = await m.stats();
  const p = own(await spawnGated('i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; head -c 20000000 /dev/zero > /dev/null; sleep 5'));
  await m.addProcess(p.child.pid);
  p.go();
  await sleep(700);
  const after = await m.stats();
  t.log(JSON.stringify(after));
  t.true(after.cpu.usageUsec > before.cpu.usageUsec + 10000, 'cpu usage grew');
  t.true(after.memory.current > 0 || after.memory.peak > 0, 'memory charged');
  t.true(after.pids.current >= 1);
  t.is(after.pids.limit, 100);
});

cgtest('a 50% cpu quota holds a busy loop near half its wall time', async (t) => {
  const { m, own } = managed(t);
  await m.create({ cpu: { quota: 50000, period: 100000 } });
  const p = own(await spawnGated('while :; do :; done'));
  await m.addProcess(p.child.pid);
  const s0 = await m.stats();
  const t0 = process.hrtime.bigint();
  p.go();
  await sleep(1500);
  const s1 = await m.stats();
  const wallUsec = Number(process.hrtime.bigint() - t0) / 1000;
  const ratio = (s1.cpu.usageUsec - s0.cpu.usageUsec) / wallUsec;
  t.log(`cpu/wall = ${ratio.toFixed(2)}, throttled ${s1.cpu.nrThrottled} times`);
  t.true(ratio > 0.25 && ratio < 0.62, `ratio ${ratio}`);
  t.true(s1.cpu.nrThrottled > 0);
});

cgtest('update() changes the pids limit live; bad values are refused by validation before it', async (t) => {
  const { m, own } = managed(t);
  await m.create({ pids: { limit: 8 } });
  const p = own(await spawnGated('sleep 30'));
  await m.addProcess(p.child.pid);
  await m.update({ pids: { limit: 64 } });
  t.is((await m.stats()).pids.limit, 64);
  const err = t.throws(() => validateResources({ pids: { limit: -7 } }, host, 'resources'));
  t.is(err.field, 'resources.pids.limit');
  t.is((await m.stats()).pids.limit, 64);
});

cgtest('killAll + destroy of a fork bomb held by a pids limit leaves nothing', async (t) => {
  const { id, m, own } = managed(t);
  await m.create({ pids: { limit: 16 } });
  // Every process forks forever (failures included), slowly enough not to starve the host.
  const p = own(await spawnGated(`exec perl -e 'while (1) { fork; select(undef, undef, undef, 0.05) }'`));
  await m.addProcess(p.child.pid);
  p.go();
  t.true(await waitFor(async () => (await m.stats()).pids.current >= 16, 5000), 'bomb reached the limit');
  await m.killAll();
  t.deepEqual(await m.pids(), []);
  await p.exited;
  await m.destroy();
  for (const d of hierarchyDirs(`berth/${id}`)) t.false(existsSync(d), d);
});

cgtest('a custom cgroupsPath lives below the mount root and all its levels are removed', async (t) => {
  const id = newId();
  const m = createCgroupManager({ id, cgroupsPath: `berth-test-custom/${id}` });
  await m.create({ pids: { limit: 10 } });
  for (const d of hierarchyDirs(`berth-test-custom/${id}`)) t.true(existsSync(d), d);
  await m.destroy();
  for (const d of hierarchyDirs('berth-test-custom')) t.false(existsSync(d), d);
});

cgtest('create refuses to adopt an existing cgroup', async (t) => {
  const { id, m } = managed(t);
  await m.create(undefined);
  const twin = createCgroupManager({ id });
  const err = await t.throwsAsync(twin.create(undefined));
  t.is(err.errno, 'EEXIST');
  for (const d of hierarchyDirs(`berth/${id}`)) t.true(existsSync(d), `the first manager's ${d} survived`);
});

// ---- the v2 manager, on whatever cgroup2 tree this host has ------------------------

const v2test = isRoot && layout?.unifiedMount ? test.serial : test.serial.skip;

v2test('v2 manager: placement, freeze via cgroup.freeze, cgroup.kill, CLONE_INTO_CGROUP fd', async (t) => {
  if (layout.layout !== 'v2') t.log(`exercising the v2 manager on the ${layout.layout} host's cgroup2 tree ${layout.unifiedMount} (controllers: ${readFileSync(join(layout.unifiedMount, 'cgroup.controllers'), 'utf8').trim() || 'none'})`);
  const { id, m, own } = managed(t, { layout: 'v2' });
  const hasHuge = host.hugepageSizes.includes('2MB') && readFileSync(join(layout.unifiedMount, 'cgroup.controllers'), 'utf8').includes('hugetlb');
  await m.create(hasHuge ? { hugepageLimits: [{ pageSize: '2MB', limit: 0 }] } : undefined);
  t.is(m.unifiedPath, join(layout.unifiedMount, 'berth', id));
  if (hasHuge) t.is(readFileSync(join(m.unifiedPath, 'hugetlb.2MB.max'), 'utf8').trim(), '0');
  const fd = m.openIntoCgroupFd();
  t.true(fd >= 0);
  t.true(fstatSync(fd).isDirectory());
  closeSync(fd);
  const dir = mkdtempSync(join(tmpdir(), 'berth-cg2-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'n');
  const p = own(await spawnGated(`i=0; while :; do i=$((i+1)); echo $i > ${file}; sleep 0.02; done`));
  await m.addProcess(p.child.pid);
  t.is(procCgroups(p.child.pid).find((l) => l.hid === '0').path, `/berth/${id}`);
  p.go();
  const count = () => Number(readFileSync(file, 'utf8').trim() || 0);
  t.true(await waitFor(() => existsSync(file) && count() > 2));
  await m.freeze(3000);
  t.regex(readFileSync(join(m.unifiedPath, 'cgroup.events'), 'utf8'), /frozen 1/);
  await sleep(50);
  const frozenAt = count();
  await sleep(300);
  t.is(count(), frozenAt);
  await m.thaw();
  t.true(await waitFor(() => count() > frozenAt + 2, 3000));
  const s = await m.stats();
  t.is(typeof s.cpu.usageUsec, 'number');
  await m.killAll();
  t.regex(readFileSync(join(m.unifiedPath, 'cgroup.events'), 'utf8'), /populated 0/);
  t.is((await p.exited).signal, 'SIGKILL');
});
