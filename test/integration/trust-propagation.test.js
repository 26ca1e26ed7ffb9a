// No rootfsPropagation value may put a container's mounts into the caller's
// mount namespace. The rootfs and a bind source live under a shared mount (the
// case where a container's mount namespace starts with peers outside), and each
// container mounts a tmpfs of its own over its bind mount (CAP_SYS_ADMIN).
// The caller runs in a mount namespace of its own that stands in for the host
// (unshare -m, everything private, as network tests bring their own netns):
// other test files running meanwhile count the host's mounts for their own
// leak checks, and a shared mount made there would reach other namespaces.
import test from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createContainer } from '../../dist/lib/index.js';
import { assertNoLeaks, ROOTFS, settledSnapshot, stateRootFor } from './helpers.js';
import { DIST_INDEX } from './trust-helpers.js';

const stateRoot = stateRootFor('trust-propagation');
const PROPAGATIONS = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave', 'unbindable', 'runbindable'];

// The caller: in its namespace, a shared tmpfs holding the rootfs (a bind of
// the fixture) and a bind source; one run(); the mount table before and after.
const DRIVER = `
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { run } from ${JSON.stringify(DIST_INDEX)};
import { defaultMounts } from ${JSON.stringify(path.join(path.dirname(DIST_INDEX), 'config', 'defaults.js'))};
const { fixture, stateRoot, scratch, propagation } = JSON.parse(process.argv[2]);
const mountinfo = () => fs.readFileSync('/proc/self/mountinfo', 'utf8');
const ADMIN = ['CAP_SYS_ADMIN', 'CAP_KILL'];
execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=755', 'berth-trust-prop', scratch]);
const out = { ns: fs.readlinkSync('/proc/self/ns/mnt') };
try {
  execFileSync('mount', ['--make-shared', scratch]);
  fs.mkdirSync(path.join(scratch, 'rootfs'));
  fs.mkdirSync(path.join(scratch, 'data'));
  fs.writeFileSync(path.join(scratch, 'data', 'from-host'), 'host\\n');
  execFileSync('mount', ['--bind', fixture, path.join(scratch, 'rootfs')]);
  out.before = mountinfo();
  try {
    const r = await run({
      rootfs: path.join(scratch, 'rootfs'),
      stateRoot,
      linux: { rootfsPropagation: propagation },
      mounts: [...defaultMounts(), { destination: '/data', type: 'bind', source: path.join(scratch, 'data'), options: ['rbind'] }],
      process: {
        args: ['sh', '-c', 'mount -t tmpfs inner /data && cat /proc/self/mountinfo'],
        capabilities: { bounding: ADMIN, effective: ADMIN, permitted: ADMIN },
      },
    });
    out.result = { exitCode: r.exitCode, signal: r.signal, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  } catch (err) {
    out.error = { message: err.message, step: err.step };
  }
  out.after = mountinfo();
  out.dataEntries = fs.readdirSync(path.join(scratch, 'data'));
} finally {
  // Detached with everything below it (whatever a container leaked there goes
  // too); -l rather than util-linux's -R, which busybox (the VM lane) lacks.
  execFileSync('umount', ['-l', scratch]);
}
console.log(JSON.stringify(out));
`;

/** mountinfo as { mountPoint, tags: 'shared:N master:M …' } (field 5, and 7 up to '-'). */
function mountinfo(text) {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const f = line.split(' ');
      return { mountPoint: f[4], tags: f.slice(6, f.indexOf('-')).join(' '), line };
    });
}

function peerGroups(mounts) {
  const groups = new Set();
  for (const m of mounts) for (const g of m.tags.matchAll(/shared:(\d+)/g)) groups.add(g[1]);
  return groups;
}

function drive(dir, propagation) {
  const scratch = path.join(dir, 'scratch');
  fs.mkdirSync(scratch);
  const arg = JSON.stringify({ fixture: ROOTFS, stateRoot, scratch, propagation });
  return new Promise((resolve, reject) => {
    const p = spawn('unshare', ['-m', '--propagation', 'private', process.execPath, path.join(dir, 'driver.mjs'), arg], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(JSON.parse(stdout)) : reject(new Error(`driver exited ${code}: ${stderr}`))));
  });
}

for (const propagation of PROPAGATIONS) {
  test.serial(`rootfsPropagation ${propagation}: nothing reaches the caller's mounts, the container's root is ${propagation}`, async (t) => {
    const before = await settledSnapshot(stateRoot);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-trust-prop-'));
    let out;
    try {
      fs.writeFileSync(path.join(dir, 'driver.mjs'), DRIVER);
      out = await drive(dir, propagation);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    t.not(out.ns, fs.readlinkSync('/proc/self/ns/mnt'), 'the caller has a mount namespace of its own');
    const callerBefore = mountinfo(out.before);
    const callerAfter = mountinfo(out.after);
    const callerGroups = peerGroups(callerBefore);
    t.regex(callerBefore.find((m) => m.mountPoint.endsWith('/scratch/rootfs')).tags, /shared:\d+/, 'the rootfs is on a shared mount (else the test proves nothing)');
    const added = callerAfter.filter((m) => !callerBefore.some((b) => b.line === m.line)).map((m) => m.mountPoint);
    t.deepEqual(added, [], "the container's mounts reached the caller's namespace");
    t.is(callerAfter.length, callerBefore.length);
    t.deepEqual(out.dataEntries, ['from-host'], "the caller sees its own /data dir, not the container's tmpfs");
    t.is(out.error, undefined, `${out.error?.message} (step ${out.error?.step})`);
    if (!out.result) return;
    t.is(out.result.exitCode, 0, out.result.stderr);
    const inside = mountinfo(out.result.stdout);
    const root = inside.find((m) => m.mountPoint === '/');
    const data = inside.filter((m) => m.mountPoint === '/data');
    t.log(`/: ${root.tags || '(private)'}; /data: ${data.map((m) => m.tags || '(private)').join(' | ')}`);
    const kind = propagation.replace(/^r/, '');
    if (kind === 'private') t.is(root.tags, '');
    if (kind === 'unbindable') t.is(root.tags, 'unbindable');
    if (kind === 'slave') t.regex(root.tags, /^master:\d+$/, 'receives from the caller, sends nothing');
    if (kind === 'shared') {
      const group = /shared:(\d+)/.exec(root.tags)?.[1];
      t.truthy(group, `the root is shared: ${root.tags}`);
      t.false(callerGroups.has(group), 'its peers are inside the container only');
    }
    // No container mount is a peer of any mount of the caller.
    for (const m of inside) for (const g of m.tags.matchAll(/shared:(\d+)/g)) t.false(callerGroups.has(g[1]), `${m.mountPoint} is a peer of a caller's mount: ${m.line}`);
    await assertNoLeaks(t, before, stateRoot);
  });
}

test.serial("rootfsPropagation without a mount namespace of its own is a ConfigError (it would be the host's)", async (t) => {
  const before = await settledSnapshot(stateRoot);
  let made;
  try {
    const err = await t.throwsAsync(async () => {
      made = await createContainer({ rootfs: ROOTFS, stateRoot, linux: { rootfsPropagation: 'rshared', namespaces: [{ type: 'pid' }] }, process: { args: ['true'] } });
    });
    t.is(err?.code, 'INVALID_CONFIG');
    // Refused as a whole: a container without a mount namespace of its own has no rootfs either.
    t.is(err?.field, 'linux.namespaces');
  } finally {
    await made?.destroy();
  }
  await assertNoLeaks(t, before, stateRoot);
});
