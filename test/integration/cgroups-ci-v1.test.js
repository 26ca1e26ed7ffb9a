// berth inside a CI container on a cgroup v1/hybrid host (GitLab-style
// runners), with the cgroup hierarchies bind-mounted read-only into the job:
// the test's child runs under `unshare --mount --propagation private`, binds
// each hierarchy over itself and remounts that bind read-only (only that
// namespace's mounts change; the host's stay as they are), then uses berth
// (cgroups-ci-child.mjs). A cgroup namespace changes nothing here: on v1 berth
// addresses each hierarchy from its mount root, which a cgroupns does not move
// for mounts made before it.
import test from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectLayout } from '../../dist/lib/host/index.js';
import { hierarchyMounts } from '../../dist/lib/cgroups/ci-layout.js';
import { ROOTFS, jobResult, stateRootFor } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(here, 'cgroups-ci-child.mjs');
const stateRoot = stateRootFor('cgroups-ci-v1');

const layout = process.getuid?.() === 0 ? await detectLayout().catch(() => null) : null;
const hasUnshare = ['/usr/bin/unshare', '/bin/unshare'].some((p) => fs.existsSync(p));
const skipReason =
  process.getuid?.() !== 0 ? 'not root'
    : !layout || layout.layout === 'v2' ? `needs cgroup v1/hybrid (this host is ${layout?.layout ?? 'without cgroups'}): the host lane runs it`
      : !hasUnshare ? 'no unshare (util-linux)'
        : null;
if (skipReason) console.log(`# skipped cgroups-ci-v1: ${skipReason}`);
const cgtest = skipReason ? (title) => test.skip(`${title} (${skipReason})`, () => {}) : test.serial;

/** The child in a private mount namespace; `readOnly` hierarchies are bound over themselves read-only there. */
function runJob(mounts, prefix, readOnly = mounts) {
  const binds = readOnly.map((m) => `mount --bind ${m} ${m} && mount -o remount,bind,ro ${m}`);
  const script = [...binds, `exec ${process.execPath} ${CHILD} ${stateRoot} ${ROOTFS} ${prefix}`].join(' && ');
  return jobResult(spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] }));
}

cgtest('read-only v1/hybrid hierarchies: no-resources containers with a pid namespace run without a cgroup; limits (and a shared pid namespace) are refused before anything exists, naming the hierarchy', async (t) => {
  const mounts = hierarchyMounts(layout).sort();
  const mountsBefore = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  const prefix = `civ1x${process.pid}`;
  const r = await runJob(mounts, prefix);
  t.log(r.stderr.trim());
  t.deepEqual(r.plain, { exitCode: 0, stdout: 'ok\n' });
  const e = r.limited.error;
  t.is(e?.name, 'CgroupError');
  t.is(e.code, 'CGROUP_FAILED');
  t.is(e.step, 'create');
  t.is(e.errno, 'EROFS');
  t.true(mounts.includes(e.path), `${e.path} is one of the hierarchies`);
  t.regex(e.message, new RegExp(`^linux\\.resources\\.memory needs a cgroup, but the cgroup hierarchy ${e.path} is mounted read-only`));
  t.deepEqual(r.record.cgroupPaths, []);
  t.is(r.record.stats.error?.errno, 'EROFS');
  t.false(r.record.initAliveAfterDestroy);
  t.is(r.sharedPid.error?.name, 'CgroupError');
  t.regex(r.sharedPid.error.message, /read-only.*linux\.namespaces has no new pid namespace/);
  t.deepEqual(r.stateLeft, []);
  t.deepEqual(r.warnings, []);
  // The job's cgroup is the test's (no container cgroup was joined), and nothing was made in any hierarchy.
  t.is(r.cgroupAfter, r.cgroupBefore);
  for (const m of mounts) {
    const made = fs.existsSync(path.join(m, 'berth')) ? fs.readdirSync(path.join(m, 'berth')).filter((n) => n.startsWith(prefix)) : [];
    t.deepEqual(made, [], m);
  }
  // The host's mounts are as they were: the read-only binds lived in the job's namespace only.
  t.is(fs.readFileSync('/proc/self/mountinfo', 'utf8'), mountsBefore);
});

cgtest('writable v1/hybrid hierarchies in a job\'s private mount namespace: containers run and the memory limit is enforced, as on a host', async (t) => {
  const mounts = hierarchyMounts(layout).sort();
  const prefix = `civ1w${process.pid}`;
  const r = await runJob(mounts, prefix, []);
  t.log(r.stderr.trim());
  t.deepEqual(r.plain, { exitCode: 0, stdout: 'ok\n' });
  const memory = r.limited.cgroupPaths?.find((p) => p.startsWith(`${layout.v1.memory}/`));
  t.truthy(memory, JSON.stringify(r.limited));
  t.is(r.limited.limits[r.limited.cgroupPaths.indexOf(memory)], String(32 * 2 ** 20));
  // The 100 MB the shell holds is beyond the limit: OOM-killed, not "survived".
  t.notDeepEqual([r.limited.exitCode, r.limited.signal], [0, null]);
  t.deepEqual(r.limited.left, []);
  t.true(r.record.cgroupPaths.length > 0);
  t.is(typeof r.record.stats.value?.memory?.current, 'number');
  t.false(r.record.initAliveAfterDestroy);
  t.deepEqual(r.sharedPid, { exitCode: 0 });
  t.deepEqual(r.warnings, []);
  t.deepEqual(r.stateLeft, []);
  for (const m of mounts) {
    const made = fs.existsSync(path.join(m, 'berth')) ? fs.readdirSync(path.join(m, 'berth')).filter((n) => n.startsWith(prefix)) : [];
    t.deepEqual(made, [], m);
  }
});
