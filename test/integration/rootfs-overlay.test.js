// rootfs: { path, overlay: true } — the directory read-only under a throwaway
// writable layer, mounted only inside the container's mount namespace. What a
// process writes (new files, changes, deletions) lands in the layer; the
// template stays as it was, the next container sees it pristine, and the layer
// goes with the container.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, createContainer, loadContainer, run } from '../../dist/lib/index.js';
import { assertNoLeaks, outputOf, overlayMissing, ROOTFS, settledSnapshot, stateRootFor } from './helpers.js';
import { when } from './when.js';

const noOverlay = overlayMissing();

const stateRoot = stateRootFor('rootfs-overlay');
const rootfs = { path: ROOTFS, overlay: true };

/** Every entry of the template (path, mode, size, mtime): what no container may change. */
function treeOf(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const st = fs.lstatSync(p);
      out.push(`${path.relative(dir, p)} ${st.mode} ${st.size} ${st.mtimeMs}`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

when(noOverlay, 'writes, changes and deletions stay in the layer: the template is untouched and the next container sees it pristine', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const template = treeOf(ROOTFS);
  const script = [
    'echo new > /new-file',
    'echo changed >> /etc/hostname',
    'rm /bin/true',
    'mkdir -p /var/made/deep && echo x > /var/made/deep/f',
    'rm -rf /etc',
    'ls /new-file /var/made/deep/f && ! ls /bin/true 2>/dev/null && ! ls /etc 2>/dev/null && echo ALL-SEEN',
    "grep ' / / ' /proc/self/mountinfo | sed 's/.* - //' | cut -d' ' -f1",
  ].join('; ');
  const first = await run({ rootfs, stateRoot, process: { args: ['/bin/sh', '-c', script] } });
  t.is(first.exitCode, 0, first.stderr.toString());
  t.regex(first.stdout.toString(), /ALL-SEEN\noverlay\n$/);
  t.deepEqual(treeOf(ROOTFS), template, 'the template is as it was');
  const second = await run({ rootfs, stateRoot, process: { args: ['/bin/sh', '-c', 'ls /new-file 2>&1; ls /bin/true /etc/passwd'] } });
  t.is(second.exitCode, 0, second.stderr.toString());
  t.regex(second.stdout.toString(), /No such file/);
  t.regex(second.stdout.toString(), /\/bin\/true\n\/etc\/passwd/);
  await assertNoLeaks(t, before, stateRoot);
});

when(noOverlay, "the union's / has the template root's mode and owner; the layer is not visible on the host while it runs", async (t) => {
  const before = await settledSnapshot(stateRoot);
  const c = await createContainer({ rootfs, stateRoot, process: { args: ['/bin/sh', '-c', 'echo inside > /marker; stat -c "%a %u %g" /; sleep 1000'] } });
  try {
    const init = await c.start();
    let out = '';
    init.stdout.on('data', (d) => (out += d));
    for (let i = 0; i < 100 && !out.includes('\n'); i++) await new Promise((r) => setTimeout(r, 20));
    const top = fs.statSync(ROOTFS);
    t.is(out.trim(), `${(top.mode & 0o7777).toString(8)} ${top.uid} ${top.gid}`);
    const layer = path.join(stateRoot, c.id, 'layer');
    t.true(fs.existsSync(path.join(layer, 'upper', 'marker')), 'the write is in the upper dir');
    t.deepEqual(fs.readdirSync(path.join(layer, 'root')), [], 'the host sees no union at the mount point');
    t.false(fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(layer), 'no host mount of it');
  } finally {
    await c.destroy();
  }
  t.false(fs.existsSync(path.join(stateRoot, c.id)), 'the layer went with the container');
  await assertNoLeaks(t, before, stateRoot);
});

when(noOverlay, 'a detached overlay container destroyed from a handle loses its layer too', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const c = await createContainer({ rootfs, stateRoot, detached: true, process: { args: ['sleep', '1000'] } });
  const ref = await loadContainer(c.id, { stateRoot });
  await ref.start();
  const p = await ref.exec({ args: ['/bin/sh', '-c', 'echo data > /written; cat /written'] });
  t.is((await outputOf(p)).out, 'data\n');
  t.true(fs.existsSync(path.join(stateRoot, c.id, 'layer', 'upper', 'written')));
  await ref.destroy();
  t.false(fs.existsSync(path.join(stateRoot, c.id)));
  // The creating handle lets go of its own fds (pidfd, pipes): the container is gone already.
  await c.destroy();
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('config errors before anything is made: unknown rootfs field, two roots, overlay in a new user namespace', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const cases = [
    [{ rootfs: { path: ROOTFS, overlay: true, upper: '/x' } }, 'rootfs.upper'],
    [{ rootfs: { path: ROOTFS, overlay: 'yes' } }, 'rootfs.overlay'],
    [{ rootfs: { overlay: true } }, 'rootfs.path'],
    [{ rootfs: { path: '/nonexistent-dir', overlay: true } }, 'rootfs.path'],
    [{ rootfs, root: { path: ROOTFS } }, 'rootfs'],
    [{ rootfs, userns: 'auto' }, 'rootfs.overlay'],
  ];
  for (const [config, field] of cases) {
    const err = await t.throwsAsync(createContainer({ stateRoot, process: { args: ['true'] }, ...config }), { instanceOf: ConfigError });
    t.is(err.field, field, err.message);
  }
  await assertNoLeaks(t, before, stateRoot);
});
