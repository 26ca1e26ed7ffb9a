// userns 'auto' range allocation, root-free: where the pool comes from, the
// lowest free slot, reclaiming a lease whose container is gone, release.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { RANGE_SIZE, leaseRange, leasedSlot, releaseRange, resolvePool } from '../../dist/lib/state/userns-leases.js';
import { removeDir, scratchDir } from './helpers.js';

let dir;
test.before(() => (dir = scratchDir('userns-leases')));
test.after.always(() => removeDir(dir));

test('the pool: BERTH_USERNS_POOL, else the "berth" entries of /etc/subuid and /etc/subgid, else the default', (t) => {
  const etc = path.join(dir, 'etc');
  fs.mkdirSync(etc, { recursive: true });
  t.like(resolvePool({}, etc), { uidStart: 100000000, gidStart: 100000000, slots: 1000 });
  fs.writeFileSync(path.join(etc, 'subuid'), 'alice:100000:65536\nberth:1000000:655360\n');
  t.like(resolvePool({}, etc), { uidStart: 100000000 }, 'a subuid entry without a subgid one is not a pool');
  fs.writeFileSync(path.join(etc, 'subgid'), 'berth:2000000:196608\n');
  t.like(resolvePool({}, etc), { uidStart: 1000000, gidStart: 2000000, slots: 3 });
  t.like(resolvePool({ BERTH_USERNS_POOL: `5000000:${RANGE_SIZE * 2 + 5}` }, etc), { uidStart: 5000000, gidStart: 5000000, slots: 2 });
  for (const bad of ['x', '1:100', `${2 ** 32 - 10}:${RANGE_SIZE}`]) t.throws(() => resolvePool({ BERTH_USERNS_POOL: bad }, etc), { message: /BERTH_USERNS_POOL/ }, bad);
});

test('the lowest free slot; a lease whose state directory no longer names it is reclaimed; release frees it', async (t) => {
  const env = { BERTH_USERNS_LEASES: path.join(dir, 'leases'), BERTH_USERNS_POOL: `300000000:${RANGE_SIZE * 3}` };
  const stateRoot = path.join(dir, 'state');
  for (const id of ['a', 'b', 'c', 'd']) fs.mkdirSync(path.join(stateRoot, id), { recursive: true });
  const a = await leaseRange(stateRoot, 'a', env);
  const b = await leaseRange(stateRoot, 'b', env);
  t.deepEqual([a, b], [{ slot: 0, uid: 300000000, gid: 300000000 }, { slot: 1, uid: 300000000 + RANGE_SIZE, gid: 300000000 + RANGE_SIZE }]);
  t.is(leasedSlot(path.join(stateRoot, 'b')), 1);
  // a's container is gone (its state directory removed): slot 0 is free again.
  fs.rmSync(path.join(stateRoot, 'a'), { recursive: true });
  t.is((await leaseRange(stateRoot, 'c', env)).slot, 0);
  t.is((await leaseRange(stateRoot, 'd', env)).slot, 2);
  fs.mkdirSync(path.join(stateRoot, 'e'));
  await t.throwsAsync(leaseRange(stateRoot, 'e', env), { message: /all 3 ranges/ });
  // Release only by the holder.
  await releaseRange(stateRoot, 'c', 1, env);
  t.true(fs.existsSync(path.join(env.BERTH_USERNS_LEASES, '1')));
  await releaseRange(stateRoot, 'b', 1, env);
  t.false(fs.existsSync(path.join(env.BERTH_USERNS_LEASES, '1')));
  t.is((await leaseRange(stateRoot, 'e', env)).slot, 1);
});

test('concurrent leases in one process are serialized by the lock: all distinct', async (t) => {
  const env = { BERTH_USERNS_LEASES: path.join(dir, 'leases2') };
  const stateRoot = path.join(dir, 'state2');
  const ids = Array.from({ length: 30 }, (_, i) => `c${i}`);
  for (const id of ids) fs.mkdirSync(path.join(stateRoot, id), { recursive: true });
  const slots = (await Promise.all(ids.map((id) => leaseRange(stateRoot, id, env)))).map((l) => l.slot);
  t.deepEqual([...slots].sort((x, y) => x - y), ids.map((_, i) => i));
});
