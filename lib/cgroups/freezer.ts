// The freezers, on one cgroup directory: cgroup v2's core freezer
// (cgroup.freeze / cgroup.events "frozen") and v1's freezer controller
// (freezer.state). Shared by the v2 manager and the v1/hybrid one, which falls
// back to the unified tree's core freezer where no v1 freezer is mounted.
import { join } from 'node:path';
import { CgroupError } from '../errors.js';
import { waitForKeyValue } from './events.js';
import { pollUntil, readText, writeText } from './fsio.js';

export const DEFAULT_FREEZE_TIMEOUT_MS = 5000;

/** Writes cgroup.freeze=1 and waits for "frozen 1"; on timeout thaws back and rejects. */
export async function freezeV2(dir: string, timeoutMs = DEFAULT_FREEZE_TIMEOUT_MS): Promise<void> {
  const control = join(dir, 'cgroup.freeze');
  const events = join(dir, 'cgroup.events');
  await writeText(control, '1', 'freeze');
  if (await waitForKeyValue(events, 'frozen', '1', timeoutMs)) return;
  await writeText(control, '0', 'freeze').catch(() => undefined);
  throw new CgroupError({ step: 'freeze', path: events, errno: 'ETIMEDOUT', message: `cgroup did not freeze within ${timeoutMs} ms; thawed it again` });
}

export async function thawV2(dir: string): Promise<void> {
  const events = join(dir, 'cgroup.events');
  await writeText(join(dir, 'cgroup.freeze'), '0', 'thaw');
  if (!(await waitForKeyValue(events, 'frozen', '0', DEFAULT_FREEZE_TIMEOUT_MS))) {
    throw new CgroupError({ step: 'thaw', path: events, errno: 'ETIMEDOUT', message: 'cgroup did not thaw' });
  }
}

/** freezer.state=FROZEN, waiting until it reads FROZEN; on timeout THAWED again and reject. */
export async function freezeV1(dir: string, timeoutMs = DEFAULT_FREEZE_TIMEOUT_MS): Promise<void> {
  const state = join(dir, 'freezer.state');
  await writeText(state, 'FROZEN', 'freeze');
  const frozen = await pollUntil(async () => {
    const s = (await readText(state, 'freeze')).trim();
    // Re-request while FREEZING: a task that was forking can make a freeze attempt stall.
    if (s === 'FREEZING') await writeText(state, 'FROZEN', 'freeze');
    return s === 'FROZEN';
  }, timeoutMs, 10);
  if (frozen) return;
  await writeText(state, 'THAWED', 'freeze').catch(() => undefined);
  throw new CgroupError({ step: 'freeze', path: state, errno: 'ETIMEDOUT', message: `cgroup did not freeze within ${timeoutMs} ms; thawed it again` });
}

export async function thawV1(dir: string): Promise<void> {
  const state = join(dir, 'freezer.state');
  await writeText(state, 'THAWED', 'thaw');
  if (!(await pollUntil(async () => (await readText(state, 'thaw')).trim() === 'THAWED', DEFAULT_FREEZE_TIMEOUT_MS, 10))) {
    throw new CgroupError({ step: 'thaw', path: state, errno: 'ETIMEDOUT', message: 'cgroup did not thaw' });
  }
}
