// The caller inside a CI container, for cgroups-ci-layouts.test.js: started by
// the test inside its own mount (and, for v2, cgroup) namespace with the cgroup
// tree as a job container sees it. It uses berth the way a test suite under
// `sudo` in CI would and prints one JSON line of what it saw; the test judges.
// argv: <stateRoot> <rootfs> <id prefix> (the containers are <prefix>-plain, -limited, -record, -sharedpid)
import fs from 'node:fs';
import path from 'node:path';
import { createContainer, run } from '../../dist/lib/index.js';

const [stateRoot, rootfs, prefix] = process.argv.slice(2);
const MiB = 2 ** 20;
const warnings = [];
process.on('warning', (w) => warnings.push({ code: w.code, message: w.message }));

const errorOf = (err) => ({ name: err?.name, code: err?.code, step: err?.step, errno: err?.errno, path: err?.path, message: err?.message });
const cgroupOfSelf = () => fs.readFileSync('/proc/self/cgroup', 'utf8').trim();
const readOr = (p) => {
  try {
    return fs.readFileSync(p, 'utf8').trim();
  } catch (err) {
    return `!${err.code}`;
  }
};

const out = { cgroupBefore: cgroupOfSelf() };

// 1. A container with no resources: the job's echo.
try {
  const r = await run({ id: `${prefix}-plain`, rootfs, stateRoot, process: { args: ['/bin/sh', '-c', 'echo ok'] } });
  out.plain = { exitCode: r.exitCode, stdout: String(r.stdout) };
} catch (err) {
  out.plain = { error: errorOf(err) };
}

// 2. A memory limit: where it is in force, the container's cgroup says so (read
// while it exists) and an allocation beyond it is OOM-killed.
try {
  const c = await createContainer({
    id: `${prefix}-limited`,
    rootfs,
    stateRoot,
    // The substitution's output is held by the shell: 100 MB, beyond the limit.
    process: { args: ['/bin/sh', '-c', 'x=$(head -c 100000000 /dev/zero | tr "\\0" a) || exit 3; echo survived'] },
    linux: { resources: { memory: { limit: 32 * MiB } } },
  });
  const state = JSON.parse(fs.readFileSync(path.join(stateRoot, c.id, 'state.json'), 'utf8'));
  const limits = state.cgroupPaths.map((p) => readOr(path.join(p, fs.existsSync(path.join(p, 'memory.max')) ? 'memory.max' : 'memory.limit_in_bytes')));
  const init = await c.start();
  const status = await init.wait();
  await c.destroy();
  out.limited = { cgroupPaths: state.cgroupPaths, limits, exitCode: status.exitCode, signal: status.signal, left: state.cgroupPaths.filter((p) => fs.existsSync(p)) };
} catch (err) {
  out.limited = { error: errorOf(err) };
}

// 3. The record of a container without resources, its stats, and its end.
try {
  const c = await createContainer({ id: `${prefix}-record`, rootfs, stateRoot, process: { args: ['/bin/sh', '-c', 'sleep 1000 & sleep 1000'] } });
  const init = await c.start();
  const state = JSON.parse(fs.readFileSync(path.join(stateRoot, c.id, 'state.json'), 'utf8'));
  let stats;
  try {
    stats = { value: await c.stats() };
  } catch (err) {
    stats = { error: errorOf(err) };
  }
  const pid = init.pid;
  await c.destroy();
  let alive = true;
  try {
    process.kill(pid, 0);
  } catch {
    alive = false;
  }
  out.record = { cgroupPaths: state.cgroupPaths, stats, initAliveAfterDestroy: alive };
} catch (err) {
  out.record = { error: errorOf(err) };
}

// 4. A container in the caller's pid namespace: without a cgroup nothing could end all of it.
try {
  const namespaces = ['mount', 'network', 'ipc', 'uts'].map((type) => ({ type }));
  const r = await run({ id: `${prefix}-sharedpid`, rootfs, stateRoot, process: { args: ['/bin/true'] }, linux: { namespaces } });
  out.sharedPid = { exitCode: r.exitCode };
} catch (err) {
  out.sharedPid = { error: errorOf(err) };
}

out.cgroupAfter = cgroupOfSelf();
out.warnings = warnings;
out.stateLeft = fs.existsSync(stateRoot) ? fs.readdirSync(stateRoot) : [];
process.stdout.write(`CI-RESULT ${JSON.stringify(out)}\n`);
