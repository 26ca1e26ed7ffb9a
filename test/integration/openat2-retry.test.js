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

test.serial('a sysctl whose path walks ".." is written while renames race the lookup', async (t) => {
  // A /proc of our own whose sys/net/ipv4 is a symlink down and back up ten
  // levels: the container's sysctl write resolves through all those '..'.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-openat2-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const proc = path.join(dir, 'proc');
  const down = Array(10).fill('d').join('/');
  fs.mkdirSync(path.join(proc, 'sys/net', down), { recursive: true });
  fs.mkdirSync(path.join(proc, 'sys/net/real'));
  fs.symlinkSync(`${down}/${Array(10).fill('..').join('/')}/real`, path.join(proc, 'sys/net/ipv4'));
  fs.writeFileSync(path.join(proc, 'sys/net/real/ip_forward'), '');
  const renames = path.join(dir, 'renames');
  fs.mkdirSync(renames);

  const before = await settledSnapshot(stateRoot);
  const stopRenaming = startRenaming(renames);
  const failures = [];
  try {
    for (let i = 0; i < 40; i++) {
      const value = String(i % 2);
      try {
        await run({
          rootfs: ROOTFS,
          stateRoot,
          mounts: [{ destination: '/proc', type: 'bind', source: proc, options: ['rbind'] }],
          linux: { sysctl: { 'net.ipv4.ip_forward': value }, maskedPaths: [], readonlyPaths: [] },
          process: { args: ['/bin/true'] },
        });
        t.is(fs.readFileSync(path.join(proc, 'sys/net/real/ip_forward'), 'utf8'), value);
      } catch (err) {
        failures.push(`${err.step} ${err.syscall} ${err.errno}: ${err.message}`);
      }
    }
  } finally {
    await stopRenaming();
  }
  t.deepEqual(failures, []);
  await assertNoLeaks(t, before, stateRoot);
});
