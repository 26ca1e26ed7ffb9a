// A paused container can always be destroyed: from its owner, and from any
// other process after the owner died (kill must thaw: freeze, signal, thaw).
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { createContainer, listContainers, loadContainer } from '../../dist/lib/index.js';
import { assertNoLeaks, isAlive, ROOTFS, settledSnapshot, stateEntries, stateRootFor } from './helpers.js';
import { cgroupDirs, layout, ownerProcess, within } from './owner.js';

const stateRoot = stateRootFor('trust-pause');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));


/** Last resort, so a failing test does not leave a frozen container behind. */
function thawAndKill(id, pid) {
  for (const d of cgroupDirs(id)) {
    try {
      if (fs.existsSync(path.join(d, 'freezer.state'))) fs.writeFileSync(path.join(d, 'freezer.state'), 'THAWED');
      if (fs.existsSync(path.join(d, 'cgroup.freeze'))) fs.writeFileSync(path.join(d, 'cgroup.freeze'), '0');
    } catch {
      // already gone
    }
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Waits until `pid` is gone or a zombie (its reaper is not ours to wait for). */
async function gone(pid) {
  for (let i = 0; i < 250; i++) {
    let st;
    try {
      st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return true;
    }
    if (st.slice(st.lastIndexOf(')') + 2).startsWith('Z')) return true;
    await sleep(20);
  }
  return false;
}


test.serial('pause() then destroy() settles, ends every process and leaves nothing', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const c = await createContainer({ rootfs: ROOTFS, stateRoot, process: { args: ['sleep', '100'] } });
  const pid = c.pid;
  try {
    await c.start();
    await c.pause();
    t.is(c.status, 'paused');
    const outcome = await within(c.destroy(), 20000);
    t.is(outcome, 'resolved', 'destroy() of a paused container settles');
    t.false(isAlive(pid));
    t.is(c.status, 'stopped');
    const err = await t.throwsAsync(c.resume());
    t.is(err.code, 'INVALID_STATE');
    t.notRegex(err.message, /it is paused/);
    t.deepEqual(cgroupDirs(c.id).filter((d) => fs.existsSync(d)), []);
  } finally {
    thawAndKill(c.id, pid);
    await c.destroy().catch(() => {});
  }
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('kill() of a paused container delivers the signal; it takes effect once resumed (runc semantics)', async (t) => {
  // Not a regression test: it pins the chosen behaviour down.
  const c = await createContainer({ rootfs: ROOTFS, stateRoot, process: { args: ['sh', '-c', 'trap "exit 7" TERM; while :; do sleep 0.05; done'] } });
  try {
    const init = await c.start();
    await sleep(200); // the trap is set
    await c.pause();
    await c.kill('SIGTERM');
    await sleep(300);
    t.is(c.status, 'paused', 'still paused');
    t.true(isAlive(c.pid), 'the frozen process has not acted on it yet');
    await c.resume();
    t.is((await init.wait()).exitCode, 7);
  } finally {
    thawAndKill(c.id, c.pid);
    await c.destroy();
  }
});

for (const dieWithParent of [true, false]) {
  test.serial(`a paused container whose owner was SIGKILLed (dieWithParent: ${dieWithParent}) is listed paused, and loadContainer().destroy() ends it`, async (t) => {
    const o = ownerProcess(`
      const c = await createContainer({ rootfs, stateRoot, dieWithParent: ${dieWithParent}, process: { args: ['sleep', '100'] } });
      await c.start();
      await c.pause();
      console.log(c.id + ' ' + c.pid);
      setInterval(() => {}, 1000);`, { stateRoot });
    const [id, pidText] = (await o.line()).split(' ');
    const pid = Number(pidText);
    try {
      o.child.kill('SIGKILL');
      await o.exited;
      await sleep(100);
      const listed = (await listContainers({ stateRoot })).find((s) => s.id === id);
      // The v1 freezer holds even SIGKILL, so the parent-death signal waits; the
      // v2 freezer lets fatal signals through, so there the init is already gone.
      const frozenThrough = !dieWithParent || layout.layout !== 'v2';
      t.is(listed?.status, frozenThrough ? 'paused' : 'stopped', frozenThrough ? 'its init lives on, frozen' : 'the v2 freezer let the SIGKILL through');
      const ref = await loadContainer(id, { stateRoot });
      const outcome = await within(ref.destroy(), 20000);
      t.is(outcome, 'resolved', 'destroy() from another process settles');
      t.true(await gone(pid), 'the init is dead');
      t.deepEqual(cgroupDirs(id).filter((d) => fs.existsSync(d)), []);
      t.deepEqual(stateEntries(stateRoot), []);
    } finally {
      thawAndKill(id, pid);
      if (fs.existsSync(path.join(stateRoot, id))) await (await loadContainer(id, { stateRoot })).destroy().catch(() => {});
    }
  });
}
