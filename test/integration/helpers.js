// Shared test helpers: the fixture rootfs, a per-file state root, and the leak
// snapshot every test compares before/after (mounts, state dirs, fds, zombies,
// child processes).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOTFS = process.env.BERTH_TEST_ROOTFS ?? path.join(here, '..', 'fixtures', 'rootfs');

// libuv opens one inotify fd per loop at the first fs.watch (berth watches
// memory.events on cgroup v2) and keeps it for the loop's lifetime: open it
// before any fd snapshot, so the first container of a file is not a "leak".
fs.watch(here).close();

const stateRoots = new Set();
// The per-file state roots are the tests' own: empty once every container is
// destroyed, and removed (with /run/berth-test when it empties) at exit.
process.on('exit', () => {
  for (const root of stateRoots) {
    try {
      fs.rmdirSync(root);
    } catch {
      // not empty: a leak the leak checks have reported already
    }
  }
  try {
    fs.rmdirSync('/run/berth-test');
  } catch {
    // another test file's root is still there
  }
});

export function stateRootFor(name) {
  const root = `/run/berth-test/${name}-${process.pid}`;
  stateRoots.add(root);
  return root;
}

/** The Node process's own open fds. */
export function openFds() {
  return fs.readdirSync('/proc/self/fd').length - 1; // minus readdir's own fd
}

/** Direct children of this process, with their state letter. */
export function children() {
  const out = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[1]) === process.pid) out.push({ pid: Number(entry), state: rest[0] });
    } catch {
      // raced with an exit
    }
  }
  return out;
}

export function zombies() {
  return children().filter((c) => c.state === 'Z');
}

// The podman test's engine (engine-podman-helpers.js) lives in <tmp>/berth-podman-*: podman mounts
// each container's /dev/shm there, in this namespace, while ava runs other files at the same time.
// Those mounts are podman's, checked by that file itself; every other file's count leaves them out.
const PODMAN_ENGINE = `${path.join(os.tmpdir(), 'berth-podman-')}`;

export function mountLines() {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .trim()
    .split('\n')
    .filter((l) => !l.split(' ')[4].startsWith(PODMAN_ENGINE)).length;
}

export function stateEntries(stateRoot) {
  try {
    return fs.readdirSync(stateRoot);
  } catch {
    return [];
  }
}

/** Waits until the fd count has been steady for 100 ms (streams close asynchronously). */
export async function quiesce() {
  let last = openFds();
  for (let steady = 0, i = 0; steady < 5 && i < 250; i++) {
    await new Promise((r) => setTimeout(r, 20));
    const now = openFds();
    steady = now === last ? steady + 1 : 0;
    last = now;
  }
}

export function snapshot(stateRoot) {
  return { fds: openFds(), mounts: mountLines(), state: stateEntries(stateRoot), children: children().length };
}

/** snapshot() once the previous test's streams have finished closing. */
export async function settledSnapshot(stateRoot) {
  await quiesce();
  return snapshot(stateRoot);
}

/** Waits briefly for asynchronous teardown (stream closes) before comparing. */
export async function assertNoLeaks(t, before, stateRoot) {
  let now;
  for (let i = 0; i < 250; i++) {
    now = snapshot(stateRoot);
    if (now.fds === before.fds && now.children === before.children && now.state.length === before.state.length) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  t.is(now.fds, before.fds, 'open fds of the Node process');
  t.is(now.mounts, before.mounts, 'mounts of the Node process');
  t.deepEqual(now.state, before.state, 'state directory entries');
  t.is(now.children, before.children, 'child processes');
  t.deepEqual(zombies(), [], 'zombies');
}

export function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Everything a process writes to its stdout, with its exit status. */
export async function outputOf(p) {
  const chunks = [];
  p.stdout.on('data', (d) => chunks.push(d));
  const [status] = await Promise.all([p.wait(), new Promise((r) => p.stdout.on('close', r))]);
  return { ...status, out: Buffer.concat(chunks).toString() };
}

/** A started container whose init sleeps, for exec and for joining its namespaces. */
export async function startedSleeper(createContainer, stateRoot, extra = {}) {
  const c = await createContainer({ rootfs: ROOTFS, stateRoot, ...extra, process: { args: ['sleep', '1000'], stdio: 'ignore', ...(extra.process ?? {}) } });
  try {
    await c.start();
    return c;
  } catch (err) {
    await c.destroy();
    throw err;
  }
}

/**
 * The CI-layout tests' job (cgroups-ci-child.mjs in a namespace the test set
 * up): resolves its CI-RESULT line (plus exit code and stderr), rejects when
 * it printed none.
 */
export function jobResult(p) {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => {
      const line = stdout.split('\n').find((l) => l.startsWith('CI-RESULT '));
      if (!line) reject(new Error(`the job exited ${code} without a result:\n${stdout}\n${stderr}`));
      else resolve({ ...JSON.parse(line.slice('CI-RESULT '.length)), code, stderr });
    });
  });
}

/**
 * Why an overlay cannot be mounted here, or undefined: the kernel must have the
 * filesystem (built in, loaded, or loadable now; the VM lane's initramfs has no modules).
 */
export function overlayMissing() {
  const has = () => /\toverlay$/m.test(fs.readFileSync('/proc/filesystems', 'utf8'));
  if (has()) return undefined;
  spawnSync('modprobe', ['overlay'], { stdio: 'ignore' });
  return has() ? undefined : 'this kernel has no overlay filesystem (not built in, and modprobe overlay found no module)';
}
