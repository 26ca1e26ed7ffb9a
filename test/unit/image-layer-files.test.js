// Finding a file in a stack of stored layers as overlayfs shows it: the top
// layer wins, whiteouts and opaque directories hide what is below, a
// non-directory hides a lower directory, symlinks are followed in the image's
// own root. Root-free: overlay whiteouts (0:0 character devices) may be made
// by anyone since Linux 5.8, and the opaque mark is the user.overlay.opaque
// xattr (the trusted. one needs root).
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { findInLayers, lookupInLayers, readFileInLayers, readUserFiles } from '../../dist/lib/image/layer-files.js';
import { native } from '../../dist/lib/native/addon.js';
import { removeDir, scratchDir } from './helpers.js';

const S_IFCHR = 0o020000;
let root;
let can = { whiteout: true, xattr: true };

function put(layer, rel, content) {
  const p = path.join(root, layer, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  if (typeof content === 'string') fs.writeFileSync(p, content);
  else if (content.link) fs.symlinkSync(content.link, p);
  else if (content.dir) fs.mkdirSync(p, { recursive: true });
  else if (content.whiteout) native.mknod(p, S_IFCHR, 0, 0);
  if (content.opaque) native.lsetxattr(p, 'user.overlay.opaque', Buffer.from('y'));
}

const layers = () => ['l0', 'l1', 'l2'].map((l) => path.join(root, l));

test.before(() => {
  root = scratchDir('layer-files');
  for (const l of ['l0', 'l1', 'l2']) fs.mkdirSync(path.join(root, l));
  const probe = path.join(root, 'probe');
  try {
    native.mknod(probe, S_IFCHR, 0, 0);
  } catch {
    can.whiteout = false;
  }
  fs.rmSync(probe, { force: true });
  fs.writeFileSync(probe, '');
  try {
    native.lsetxattr(probe, 'user.probe', Buffer.from('1'));
  } catch {
    can.xattr = false;
  }
  fs.rmSync(probe);

  put('l0', 'etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n');
  put('l0', 'etc/group', 'root:x:0:\n');
  put('l0', 'usr/share/base-passwd', 'app:x:1000:1000::/home/app:/bin/sh\n');
  put('l0', 'usr/share/other', 'o');
  put('l0', 'a/b/c', 'deep');
  put('l0', 'opq/old', 'hidden by the opaque dir');
  put('l0', 'gone/file', 'under a whited-out directory');
  put('l1', 'etc/passwd', 'app:x:1000:1000::/home/app:/bin/sh\nroot:x:0:0:root:/root:/bin/sh\n');
  put('l1', 'a', 'now a file');
  put('l1', 'usr/share/linked', { link: '../../etc/passwd' });
  put('l1', 'escape', { link: '../../../../../../etc/hostname' });
  put('l1', 'abs', { link: '/usr/share/other' });
  if (can.whiteout) {
    put('l1', 'etc/group', { whiteout: true });
    put('l1', 'gone', { whiteout: true });
  }
  if (can.xattr) {
    put('l1', 'opq', { dir: true, opaque: true });
    put('l1', 'opq/new', 'n');
  }
  put('l2', 'etc/motd', 'top');
});

test.after.always(() => removeDir(root));

test('the top-most layer with the file wins; lower layers show through directories', (t) => {
  t.is(findInLayers(layers(), '/etc/passwd'), path.join(root, 'l1', 'etc', 'passwd'));
  t.is(findInLayers(layers(), '/etc/motd'), path.join(root, 'l2', 'etc', 'motd'));
  t.is(findInLayers(layers(), 'usr/share/other'), path.join(root, 'l0', 'usr', 'share', 'other'), 'a relative name is from the root');
  t.is(findInLayers(layers().slice(0, 1), '/etc/passwd'), path.join(root, 'l0', 'etc', 'passwd'));
  t.is(findInLayers(layers(), '/nope'), null);
  t.is(findInLayers(layers(), '/etc'), null, 'a directory is not a file');
  t.is(findInLayers([], '/etc/passwd'), null);
});

test('a whiteout hides the file, and a whited-out directory everything below it', (t) => {
  if (!can.whiteout) return t.pass('this kernel refuses an unprivileged whiteout (before 5.8)');
  t.is(findInLayers(layers(), '/etc/group'), null);
  t.is(findInLayers(layers(), '/gone/file'), null);
  t.is(lookupInLayers(layers(), ['gone']), null);
});

test('an opaque directory hides what lower layers have in it', (t) => {
  if (!can.xattr) return t.pass('the scratch file system takes no user xattrs');
  t.is(findInLayers(layers(), '/opq/old'), null);
  t.is(findInLayers(layers(), '/opq/new'), path.join(root, 'l1', 'opq', 'new'));
});

test('a file over a lower directory hides the directory', (t) => {
  t.is(findInLayers(layers(), '/a/b/c'), null);
  t.is(findInLayers(layers(), '/a'), path.join(root, 'l1', 'a'));
});

test('symlinks are followed in the merged view, never out of the image root', (t) => {
  t.is(findInLayers(layers(), '/usr/share/linked'), path.join(root, 'l1', 'etc', 'passwd'), 'relative target, across layers');
  t.is(findInLayers(layers(), '/abs'), path.join(root, 'l0', 'usr', 'share', 'other'), 'an absolute target is the image root');
  t.is(findInLayers(layers(), '/escape'), null, '../../.. stops at the image root: not the host /etc/hostname');
});

test('readFileInLayers and readUserFiles read the winning files (and nothing for a whited-out one)', (t) => {
  t.is(readFileInLayers(layers(), '/etc/motd').toString(), 'top');
  t.is(readFileInLayers(layers(), '/missing'), null);
  t.throws(() => readFileInLayers(layers(), '/etc/passwd', 10), { message: /more than the 10/ });
  const files = readUserFiles(layers());
  t.regex(files.passwd, /^app:x:1000/);
  if (can.whiteout) t.false('group' in files);
  t.is(readUserFiles(layers().slice(0, 1)).group, 'root:x:0:\n');
});
