// userns: 'auto': each container gets a 65536-id host range of its own, leased
// under a lock (lib/state/userns-leases.ts), with its rootfs idmapped; the
// range is released on destroy and a lease whose container is gone is
// reclaimed. 50 concurrent containers in one process and containers made by
// two processes at once never share a range. Host lane and VM lane.
import test from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createContainer, run } from '../../dist/lib/index.js';
import { assertNoLeaks, ROOTFS, settledSnapshot, stateRootFor } from './helpers.js';

const stateRoot = stateRootFor('userns-auto');
const here = path.dirname(fileURLToPath(import.meta.url));
const leases = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-leases-'));
process.env.BERTH_USERNS_LEASES = leases;
delete process.env.BERTH_USERNS_POOL;
const skipReason = process.getuid() !== 0 ? 'needs root' : !fs.existsSync('/proc/self/ns/user') ? 'no user namespaces' : null;
if (skipReason) console.log(`userns-auto: skipped: ${skipReason}`);
const maybe = skipReason ? test.skip : test.serial;
test.after.always(() => fs.rmSync(leases, { recursive: true, force: true }));

// 'auto' idmaps the rootfs; where the rootfs's filesystem cannot be idmapped
// (the VM lane's initramfs) the tests say root.idmap: false and say why.
let rootIdmap = true;
test.before(async () => {
  if (skipReason) return;
  try {
    await run({ rootfs: ROOTFS, stateRoot, userns: 'auto', process: { args: ['/bin/true'] } });
  } catch (err) {
    if (err.errno !== 'EINVAL' || err.syscall !== 'mount_setattr') throw err;
    rootIdmap = false;
    console.log('userns-auto: the test rootfs\'s filesystem cannot be idmapped here: the containers use root.idmap: false (userns-idmap covers idmapping where it can)');
  }
});
const root = () => ({ root: { path: ROOTFS, idmap: rootIdmap } });

const slotFiles = () => fs.readdirSync(leases).filter((n) => /^\d+$/.test(n));
const hostRange = (pid) => fs.readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split(/\s+/).map(Number);
const sleeper = (extra = {}) => createContainer({ ...root(), stateRoot, userns: 'auto', process: { args: ['sleep', '1000'], stdio: 'ignore' }, ...extra });

maybe('a container gets a range of the default pool, its rootfs idmapped, and gives the range back on destroy', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const r = await run({ ...root(), stateRoot, userns: 'auto', process: { args: ['/bin/sh', '-c', 'id -u; cat /proc/self/uid_map /proc/self/gid_map; stat -c %u:%g /bin/sh'] } });
  t.is(r.exitCode, 0, r.stderr.toString());
  const [uid, uidMap, gidMap, owner] = r.stdout.toString().trim().split('\n');
  t.is(uid, '0');
  const [c0, h0, size] = uidMap.trim().split(/\s+/).map(Number);
  t.is(c0, 0);
  t.is(size, 65536);
  t.true(h0 >= 100000000 && (h0 - 100000000) % 65536 === 0, `host start ${h0}`);
  t.deepEqual(gidMap.trim().split(/\s+/).map(Number), [0, h0, 65536]);
  t.is(owner, rootIdmap ? '0:0' : '65534:65534', rootIdmap ? 'the rootfs is idmapped' : 'not idmapped here');
  t.deepEqual(slotFiles(), [], 'released');
  await assertNoLeaks(t, before, stateRoot);
});

maybe('50 concurrent containers get 50 distinct, non-overlapping ranges; all released after', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const settled = await Promise.allSettled(Array.from({ length: 50 }, () => sleeper()));
  const made = settled.filter((s) => s.status === 'fulfilled').map((s) => s.value);
  try {
    t.is(made.length, 50, settled.find((s) => s.status === 'rejected')?.reason?.message);
    const starts = made.map((c) => hostRange(c.pid)[1]).sort((a, b) => a - b);
    t.is(new Set(starts).size, 50);
    for (let i = 1; i < starts.length; i++) t.true(starts[i] - starts[i - 1] >= 65536, `${starts[i - 1]} and ${starts[i]} overlap`);
    t.is(slotFiles().length, 50);
  } finally {
    await Promise.all(made.map((c) => c.destroy()));
  }
  t.deepEqual(slotFiles(), []);
  await assertNoLeaks(t, before, stateRoot);
});

maybe('two processes leasing at once never share a range', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const script = path.join(here, 'userns-auto-child.js');
  const env = { ...process.env, BERTH_TEST_STATE_ROOT: stateRoot, BERTH_TEST_ROOTFS: ROOTFS, BERTH_TEST_ROOT_IDMAP: String(rootIdmap) };
  // Both hold their containers until both have printed: the ranges are held at the same time.
  const kids = [0, 1].map(() => spawn(process.execPath, [script], { env, stdio: ['pipe', 'pipe', 'inherit'] }));
  const lines = await Promise.all(kids.map((k) => new Promise((resolve, reject) => {
    let out = '';
    k.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.trim());
    });
    k.on('exit', (code) => reject(new Error(`child exited ${code} before printing: ${out}`)));
  })));
  await Promise.all(kids.map((k) => new Promise((r) => { k.on('exit', r); k.stdin.end(); })));
  const starts = lines.flatMap((l) => JSON.parse(l));
  t.is(starts.length, 16);
  t.is(new Set(starts).size, 16, JSON.stringify(starts));
  t.deepEqual(slotFiles(), []);
  await assertNoLeaks(t, before, stateRoot);
});

maybe('a lease whose container is gone is reclaimed; one whose container lives is not', async (t) => {
  const before = await settledSnapshot(stateRoot);
  fs.writeFileSync(path.join(leases, '0'), JSON.stringify({ id: 'long-gone', stateRoot }));
  const live = await sleeper();
  try {
    t.is(hostRange(live.pid)[1], 100000000, 'slot 0 was reclaimed');
    const next = await sleeper();
    try {
      t.is(hostRange(next.pid)[1], 100000000 + 65536, 'slot 0 stays with the live container');
    } finally {
      await next.destroy();
    }
  } finally {
    await live.destroy();
  }
  t.deepEqual(slotFiles(), []);
  await assertNoLeaks(t, before, stateRoot);
});

maybe('a failed create gives its range back; a full pool is a clear error that leaves nothing', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const err = await t.throwsAsync(run({ ...root(), stateRoot, userns: 'auto', process: { args: ['/no/such'] } }));
  t.is(err.code, 'EXECUTABLE_NOT_FOUND');
  t.deepEqual(slotFiles(), []);
  process.env.BERTH_USERNS_POOL = '200000000:65536';
  try {
    const one = await sleeper();
    try {
      const full = await t.throwsAsync(sleeper());
      t.is(full.code, 'SETUP_FAILED');
      t.regex(full.message, /all 1 ranges of BERTH_USERNS_POOL are leased/);
    } finally {
      await one.destroy();
    }
  } finally {
    delete process.env.BERTH_USERNS_POOL;
  }
  t.deepEqual(slotFiles(), []);
  await assertNoLeaks(t, before, stateRoot);
});

test('refused before anything exists: a bad value, with maps of its own, with a joined user namespace', async (t) => {
  for (const [extra, field] of [
    [{ userns: 'yes' }, 'userns'],
    [{ userns: 'auto', linux: { uidMappings: [{ containerID: 0, hostID: 1, size: 1 }] } }, 'userns'],
    [{ userns: 'auto', linux: { namespaces: [{ type: 'mount' }, { type: 'user', path: '/proc/self/ns/user' }] } }, 'userns'],
  ]) {
    const err = await t.throwsAsync(run({ rootfs: ROOTFS, stateRoot, process: { args: ['/bin/true'] }, ...extra }));
    t.is(err.code, 'INVALID_CONFIG');
    t.is(err.field, field);
  }
});
