// What the bench leaves behind must be nothing: every container (of any runtime)
// is placed under one bench-owned cgroup parent, so removing that tree proves no
// container process survived (rmdir of a populated cgroup fails with EBUSY).
// Also compares fds, child processes and host mounts before/after.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const CGROUP_ROOT = '/sys/fs/cgroup';
export const CGROUP_PARENT = `/berth-bench-${process.pid}`;

function hierarchies() {
  return fs
    .readdirSync(CGROUP_ROOT, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => path.join(CGROUP_ROOT, d.name));
}

function rmdirTree(dir, failures) {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if (e.code !== 'ENOENT') failures.push(`${dir}: ${e.code}`);
    return;
  }
  for (const e of entries) if (e.isDirectory()) rmdirTree(path.join(dir, e.name), failures);
  try {
    fs.rmdirSync(dir); // rmdir only: cgroupfs needs no file removal, and we never write to it here
  } catch (e) {
    if (e.code !== 'ENOENT') failures.push(`${dir}: ${e.code}`);
  }
}

/** Removes the bench's cgroups (CGROUP_PARENT and its flat CGROUP_PARENT-* siblings) everywhere; returns what would not go. */
export function removeBenchCgroups() {
  const failures = [];
  const name = CGROUP_PARENT.slice(1);
  for (const h of hierarchies()) {
    let entries = [];
    try {
      entries = fs.readdirSync(h);
    } catch {}
    for (const e of entries) if (e === name || e.startsWith(`${name}-`)) rmdirTree(path.join(h, e), failures);
  }
  return failures;
}

function childPids() {
  const mine = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid) mine.push(Number(p));
    } catch {}
  }
  return mine;
}

export function fdCount() {
  return fs.readdirSync('/proc/self/fd').length;
}

function benchMounts(rootfs) {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes('berth-bench') || l.includes(rootfs));
}

/**
 * libuv opens one fd for good with the first stream of the process (its
 * EMFILE reserve, /dev/null): made here, before the "before" count, so that
 * one-time fd is not reported as left behind by whichever scenario makes the
 * first stream.
 */
function reserveLibuvFd() {
  const s = new net.Socket(); // connect() to a path makes the pipe handle at once
  s.on('error', () => {});
  s.connect('/nonexistent/berth-bench.sock');
  s.destroy();
}

export function snapshot(rootfs) {
  reserveLibuvFd();
  return { fds: fdCount(), children: childPids(), mounts: benchMounts(rootfs) };
}

/** Differences between two snapshots, as human-readable strings (empty = clean). */
export function leaks(before, after) {
  const out = [];
  if (after.fds > before.fds) out.push(`${after.fds - before.fds} more open fds in the bench process`);
  const extra = after.children.filter((p) => !before.children.includes(p));
  if (extra.length) out.push(`child processes still alive: ${extra.join(', ')}`);
  const mounts = after.mounts.filter((m) => !before.mounts.includes(m));
  if (mounts.length) out.push(`mounts left: ${mounts.join(' | ')}`);
  return out;
}
