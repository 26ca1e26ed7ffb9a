// openat2(RESOLVE_IN_ROOT) fails with EAGAIN when a rename or mount anywhere on
// the system races a lookup that walks '..' (the kernel cannot prove the walk
// stayed inside the root); every such lookup in the child retries. Renames in a
// tight loop on a worker thread stand in for the other containers and builds
// of a busy host.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { run } from '../../dist/lib/index.js';
import { ROOTFS, assertNoLeaks, settledSnapshot, stateRootFor } from './helpers.js';

const stateRoot = stateRootFor('openat2-retry');

function startRenaming(dir) {
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const fs = require('node:fs');
     const { workerData: { dir, stop } } = require('node:worker_threads');
     fs.writeFileSync(dir + '/a', '');
     while (Atomics.load(stop, 0) === 0) { fs.renameSync(dir + '/a', dir + '/b'); fs.renameSync(dir + '/b', dir + '/a'); }`,
    { eval: true, workerData: { dir, stop } },
  );
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  return async () => {
    Atomics.store(stop, 0, 1);
    await exited;
  };
}

/** 40 run()s of `config(i)` while renames race them; what failed, as strings. */
async function racedRuns(t, renames, config, check) {
  const before = await settledSnapshot(stateRoot);
  const stopRenaming = startRenaming(renames);
  const failures = [];
  try {
    for (let i = 0; i < 40; i++) {
      try {
        check(await run({ stateRoot, ...config(i) }), i);
      } catch (err) {
        failures.push(`${err.step} ${err.syscall} ${err.errno}: ${err.message}`);
      }
    }
  } finally {
    await stopRenaming();
  }
  t.deepEqual(failures, []);
  await assertNoLeaks(t, before, stateRoot);
}

test.serial('a mount destination whose path walks ".." is resolved while renames race the lookup', async (t) => {
  // A directory of our own, bound at /home, whose sys/net/ipv4 is a symlink
  // down and back up ten levels: the next mount's destination resolves through
  // all those '..' (inside the rootfs, RESOLVE_IN_ROOT).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-openat2-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const tree = path.join(dir, 'tree');
  const down = Array(10).fill('d').join('/');
  fs.mkdirSync(path.join(tree, 'sys/net', down), { recursive: true });
  fs.mkdirSync(path.join(tree, 'sys/net/real'));
  fs.symlinkSync(`${down}/${Array(10).fill('..').join('/')}/real`, path.join(tree, 'sys/net/ipv4'));
  const renames = path.join(dir, 'renames');
  fs.mkdirSync(renames);

  await racedRuns(
    t,
    renames,
    () => ({
      rootfs: ROOTFS,
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc' },
        { destination: '/home', type: 'bind', source: tree, options: ['rbind'] },
        { destination: '/home/sys/net/ipv4', type: 'tmpfs', source: 'tmpfs', options: ['size=64k'] },
      ],
      linux: { maskedPaths: [], readonlyPaths: [] },
      process: { args: ['/bin/sh', '-c', 'grep -q " /home/sys/net/real " /proc/self/mountinfo'] },
    }),
    (r) => t.is(r.exitCode, 0, "the tmpfs landed on the symlink's target, inside the rootfs"),
  );
});

test.serial('a sysctl written through a /proc whose path walks ".." is written while renames race the lookup', async (t) => {
  // A rootfs of our own whose /proc is a symlink down and back up ten levels:
  // proc is mounted at its target, and every sysctl write resolves through all
  // those '..' (RESOLVE_IN_ROOT).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-openat2-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const rootfs = path.join(dir, 'rootfs');
  const down = Array(10).fill('d').join('/');
  for (const d of ['bin', 'dev', 'sys', 'tmp', 'realproc', down]) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
  fs.copyFileSync(path.join(ROOTFS, 'bin/busybox'), path.join(rootfs, 'bin/busybox'));
  fs.chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
  fs.symlinkSync('busybox', path.join(rootfs, 'bin/sh'));
  fs.symlinkSync(`${down}/${Array(10).fill('..').join('/')}/realproc`, path.join(rootfs, 'proc'));
  const renames = path.join(dir, 'renames');
  fs.mkdirSync(renames);

  await racedRuns(
    t,
    renames,
    (i) => ({
      rootfs,
      mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
      linux: { sysctl: { 'net.ipv4.ip_forward': String(i % 2) }, maskedPaths: [], readonlyPaths: [] },
      process: { args: ['/bin/sh', '-c', 'read v < /realproc/sys/net/ipv4/ip_forward; echo $v'] },
    }),
    (r, i) => t.is(r.stdout.toString().trim(), String(i % 2), "the container's own ip_forward"),
  );
});
