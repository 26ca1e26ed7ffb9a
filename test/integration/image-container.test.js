// config.image: a container from a stored image — its layers under a
// throwaway writable layer (overlay, inside the container only), its config as
// the process's defaults; the store holds the image while the container exists.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, createContainer, importImage, loadContainer, removeImage, run } from '../../dist/lib/index.js';
import { assertNoLeaks, outputOf, overlayMissing, ROOTFS, settledSnapshot, stateRootFor } from './helpers.js';
import { when } from './when.js';

const noOverlay = overlayMissing();
import { dirTar, dockerSave, imageConfig, layerTar } from './image-fixtures.js';

const stateRoot = stateRootFor('image-container');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-imgc-'));
const store = path.join(dir, 'store');
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

let image;
test.before(async () => {
  // Two layers: the busybox rootfs, then one that adds a user, a file, a workdir and deletes /bin/true.
  const base = await dirTar(ROOTFS);
  const passwd = `${fs.readFileSync(path.join(ROOTFS, 'etc/passwd'), 'utf8')}app:x:4321:4321:app:/home/app:/bin/sh\n`;
  const group = `${fs.readFileSync(path.join(ROOTFS, 'etc/group'), 'utf8')}app:x:4321:\nextra:x:5555:app\n`;
  const top = await layerTar([
    { name: 'etc/passwd', data: passwd },
    { name: 'etc/group', data: group },
    { name: 'home/app', type: 'directory', mode: 0o755, uid: 4321, gid: 4321 },
    { name: 'srv', type: 'directory', mode: 0o755 },
    { name: 'srv/hello.txt', data: 'from the image\n' },
    { name: 'bin/.wh.true' },
  ]);
  const cfg = imageConfig([base, top], {
    Env: ['PATH=/bin:/sbin', 'GREETING=image', 'KEEP=1'],
    Entrypoint: ['/bin/sh', '-c'],
    Cmd: ['echo "$GREETING $(id -u):$(id -g) $(id -G) $HOME $(pwd)"; cat hello.txt; ls /bin/true 2>&1; exit 0'],
    WorkingDir: '/srv',
    User: 'app',
    StopSignal: 'SIGQUIT',
    Labels: { org: 'berth' },
  });
  const archive = await dockerSave(path.join(dir, 'img.tar'), [base, top], { repoTags: ['berth/test:1'], config: cfg });
  image = await importImage(archive.path, { store });
});

when(noOverlay, "the image's Entrypoint + Cmd, Env, WorkingDir and User (name, groups, home) make the process; its whiteout hides /bin/true", async (t) => {
  const before = await settledSnapshot(stateRoot);
  const r = await run({ image: 'berth/test:1', store, stateRoot });
  t.is(r.exitCode, 0, r.stderr.toString());
  const [line, hello, trueLine] = r.stdout.toString().trim().split('\n');
  t.is(line, 'image 4321:4321 4321 5555 /home/app /srv');
  t.is(hello, 'from the image');
  t.regex(trueLine, /No such file/);
  await assertNoLeaks(t, before, stateRoot);
});

when(noOverlay, 'caller fields win: args replace Cmd (Entrypoint kept), entrypoint replaces both, env merges by key, user and cwd override', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const out = async (process) => {
    const r = await run({ image: image.id, store, stateRoot, process });
    t.is(r.exitCode, 0, r.stderr.toString());
    return r.stdout.toString().trim();
  };
  t.is(await out({ args: ['echo $GREETING $KEEP'], env: ['GREETING=caller'] }), 'caller 1');
  t.is(await out({ entrypoint: ['/bin/echo'], args: ['plain', 'args'] }), 'plain args');
  t.is(await out({ args: ['id -u; pwd; echo $HOME'], user: 'root', cwd: '/tmp' }), '0\n/tmp\n/root');
  t.is(await out({ args: ['id -u; id -g'], user: { uid: 7, gid: 8 } }), '7\n8');
  await assertNoLeaks(t, before, stateRoot);
});

when(noOverlay, 'what a container writes stays in its layer: the next one sees the image as imported; the image is held while a container exists', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const c = await createContainer({ image: 'berth/test:1', store, stateRoot, detached: true, process: { args: ['echo changed > /srv/hello.txt; rm -rf /etc; sleep 1000'] } });
  t.is(c.config.image.id, image.id);
  t.is(c.config.image.stopSignal, 'SIGQUIT');
  const ref = await loadContainer(c.id, { stateRoot });
  await ref.start();
  const err = await t.throwsAsync(removeImage('berth/test:1', { store }));
  t.is(err.code, 'IMAGE_IN_USE');
  t.true(err.message.includes(c.id), err.message);
  for (let i = 0; i < 100; i++) {
    const p = await ref.exec({ args: ['cat', '/srv/hello.txt'] });
    if ((await outputOf(p)).out === 'changed\n') break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const other = await run({ image: 'berth/test:1', store, stateRoot, process: { args: ['cat /srv/hello.txt; ls /etc/passwd'] } });
  t.is(other.stdout.toString(), 'from the image\n/etc/passwd\n');
  await ref.destroy();
  await c.destroy();
  // Free again: removable, and its layers go with it.
  const removed = await removeImage('berth/test:1', { store });
  t.is(removed.deleted, image.id);
  t.is(removed.layersRemoved.length, 2);
  image = await importImage(path.join(dir, 'img.tar'), { store });
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('config errors before anything is made: unknown image, image with rootfs, entrypoint without image, a user the image lacks', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const cases = [
    [{ image: 'nope:latest', store }, 'image'],
    [{ image: 'berth/test:1', store, rootfs: ROOTFS }, 'rootfs'],
    [{ rootfs: ROOTFS, process: { args: ['true'], entrypoint: ['/bin/sh'] } }, 'process.entrypoint'],
    [{ image: 'berth/test:1', store, process: { user: 'nobody-here' } }, 'process.user'],
    [{ image: 'berth/test:1', store, store: 'relative/store' }, 'store'],
  ];
  for (const [config, field] of cases) {
    const err = await t.throwsAsync(createContainer({ stateRoot, ...config }));
    t.true(err instanceof ConfigError, `${field}: ${err.name} ${err.message}`);
    t.is(err.field, field, err.message);
  }
  t.deepEqual(fs.readdirSync(path.join(store, 'containers')), [], 'no hold recorded');
  await assertNoLeaks(t, before, stateRoot);
});
