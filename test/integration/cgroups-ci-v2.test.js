// berth inside CI containers on cgroup v2 (issue #12), each layout as a
// privileged Docker container with a private cgroup namespace sees it: the
// caller is put in a fresh cgroup, then unshare(CLONE_NEWNS|CLONE_NEWCGROUP) with cgroup2 mounted
// again in that mount namespace, so /sys/fs/cgroup is the namespace root,
// holding the caller, with domain controllers available but not enabled.
// cgroups-ci-child.mjs uses berth there; this file judges from outside, and
// removes the cgroups it made (the removal failing would be a leftover).
// Needs pure cgroup v2 (the VM lane): on the hybrid hosts the cgroup2 tree has
// no domain controllers to hand down.
import test from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectLayout } from '../../dist/lib/host/index.js';
// Internal, for the rollback test: the manager alone, on a path below a busy cgroup.
import { createCgroupManager } from '../../dist/lib/cgroups/index.js';
import { CgroupError } from '../../dist/lib/errors.js';
import { ROOTFS, jobResult, stateRootFor } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(here, 'cgroups-ci-child.mjs');
const CG = '/sys/fs/cgroup';
const stateRoot = stateRootFor('cgroups-ci-v2');

// The VM's busybox unshare has no cgroup namespace option: perl makes the
// syscall (the lane ships perl). unshare(CLONE_NEWNS | CLONE_NEWCGROUP).
const SYS_UNSHARE = { x64: 272, arm64: 97 }[process.arch];
const ENTER = [
  'my $d = shift;',
  'open(my $f, ">", "$d/cgroup.procs") or die "open $d/cgroup.procs: $!";',
  'print $f $$; close($f) or die "move into $d: $!";',
  `syscall(${SYS_UNSHARE}, 0x02020000) == 0 or die "unshare: $!";`,
  'exec(@ARGV) or die "exec: $!";',
].join(' ');

const hasPerl = ['/usr/bin/perl', '/bin/perl'].some((p) => fs.existsSync(p));
const layout = process.getuid?.() === 0 ? await detectLayout().catch(() => null) : null;
const rootControllers = layout?.layout === 'v2' ? fs.readFileSync(`${CG}/cgroup.controllers`, 'utf8').trim().split(/\s+/) : [];
const skipReason =
  process.getuid?.() !== 0 ? 'not root'
    : layout?.layout !== 'v2' ? `needs pure cgroup v2 (this host is ${layout?.layout ?? 'without cgroups'}): the VM lane runs it`
      : !rootControllers.includes('memory') ? 'no memory controller in the cgroup2 tree'
        : SYS_UNSHARE === undefined ? `no unshare syscall number known for ${process.arch}`
          : !hasPerl ? 'no perl (it makes the unshare syscall)'
            : null;
if (skipReason) console.log(`# skipped cgroups-ci-v2: ${skipReason}`);
const cgtest = skipReason ? (title) => test.skip(`${title} (${skipReason})`, () => {}) : test.serial;

let seq = 0;
/** A fresh cgroup below the real root, with memory and pids available in it (as a Docker host's delegation makes them). */
function jobCgroup() {
  // The real root may hold processes (the rule exempts it): enabling there is fine.
  fs.writeFileSync(`${CG}/cgroup.subtree_control`, '+memory +pids');
  const dir = `${CG}/ci-job-${process.pid}-${seq++}`;
  fs.mkdirSync(dir);
  return dir;
}

/** rmdir the job cgroup and what it may hold: every rmdir must succeed (EBUSY, ENOTEMPTY: something was left). */
function removeJobCgroup(t, dir) {
  const children = fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  for (const c of children) fs.rmdirSync(path.join(dir, c));
  fs.rmdirSync(dir);
  t.false(fs.existsSync(dir));
  return children;
}

/**
 * Runs the child as the job's caller: moved into `dir`, then in a new cgroup
 * and mount namespace (private propagation) with cgroup2 mounted again, its
 * root now `dir` (read-only when asked, with a bind remount: only this
 * namespace's mount changes).
 */
function runJob(dir, { readOnly = false, env = {} } = {}) {
  const prefix = `ci${process.pid}x${seq++}`;
  const inner = [
    'mount --make-rprivate /',
    'umount /sys/fs/cgroup',
    'mount -t cgroup2 cgroup2 /sys/fs/cgroup',
    ...(readOnly ? ['mount -o remount,bind,ro /sys/fs/cgroup'] : []),
    `exec ${process.execPath} ${CHILD} ${stateRoot} ${ROOTFS} ${prefix}`,
  ].join(' && ');
  return jobResult(spawn('perl', ['-e', ENTER, dir, 'sh', '-c', inner], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** A process that is not berth's caller, sitting in the job's root cgroup (a shell, a service of the job). */
async function otherProcessIn(dir) {
  const p = spawn('sleep', ['600'], { stdio: 'ignore' });
  await new Promise((r) => p.once('spawn', r));
  fs.writeFileSync(`${dir}/cgroup.procs`, String(p.pid));
  return p;
}

async function end(p) {
  const exited = new Promise((r) => p.once('exit', r));
  process.kill(p.pid, 'SIGKILL');
  await exited;
}

cgtest('namespace root holding only the caller: berth moves its own process to berth-caller, says so, and limits work', async (t) => {
  const dir = jobCgroup();
  try {
    t.is(fs.readFileSync(`${dir}/cgroup.subtree_control`, 'utf8').trim(), '');
    const r = await runJob(dir);
    t.log(r.stderr.trim());
    // First: what issue #12 saw here was SETUP_FAILED "clone3 failed: Operation not supported".
    t.deepEqual(r.plain, { exitCode: 0, stdout: 'ok\n' });
    t.is(r.cgroupBefore, '0::/');
    t.is(r.cgroupAfter, '0::/berth-caller');
    t.deepEqual(r.warnings.map((w) => w.code), ['BERTH_CGROUP_CALLER_MOVED']);
    t.regex(r.warnings[0].message, /\/sys\/fs\/cgroup\/berth-caller/);
    // The limit is in the container's cgroup, and an allocation beyond it dies.
    t.deepEqual(r.limited.limits, [String(32 * 2 ** 20)]);
    t.notDeepEqual([r.limited.exitCode, r.limited.signal], [0, null]);
    t.deepEqual(r.limited.left, []);
    t.is(r.record.cgroupPaths.length, 1);
    t.is(typeof r.record.stats.value?.memory?.current, 'number');
    t.false(r.record.initAliveAfterDestroy);
    t.deepEqual(r.sharedPid, { exitCode: 0 });
    t.deepEqual(r.stateLeft, []);
    t.regex(fs.readFileSync(`${dir}/cgroup.subtree_control`, 'utf8'), /memory/);
  } finally {
    // berth's shared parent went with the last container; only the caller's leaf stays (empty once it exited).
    t.deepEqual(removeJobCgroup(t, dir), ['berth-caller']);
  }
});

cgtest('namespace root also holding other processes: they are not moved; no-resources containers run, limits are refused saying why, nothing stays enabled', async (t) => {
  const dir = jobCgroup();
  const other = await otherProcessIn(dir);
  try {
    const r = await runJob(dir);
    t.log(r.stderr.trim());
    t.deepEqual(r.plain, { exitCode: 0, stdout: 'ok\n' });
    t.is(r.cgroupAfter, '0::/berth-caller');
    t.deepEqual(r.warnings.map((w) => w.code), ['BERTH_CGROUP_CALLER_MOVED']);
    const e = r.limited.error;
    t.is(e?.name, 'CgroupError');
    t.is(e.code, 'CGROUP_FAILED');
    t.is(e.step, 'enable-controllers');
    t.is(e.errno, 'EBUSY');
    t.is(e.path, CG);
    t.regex(e.message, new RegExp(`holds processes that are not berth's caller \\(${other.pid}\\)`));
    t.regex(e.message, /no-internal-processes/);
    t.regex(e.message, /BERTH_CGROUP_MOVE=all/);
    t.is(r.record.cgroupPaths.length, 1);
    t.false(r.record.initAliveAfterDestroy);
    t.deepEqual(r.sharedPid, { exitCode: 0 });
    t.deepEqual(r.stateLeft, []);
    // Still where it was, and the tree is as berth found it: no controller left on.
    t.deepEqual(fs.readFileSync(`${dir}/cgroup.procs`, 'utf8').trim().split('\n'), [String(other.pid)]);
    t.is(fs.readFileSync(`${dir}/cgroup.subtree_control`, 'utf8').trim(), '');
  } finally {
    await end(other);
    removeJobCgroup(t, dir);
  }
});

cgtest('BERTH_CGROUP_MOVE=all: every process of the namespace root moves to berth-caller, berth says so, and limits work', async (t) => {
  const dir = jobCgroup();
  const other = await otherProcessIn(dir);
  try {
    const r = await runJob(dir, { env: { BERTH_CGROUP_MOVE: 'all' } });
    t.log(r.stderr.trim());
    t.deepEqual(r.warnings.map((w) => w.code).sort(), ['BERTH_CGROUP_CALLER_MOVED', 'BERTH_CGROUP_PROCESSES_MOVED']);
    t.deepEqual(r.plain, { exitCode: 0, stdout: 'ok\n' });
    t.deepEqual(r.limited.limits, [String(32 * 2 ** 20)]);
    t.notDeepEqual([r.limited.exitCode, r.limited.signal], [0, null]);
    t.deepEqual(fs.readFileSync(`${dir}/berth-caller/cgroup.procs`, 'utf8').trim().split('\n'), [String(other.pid)]);
    t.is(fs.readFileSync(`${dir}/cgroup.procs`, 'utf8').trim(), '');
    t.deepEqual(r.sharedPid, { exitCode: 0 });
    t.deepEqual(r.stateLeft, []);
  } finally {
    await end(other);
    removeJobCgroup(t, dir);
  }
});

cgtest('read-only /sys/fs/cgroup: no-resources containers with a pid namespace run without a cgroup; limits (and a shared pid namespace) are refused before anything exists, naming the hierarchy', async (t) => {
  const dir = jobCgroup();
  try {
    const r = await runJob(dir, { readOnly: true });
    t.log(r.stderr.trim());
    t.deepEqual(r.warnings, []);
    t.is(r.cgroupAfter, '0::/');
    t.deepEqual(r.plain, { exitCode: 0, stdout: 'ok\n' });
    const e = r.limited.error;
    t.is(e?.name, 'CgroupError');
    t.is(e.step, 'create');
    t.is(e.errno, 'EROFS');
    t.is(e.path, CG);
    t.regex(e.message, /^linux\.resources\.memory needs a cgroup, but the cgroup hierarchy \/sys\/fs\/cgroup is mounted read-only/);
    // The record names no cgroup; stats say there is none; destroy ends it through its pid namespace.
    t.deepEqual(r.record.cgroupPaths, []);
    t.is(r.record.stats.error?.errno, 'EROFS');
    t.regex(r.record.stats.error.message, /runs without a cgroup/);
    t.false(r.record.initAliveAfterDestroy);
    t.is(r.sharedPid.error?.name, 'CgroupError');
    t.is(r.sharedPid.error.path, CG);
    t.regex(r.sharedPid.error.message, /read-only.*linux\.namespaces has no new pid namespace/);
    t.deepEqual(r.stateLeft, []);
  } finally {
    // Nothing was made in the job's tree: no berth dir, no caller leaf.
    t.deepEqual(removeJobCgroup(t, dir), []);
  }
});

cgtest('a refused attempt turns off again every controller it turned on (cgroupsPath below a cgroup that holds another process)', async (t) => {
  const dir = jobCgroup();
  const held = `${dir}/held`;
  fs.mkdirSync(held);
  const other = await otherProcessIn(held);
  const id = `rollback${process.pid}`;
  try {
    const m = createCgroupManager({ id, cgroupsPath: `${path.basename(dir)}/held/${id}`, layout: 'v2' });
    const err = await t.throwsAsync(m.create({ memory: { limit: 32 * 2 ** 20 } }), { instanceOf: CgroupError });
    t.is(err.errno, 'EBUSY');
    t.is(err.path, held);
    t.regex(err.message, new RegExp(`cannot enable memory in ${held}/cgroup.subtree_control: ${held} holds processes that are not berth's caller \\(${other.pid}\\)`));
    // The job cgroup (no processes) had its controllers turned on for this attempt: all off again.
    t.is(fs.readFileSync(`${dir}/cgroup.subtree_control`, 'utf8').trim(), '');
    t.false(fs.existsSync(`${held}/${id}`));
  } finally {
    await end(other);
    fs.rmdirSync(held);
    removeJobCgroup(t, dir);
  }
});

cgtest('a namespace root someone made a thread root (threaded controllers on while it holds processes): a typed error naming it and the fix, never clone3\'s bare EOPNOTSUPP, and nothing left', async (t) => {
  const dir = jobCgroup();
  const other = await otherProcessIn(dir);
  // What berth before issue #12 left behind: cpuset cpu pids enabled in a cgroup with processes.
  fs.writeFileSync(`${dir}/cgroup.subtree_control`, '+pids');
  try {
    const r = await runJob(dir);
    t.log(r.stderr.trim());
    for (const step of ['plain', 'record']) {
      const e = r[step].error;
      t.is(e?.name, 'CgroupError', step);
      t.is(e.step, 'move-caller');
      t.is(e.errno, 'ENOTSUP');
      t.is(e.path, `${CG}/cgroup.subtree_control`);
      t.regex(e.message, /\/sys\/fs\/cgroup is a threaded-controller root .* turn them off there first/);
    }
    t.deepEqual(r.warnings, []);
    t.is(r.cgroupAfter, '0::/');
    t.deepEqual(r.stateLeft, []);
    t.is(fs.readFileSync(`${dir}/cgroup.subtree_control`, 'utf8').trim(), 'pids');
  } finally {
    await end(other);
    // No berth dir, no caller leaf: the leaf made for a move that could not happen went again.
    t.deepEqual(removeJobCgroup(t, dir), []);
  }
});
