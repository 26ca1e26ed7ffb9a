// Many containers in a row and at once leave no fd growth, zombie, mount or state.
import test from 'ava';
import { run } from '../../dist/lib/index.js';
import { assertNoLeaks, ROOTFS, settledSnapshot, snapshot, stateRootFor } from './helpers.js';

const stateRoot = stateRootFor('stress');
const config = { rootfs: ROOTFS, stateRoot, process: { args: ['/bin/sh', '-c', 'echo ok'] } };

test.serial('200 sequential run() calls leave nothing behind', async (t) => {
  await run(config); // warm up lazily created handles before the snapshot
  const before = await settledSnapshot(stateRoot);
  for (let i = 0; i < 200; i++) {
    const r = await run(config);
    if (r.exitCode !== 0 || r.stdout.toString() !== 'ok\n') t.fail(`run ${i}: ${r.exitCode} ${r.stdout}`);
  }
  t.pass();
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('50 concurrent run() calls leave nothing behind', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const results = await Promise.all(Array.from({ length: 50 }, () => run(config)));
  t.true(results.every((r) => r.exitCode === 0 && r.stdout.toString() === 'ok\n'));
  await assertNoLeaks(t, before, stateRoot);
});
