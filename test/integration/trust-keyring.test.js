// Keyrings are not namespaced (except by user namespace): a container process
// that inherits the caller's session keyring possesses every key in it and can
// read it, whatever its uid. Each container process must start in a fresh
// session keyring of its own, as runc's init does. Without a session keyring
// of its own (the usual case for a service), a process's session keyring is its
// uid's user-session keyring, which links the user keyring: the same path to
// root's keys.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../../dist/lib/index.js';
import { assertNoLeaks, ROOTFS, settledSnapshot, stateRootFor } from './helpers.js';
import { DIST_INDEX, compileStatic, mountsWithTools, skipUnlessTools } from './trust-helpers.js';

const stateRoot = stateRootFor('trust-keyring');

const KEYPROBE_C = `
#include <errno.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
static long kc(long op, long a, long b, long c) { return syscall(SYS_keyctl, op, a, b, c, 0); }
int main(int argc, char **argv) {
  if (argc >= 5 && !strcmp(argv[1], "session")) {
    /* session <desc> <payload> <cmd...>: a fresh session keyring holding one key, then cmd in it */
    if (kc(KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0) < 0) { perror("keyctl join"); return 1; }
    long key = syscall(SYS_add_key, "user", argv[2], argv[3], strlen(argv[3]), KEY_SPEC_SESSION_KEYRING);
    if (key < 0) { perror("add_key"); return 1; }
    char id[24];
    snprintf(id, sizeof id, "%ld", key);
    setenv("TRUST_KEY_ID", id, 1);
    execv(argv[4], argv + 4);
    perror("execv");
    return 1;
  }
  if (argc == 4 && !strcmp(argv[1], "add-user")) {
    /* add-user <desc> <payload>: a key in the caller's user keyring; prints its id */
    long key = syscall(SYS_add_key, "user", argv[2], argv[3], strlen(argv[3]), KEY_SPEC_USER_KEYRING);
    if (key < 0) { perror("add_key"); return 1; }
    printf("%ld\\n", key);
    return 0;
  }
  if (argc == 3 && !strcmp(argv[1], "invalidate")) {
    if (kc(KEYCTL_INVALIDATE, atol(argv[2]), 0, 0) < 0) { perror("keyctl invalidate"); return 1; }
    return 0;
  }
  /* probe <desc> <key id>: the session keyring, a search through it, a read by id */
  long ring = kc(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0, 0);
  long found = kc(KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, (long)"user", (long)argv[2]);
  int search_errno = found < 0 ? errno : 0;
  char buf[128];
  long n = kc(KEYCTL_READ, atol(argv[3]), (long)buf, sizeof buf - 1);
  int read_errno = n < 0 ? errno : 0;
  buf[n > 0 ? (n < (long)sizeof buf - 1 ? n : (long)sizeof buf - 1) : 0] = 0;
  printf("{\\"uid\\":%d,\\"ring\\":%ld,\\"found\\":%ld,\\"searchErrno\\":%d,\\"read\\":\\"%s\\",\\"readErrno\\":%d}\\n",
         (int)getuid(), ring, found, search_errno, buf, read_errno);
  return 0;
}
`;

// Runs inside the session keyring made by `keyprobe session`: the keyring a
// login session (pam_keyinit) gives a person's Node program.
const DRIVER = `
import { execFileSync } from 'node:child_process';
import { createContainer, run } from ${JSON.stringify(DIST_INDEX)};
const { config, tools, desc } = JSON.parse(process.argv[2]);
const keyId = process.env.TRUST_KEY_ID;
const probe = ['/trust/keyprobe', 'probe', desc, keyId];
const results = { host: JSON.parse(execFileSync(tools + '/keyprobe', ['probe', desc, keyId], { encoding: 'utf8' })) };
const r = await run({ ...config, process: { args: probe } });
results.init = JSON.parse(r.stdout.toString());
const c = await createContainer({ ...config, process: { args: ['sleep', '1000'] } });
try {
  await c.start();
  for (const [name, user] of [['exec', undefined], ['execUser', { uid: 1000, gid: 1000 }]]) {
    const p = await c.exec({ args: probe, ...(user ? { user } : {}) });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    await p.wait();
    await new Promise((resolve) => (p.stdout.readableEnded ? resolve() : p.stdout.on('end', resolve)));
    results[name] = JSON.parse(out);
  }
} finally {
  await c.destroy();
}
console.log(JSON.stringify(results));
`;

const skip = skipUnlessTools('trust-keyring');

(skip ? test.skip : test.serial)("no container process can read the caller's session keyring: init and exec get fresh ones", async (t) => {
  const before = await settledSnapshot(stateRoot);
  const dir = compileStatic('keyprobe', KEYPROBE_C);
  try {
    fs.writeFileSync(path.join(dir, 'driver.mjs'), DRIVER);
    const desc = `berth-trust-${process.pid}`;
    const secret = 'hunter2-of-the-host';
    // No seccomp filter: the default profile refuses keyctl on top, and this is
    // about the keyring berth gives each process, which must hold without it.
    const arg = JSON.stringify({ config: { rootfs: ROOTFS, stateRoot, mounts: mountsWithTools(dir), linux: { seccomp: null } }, tools: dir, desc });
    const r = spawnSync(path.join(dir, 'keyprobe'), ['session', desc, secret, process.execPath, path.join(dir, 'driver.mjs'), arg], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    t.is(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout.trim().split('\n').pop());
    t.log(JSON.stringify(res));
    // The host side holds the key in its session keyring (else the test proves nothing).
    t.is(res.host.read, secret);
    t.true(res.host.found > 0);
    for (const who of ['init', 'exec', 'execUser']) {
      const seen = res[who];
      t.not(seen.ring, res.host.ring, `${who}: a session keyring other than the caller's`);
      t.true(seen.ring > 0, `${who}: has a session keyring (${seen.ring})`);
      t.is(seen.found, -1, `${who}: the caller's key is not found through its session keyring`);
      t.is(seen.searchErrno, 126 /* ENOKEY */, who);
      t.is(seen.read, '', `${who}: cannot read the caller's key by id`);
      t.is(seen.readErrno, 13 /* EACCES */, who);
    }
    t.is(res.execUser.uid, 1000);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  await assertNoLeaks(t, before, stateRoot);
});

(skip ? test.skip : test.serial)("container root cannot read root's user keyring through the session keyring it would share with the caller", async (t) => {
  const before = await settledSnapshot(stateRoot);
  const dir = compileStatic('keyprobe', KEYPROBE_C);
  const desc = `berth-trust-user-${process.pid}`;
  const secret = 'root-user-keyring-secret';
  const tool = path.join(dir, 'keyprobe');
  let keyId;
  try {
    // This worker has no session keyring of its own (the test asserts it
    // below): its session keyring is root's user-session keyring.
    keyId = execFileSync(tool, ['add-user', desc, secret], { encoding: 'utf8' }).trim();
    const host = JSON.parse(execFileSync(tool, ['probe', desc, keyId], { encoding: 'utf8' }));
    t.is(host.read, secret, 'the host reads it (else the test proves nothing)');
    const r = await run({ rootfs: ROOTFS, stateRoot, mounts: mountsWithTools(dir), linux: { seccomp: null }, process: { args: ['/trust/keyprobe', 'probe', desc, keyId] } });
    const seen = JSON.parse(r.stdout.toString());
    t.log(JSON.stringify({ host, container: seen }));
    t.is(seen.uid, 0);
    t.not(seen.ring, host.ring);
    t.is(seen.found, -1, "the user keyring is not reachable through the container's session keyring");
    t.is(seen.read, '');
    t.is(seen.readErrno, 13 /* EACCES */);
  } finally {
    if (keyId) execFileSync(tool, ['invalidate', keyId]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  await assertNoLeaks(t, before, stateRoot);
});
