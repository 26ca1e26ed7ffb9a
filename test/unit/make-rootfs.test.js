// test/fixtures/make-rootfs.sh refuses a busybox it cannot use, naming it,
// before it writes anything (BERTH_BUSYBOX points it at one; busybox-static is
// installed when it is missing, so the refusal is for what that cannot fix).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'make-rootfs.sh');

function makeRootfs(t, busybox) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-make-rootfs-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const dest = path.join(dir, 'rootfs');
  const r = spawnSync('sh', [script, dest], { encoding: 'utf8', env: { ...process.env, BERTH_BUSYBOX: busybox(dir) } });
  return { ...r, dest };
}

test('a busybox that is not there is refused, by its path', (t) => {
  const r = makeRootfs(t, (dir) => path.join(dir, 'no-such-busybox'));
  t.is(r.status, 1, r.stderr);
  t.regex(r.stderr, /make-rootfs: .*no-such-busybox/);
  t.false(fs.existsSync(r.dest));
});

test('a dynamically linked program is refused as the busybox (it would not run inside the rootfs)', (t) => {
  const r = makeRootfs(t, () => process.execPath);
  t.is(r.status, 1, r.stderr);
  t.regex(r.stderr, /make-rootfs: .*not a working static busybox/);
  t.false(fs.existsSync(r.dest));
});
