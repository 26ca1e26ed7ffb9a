// The maps of a non-root caller through newuidmap/newgidmap and its
// /etc/subuid and /etc/subgid grant (Debian's uidmap): a real unprivileged
// user, made here with a subordinate range and removed after (with its
// subuid/subgid lines), runs a small script that has berth's helper path map
// a process of its own. The full rootless container is another lane.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const script = path.join(here, 'userns-newuidmap-child.mjs');
const has = (cmd) => { try { execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }); return true; } catch { return false; } };
let skipReason = process.getuid() !== 0 ? 'needs root (to create the test user)' : null;
if (!skipReason) {
  // The test setup installs what it needs where it can (as scripts/ensure-packages.sh does for .ci/run).
  // (The VM lane's initramfs has neither the script nor apt: nothing to try there.)
  const ensure = path.join(here, '..', '..', 'scripts', 'ensure-packages.sh');
  try {
    if (!has('newuidmap') && fs.existsSync(ensure) && has('apt-get')) execFileSync('sh', [ensure, 'userns-newuidmap', 'uidmap'], { stdio: 'inherit' });
  } catch {}
  if (!has('newuidmap') || !has('newgidmap')) skipReason = 'newuidmap/newgidmap missing (Debian: uidmap) and could not be installed';
  else if (!has('useradd') || !has('runuser') || !has('unshare')) skipReason = 'needs useradd, runuser and unshare';
}
if (skipReason) console.log(`userns-newuidmap: skipped: ${skipReason} (the host lane runs it: it installs uidmap)`);
const maybe = skipReason ? test.skip : test.serial;

const user = `bns${crypto.randomBytes(3).toString('hex')}`;
const SUB_UID = 700000;
const SUB_GID = 800000;
const SIZE = 65536;
const subLines = (file) => fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith(`${user}:`));

test.before(() => {
  if (skipReason) return;
  // No automatic subordinate range: the test's own is the only grant.
  execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', '-K', 'SUB_UID_COUNT=0', '-K', 'SUB_GID_COUNT=0', user]);
  execFileSync('usermod', ['--add-subuids', `${SUB_UID}-${SUB_UID + SIZE - 1}`, '--add-subgids', `${SUB_GID}-${SUB_GID + SIZE - 1}`, user]);
});
test.after.always(() => {
  if (skipReason) return;
  try { execFileSync('userdel', [user], { stdio: 'ignore' }); } catch {}
  // userdel removes the subordinate ranges on current shadow-utils; make sure either way.
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    const text = fs.readFileSync(file, 'utf8');
    const kept = text.split('\n').filter((l) => !l.startsWith(`${user}:`)).join('\n');
    if (kept !== text) fs.writeFileSync(file, kept);
  }
});

function asUser(...args) {
  const out = execFileSync('runuser', ['-u', user, '--', process.execPath, script, ...args.map(String)], { encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(out.trim().split('\n').at(-1));
}

maybe('a non-root caller gets its granted range through newuidmap/newgidmap', (t) => {
  t.deepEqual(subLines('/etc/subuid'), [`${user}:${SUB_UID}:${SIZE}`]);
  const r = asUser(SUB_UID, SUB_GID, SIZE);
  t.falsy(r.error, r.error?.message);
  t.deepEqual(r.uidMap.trim().split(/\s+/), ['0', String(SUB_UID), String(SIZE)]);
  t.deepEqual(r.gidMap.trim().split(/\s+/), ['0', String(SUB_GID), String(SIZE)]);
});

maybe('a range beyond the grant is a SETUP_FAILED at user-namespace with the helper\'s reason', (t) => {
  const r = asUser(SUB_UID, SUB_GID, SIZE + 1);
  t.is(r.error?.code, 'SETUP_FAILED');
  t.is(r.error?.step, 'user-namespace');
  t.regex(r.error.message, /newuidmap .* failed: .+/);
});

maybe('newuidmap missing is a SETUP_FAILED that names the package', (t) => {
  const r = asUser(SUB_UID, SUB_GID, SIZE, '/nonexistent');
  t.is(r.error?.code, 'SETUP_FAILED');
  t.regex(r.error.message, /newuidmap is not installed .*uidmap/);
});

test.after.always('the test user and its subordinate ranges are gone', (t) => {
  if (skipReason) return;
  t.deepEqual(subLines('/etc/subuid'), []);
  t.deepEqual(subLines('/etc/subgid'), []);
});
