// Idmapped mounts (runtime-spec 1.2 idmap/ridmap, per-mount maps equal to the
// container's) and an idmapped rootfs (root.idmap): made by the parent with
// open_tree + mount_setattr(MOUNT_ATTR_IDMAP) and the container's own user
// namespace, attached by berth-init. Host root's files are root's inside;
// what the container writes lands on disk with the container's ids mapped
// back. Needs a filesystem that supports idmapped mounts (ext4, tmpfs on 6.3+):
// skipped with the reason otherwise. Host lane and VM lane.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createContainer, run } from '../../dist/lib/index.js';
import { DEFAULT_NAMESPACES } from '../../dist/lib/config/defaults.js';
import { assertNoLeaks, outputOf, ROOTFS, settledSnapshot, startedSleeper, stateRootFor } from './helpers.js';

const stateRoot = stateRootFor('userns-idmap');
const HOST_ID = 500000;
const MAP = [{ containerID: 0, hostID: HOST_ID, size: 65536 }];
const linux = { namespaces: [...DEFAULT_NAMESPACES.map((type) => ({ type })), { type: 'user' }], uidMappings: MAP, gidMappings: MAP };
const baseMounts = [
  { destination: '/proc', type: 'proc', source: 'proc' },
  { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'mode=755'] },
];

// The probe runs before the tests are declared (top-level await), so a
// filesystem without idmap support skips them as skips, with the reason.
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-idmap-'));
// A plain bind's source is opened by the container's root: it must be able to reach it.
fs.chmodSync(scratch, 0o755);
let skipReason = process.getuid() !== 0 ? 'needs root' : !fs.existsSync('/proc/self/ns/user') ? 'no user namespaces' : null;
if (!skipReason) {
  // Probe: an idmapped bind of the scratch dir and of the rootfs's filesystem.
  for (const [what, mounts, root] of [['the scratch directory', [{ destination: '/tmp', type: 'bind', source: scratch, options: ['rbind', 'idmap'] }], { path: ROOTFS }], ['the test rootfs', [], { path: ROOTFS, idmap: true }]]) {
    try {
      await run({ root, stateRoot, mounts: [...baseMounts, ...mounts], linux, process: { args: ['/bin/true'] } });
    } catch (err) {
      if (err.errno === 'EINVAL' && err.syscall === 'mount_setattr') skipReason = `the filesystem of ${what} does not support idmapped mounts (the host lane runs these)`;
      else throw err;
    }
  }
  if (skipReason) console.log(`userns-idmap: skipped: ${skipReason}`);
}
test.after.always(() => fs.rmSync(scratch, { recursive: true, force: true }));

const maybe = (title, fn) => (skipReason ? test.serial.skip(`${title} (skipped: ${skipReason})`, fn) : test.serial(title, fn));

maybe('an idmapped rootfs: host root\'s files are root\'s inside (without it they are nobody\'s)', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const script = 'stat -c %u:%g /bin/sh /etc; ls -ln / | grep -c " 0 *0 "';
  const mapped = await run({ root: { path: ROOTFS, idmap: true }, stateRoot, linux, process: { args: ['/bin/sh', '-c', script] } });
  t.is(mapped.exitCode, 0, mapped.stderr.toString());
  const [sh, etc] = mapped.stdout.toString().trim().split('\n');
  t.is(sh, '0:0');
  t.is(etc, '0:0');
  const plain = await run({ rootfs: ROOTFS, stateRoot, linux, process: { args: ['/bin/sh', '-c', 'stat -c %u:%g /bin/sh'] } });
  t.is(plain.stdout.toString().trim(), '65534:65534');
  await assertNoLeaks(t, before, stateRoot);
});

maybe('an idmapped bind: a file the container creates lands on the host with the container\'s ids mapped back; a plain bind shows the mapped host ids', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const idmapped = path.join(scratch, 'idmapped');
  const plain = path.join(scratch, 'plain');
  fs.mkdirSync(idmapped, { mode: 0o777 });
  fs.mkdirSync(plain, { mode: 0o777 });
  fs.chmodSync(idmapped, 0o777);
  fs.chmodSync(plain, 0o777);
  fs.writeFileSync(path.join(idmapped, 'from-host'), 'x');
  const c = await startedSleeper(createContainer, stateRoot, {
    root: { path: ROOTFS, idmap: true },
    rootfs: undefined,
    mounts: [
      ...baseMounts,
      { destination: '/tmp', type: 'bind', source: idmapped, options: ['rbind', 'idmap'] },
      { destination: '/mnt', type: 'bind', source: plain, options: ['rbind'] },
    ],
    linux,
  });
  try {
    const root = await outputOf(await c.exec({ args: ['/bin/sh', '-c', 'stat -c %u /tmp/from-host; echo a > /tmp/by-root; echo b > /mnt/by-root'] }));
    t.is(root.exitCode, 0);
    t.is(root.out.trim(), '0', 'a host-root file in the idmapped bind is root\'s inside');
    const user = await outputOf(await c.exec({ args: ['/bin/sh', '-c', 'echo c > /tmp/by-1000; echo d > /mnt/by-1000'], user: { uid: 1000, gid: 1000 } }));
    t.is(user.exitCode, 0);
  } finally {
    await c.destroy();
  }
  const owner = (p) => { const st = fs.statSync(p); return `${st.uid}:${st.gid}`; };
  t.is(owner(path.join(idmapped, 'by-root')), '0:0');
  t.is(owner(path.join(idmapped, 'by-1000')), '1000:1000');
  t.is(owner(path.join(plain, 'by-root')), `${HOST_ID}:${HOST_ID}`);
  t.is(owner(path.join(plain, 'by-1000')), `${HOST_ID + 1000}:${HOST_ID + 1000}`);
  await assertNoLeaks(t, before, stateRoot);
});

maybe('per-mount maps equal to the container\'s are an idmapped bind too; ridmap as well', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const dir = path.join(scratch, 'own-maps');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'f'), '');
  for (const m of [{ uidMappings: MAP, gidMappings: MAP, options: ['rbind'] }, { options: ['rbind', 'ridmap'] }]) {
    const r = await run({ rootfs: ROOTFS, stateRoot, mounts: [...baseMounts, { destination: '/tmp', type: 'bind', source: dir, ...m }], linux, process: { args: ['stat', '-c', '%u', '/tmp/f'] } });
    t.is(r.stdout.toString().trim(), '0', JSON.stringify(m));
  }
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('refused before anything exists: an idmapped mount without a user namespace, other maps, a non-bind', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const bind = { destination: '/tmp', type: 'bind', source: scratch, options: ['rbind', 'idmap'] };
  const cases = [
    [{ mounts: [bind] }, 'mounts[0].options[1]'],
    [{ root: { path: ROOTFS, idmap: true }, rootfs: undefined }, 'root.idmap'],
    [{ linux, mounts: [{ ...bind, options: ['rbind'], uidMappings: [{ containerID: 0, hostID: 1, size: 1 }], gidMappings: MAP }] }, 'mounts[0].uidMappings'],
    [{ linux, mounts: [{ destination: '/tmp', type: 'tmpfs', options: ['idmap'] }] }, 'mounts[0].options[0]'],
  ];
  for (const [extra, field] of cases) {
    const err = await t.throwsAsync(run({ rootfs: ROOTFS, stateRoot, process: { args: ['/bin/true'] }, ...extra }));
    t.is(err.code, 'INVALID_CONFIG');
    t.is(err.field, field);
  }
  await assertNoLeaks(t, before, stateRoot);
});
