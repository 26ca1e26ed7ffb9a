// No rootfsPropagation value may put a container's mounts into the host's
// mount namespace. The rootfs and a bind source live under a shared mount of
// the test's own (made here, in the host namespace: the case where a container
// mount namespace starts with peers on the host). Each container runs with
// CAP_SYS_ADMIN and mounts a tmpfs of its own over its bind mount too.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultMounts } from '../../dist/lib/config/defaults.js';
import { createContainer, run } from '../../dist/lib/index.js';
import { assertNoLeaks, ROOTFS, settledSnapshot, stateRootFor } from './helpers.js';

const stateRoot = stateRootFor('trust-propagation');
const PROPAGATIONS = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave', 'unbindable', 'runbindable'];
const ADMIN = ['CAP_SYS_ADMIN', 'CAP_KILL'];

/** mountinfo as { mountPoint, tags: 'shared:N master:M …' } (fields 5 and 7…before '-'). */
function mountinfo(text = fs.readFileSync('/proc/self/mountinfo', 'utf8')) {
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

let scratch;
test.before(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-trust-prop-'));
  // A peer group of our own: nothing mounted here reaches any other namespace's /tmp.
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=755', 'berth-trust-prop', scratch]);
  execFileSync('mount', ['--make-private', scratch]);
  execFileSync('mount', ['--make-shared', scratch]);
  fs.mkdirSync(path.join(scratch, 'rootfs'));
  fs.mkdirSync(path.join(scratch, 'data'));
  fs.writeFileSync(path.join(scratch, 'data', 'from-host'), 'host\n');
  execFileSync('mount', ['--bind', ROOTFS, path.join(scratch, 'rootfs')]);
});

test.after.always(() => {
  if (!scratch) return;
  // Recursive: whatever a container leaked below it goes too.
  execFileSync('umount', ['-R', scratch]);
  fs.rmdirSync(scratch);
});

for (const propagation of PROPAGATIONS) {
  test.serial(`rootfsPropagation ${propagation}: nothing reaches the host's mounts, the container's root is ${propagation}`, async (t) => {
    const before = await settledSnapshot(stateRoot);
    const hostBefore = mountinfo();
    const hostGroups = peerGroups(hostBefore);
    const rootfsTags = hostBefore.find((m) => m.mountPoint === path.join(scratch, 'rootfs')).tags;
    t.regex(rootfsTags, /shared:\d+/, 'the rootfs is on a shared host mount (else the test proves nothing)');
    let result;
    let error;
    try {
      result = await run({
        rootfs: path.join(scratch, 'rootfs'),
        stateRoot,
        linux: { rootfsPropagation: propagation },
        mounts: [...defaultMounts(), { destination: '/data', type: 'bind', source: path.join(scratch, 'data'), options: ['rbind'] }],
        process: {
          args: ['sh', '-c', 'mount -t tmpfs inner /data && cat /proc/self/mountinfo'],
          capabilities: { bounding: ADMIN, effective: ADMIN, permitted: ADMIN },
        },
      });
    } catch (err) {
      error = err;
    }
    const hostAfter = mountinfo();
    const added = hostAfter.filter((m) => !hostBefore.some((b) => b.line === m.line)).map((m) => m.mountPoint);
    t.deepEqual(added, [], "the container's mounts reached the host");
    t.is(hostAfter.length, hostBefore.length);
    t.is(error, undefined, `${error?.message} (step ${error?.step})`);
    if (!result) return;
    t.is(result.exitCode, 0, result.stderr.toString());
    const inside = mountinfo(result.stdout.toString());
    const root = inside.find((m) => m.mountPoint === '/');
    const data = inside.filter((m) => m.mountPoint === '/data');
    t.log(`/: ${root.tags || '(private)'}; /data: ${data.map((m) => m.tags || '(private)').join(' | ')}`);
    const base = propagation.replace(/^r/, '');
    if (base === 'private') t.is(root.tags, '');
    if (base === 'unbindable') t.is(root.tags, 'unbindable');
    if (base === 'slave') t.regex(root.tags, /^master:\d+$/, 'receives from the host, sends nothing');
    if (base === 'shared') {
      const group = /shared:(\d+)/.exec(root.tags)?.[1];
      t.truthy(group, `the root is shared: ${root.tags}`);
      t.false(hostGroups.has(group), 'its peers are inside the container only');
    }
    // No container mount is a peer of any host mount.
    for (const m of inside) for (const g of m.tags.matchAll(/shared:(\d+)/g)) t.false(hostGroups.has(g[1]), `${m.mountPoint} is a peer of a host mount: ${m.line}`);
    t.false(fs.readdirSync(path.join(scratch, 'data')).length !== 1, 'the host sees its own /data, not the tmpfs');
    await assertNoLeaks(t, before, stateRoot);
  });
}

test.serial('rootfsPropagation without a mount namespace of its own is a ConfigError (it would be the host\'s)', async (t) => {
  const before = await settledSnapshot(stateRoot);
  let made;
  const err = await t.throwsAsync(async () => {
    made = await createContainer({ rootfs: ROOTFS, stateRoot, linux: { rootfsPropagation: 'rshared', namespaces: [{ type: 'pid' }] }, process: { args: ['true'] } });
  });
  await made?.destroy();
  t.is(err.code, 'INVALID_CONFIG');
  t.is(err.field, 'linux.rootfsPropagation');
  await assertNoLeaks(t, before, stateRoot);
});
