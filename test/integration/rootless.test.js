// Rootless Node (issue #12): berth used by a Node process that runs as an
// ordinary user, which this file creates (useradd, or on the VM lane's
// initramfs a line in /etc/passwd and /etc/group) and removes. The caller is
// rootless-child.mjs, started with spawn's uid/gid (no supplementary groups)
// and its own XDG_RUNTIME_DIR, as a login session has one.
// - Without a delegated cgroup (this host: v1/hybrid; the VM's root cgroup is
//   not the user's): containers run without a cgroup, resources are refused.
// - With a delegated v2 subtree (VM lane: a cgroup handed to the user the way
//   systemd's Delegate=yes does, chown of the directory and its cgroup.procs,
//   cgroup.subtree_control, cgroup.threads): containers get cgroups below it,
//   limits are in force, stats work.
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOTFS } from './helpers.js';
import { when } from './when.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(here, 'rootless-child.mjs');
const MiB = 2 ** 20;
const has = (tool) => {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const pureV2 = fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
const rootControllers = pureV2 ? fs.readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').split(/\s+/) : [];

/** A user of our own: useradd where it exists, else lines in /etc/passwd and /etc/group (the VM's initramfs). */
function createUser() {
  const name = `berthrl${process.pid}`;
  if (has('useradd')) {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', '--user-group', name]);
    const id = (flag) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
    return { name, uid: id('-u'), gid: id('-g'), remove: () => execFileSync('userdel', [name]) };
  }
  const used = new Set(fs.readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => Number(l.split(':')[2])));
  let uid = 4200 + (process.pid % 500);
  while (used.has(uid)) uid++;
  const passwd = `${name}:x:${uid}:${uid}::/nonexistent:/bin/false\n`;
  const group = `${name}:x:${uid}:\n`;
  fs.appendFileSync('/etc/passwd', passwd);
  fs.appendFileSync('/etc/group', group);
  const drop = (file, line) => fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(line, ''));
  return { name, uid, gid: uid, remove: () => (drop('/etc/passwd', passwd), drop('/etc/group', group)) };
}

let user;
let xdg;
const why = process.getuid() !== 0 ? 'needs root to create the user' : undefined;
test.before(() => {
  if (why) return;
  user = createUser();
  xdg = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-rootless-xdg-'));
  fs.chownSync(xdg, user.uid, user.gid);
  fs.chmodSync(xdg, 0o700);
});
test.after.always(() => {
  if (xdg) fs.rmSync(xdg, { recursive: true, force: true });
  user?.remove();
});

/** Runs the caller as the user (in `cgroup` when given), resolves its JSON report. */
function asUser(prefix, expect, cgroup) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, ROOTFS, prefix, expect], {
      uid: user.uid,
      gid: user.gid,
      cwd: '/',
      env: { PATH: process.env.PATH, XDG_RUNTIME_DIR: xdg },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out = [];
    const err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = Buffer.concat(out).toString().trim().split('\n').at(-1);
      try {
        resolve({ ...JSON.parse(line), exit: code, stderr: Buffer.concat(err).toString() });
      } catch {
        reject(new Error(`the rootless caller exited ${code ?? signal}: ${Buffer.concat(out)}${Buffer.concat(err)}`));
      }
    });
    if (cgroup) fs.writeFileSync(path.join(cgroup, 'cgroup.procs'), String(child.pid));
    child.stdin.write('go\n');
  });
}

/** What holds whatever the cgroup layout: identity, namespaces, devices, exec, a terminal, destroy, the state dir. */
function assertLifecycle(t, r, prefix) {
  t.is(r.uid, user.uid, 'the caller really is the user');
  t.is(r.id.exitCode, 0, JSON.stringify(r.id));
  const lines = r.id.stdout.split('\n').map((l) => l.trim().split(/\s+/).join(' '));
  t.regex(lines[0], /^uid=0\(root\) gid=0\(root\)/, 'root inside');
  t.is(lines[1], `0 ${user.uid} 1`, 'uid_map: the user as root, nothing else');
  t.is(lines[2], `0 ${user.gid} 1`, 'gid_map');
  t.is(lines[3], 'lo', 'a network namespace of its own with only lo');
  t.not(lines[4], 'down', 'lo is up');
  t.is(lines[5], 'devnull-ok', '/dev/null (bound from the host) is usable');
  t.is(lines[6], `${prefix}-id`, 'its own hostname');
  t.true(r.stateDir, 'the state is under $XDG_RUNTIME_DIR/berth');
  t.is(r.hostUid?.split(/\s+/)[0], String(user.uid), 'seen from the host, the container process is the user, not root');
  t.deepEqual({ ...r.exec, stdout: r.exec?.stdout.split(/\s+/).join(' ') }, { exitCode: 0, stdout: `0 ${user.uid} 1` }, 'exec joins the user namespace');
  t.is(r.terminal?.exitCode, 0, JSON.stringify(r.terminal));
  t.regex(r.terminal?.output ?? '', /\/dev\/pts\/0\r?\nterm-ok/, 'a terminal from the container\'s own devpts');
  t.deepEqual(r.afterDestroy, { initAlive: false, stateDir: false }, 'destroy ends it and removes its state');
  t.is(r.wide?.error?.code, 'SETUP_FAILED', `a wider map without a grant: ${JSON.stringify(r.wide)}`);
  t.is(r.wide?.error?.step, 'user-namespace');
  t.regex(r.wide?.error?.message ?? '', /newuidmap/);
  t.false(r.wide?.stateDir, 'the refused container left no state');
  t.deepEqual(r.leftover, [], 'nothing left in the state root');
  t.is(r.life, undefined, JSON.stringify(r.life));
  t.is(r.exit, 0, r.stderr);
}

when(why, 'as an ordinary user without a delegated cgroup: the whole lifecycle; no cgroup, so stats and limits are refused, before anything exists', async (t) => {
  const r = await asUser('rl-plain', 'none');
  assertLifecycle(t, r, 'rl-plain');
  t.is(r.stats?.error?.code, 'CGROUP_FAILED', JSON.stringify(r.stats));
  t.regex(r.stats?.error?.message ?? '', /without a cgroup.*not writable by uid/);
  t.is(r.limited?.error?.errno, 'EACCES', JSON.stringify(r.limited));
  t.regex(r.limited?.error?.message ?? '', /linux\.resources\.memory needs a cgroup, but uid \d+ cannot write/);
  t.false(r.limited?.stateDir, 'the refused container left no state');
});

const noDelegation = why ?? (!pureV2 ? 'needs pure cgroup v2 (the VM lane runs it)' : !rootControllers.includes('memory') ? 'the root cgroup has no memory controller' : undefined);
when(noDelegation, 'in a delegated cgroup v2 subtree: containers get cgroups below it, a memory limit is in force, stats work', async (t) => {
  const base = `/sys/fs/cgroup/berth-rootless-${process.pid}`;
  // The root hands memory and pids down (root's subtree_control may be set with processes in it), then the subtree goes to the user.
  for (const c of ['+memory', '+pids']) fs.writeFileSync('/sys/fs/cgroup/cgroup.subtree_control', c);
  fs.mkdirSync(base);
  try {
    for (const f of ['', 'cgroup.procs', 'cgroup.subtree_control', 'cgroup.threads']) fs.chownSync(path.join(base, f), user.uid, user.gid);
    const r = await asUser('rl-deleg', 'cgroup', base);
    assertLifecycle(t, r, 'rl-deleg');
    t.regex(r.cgroup, new RegExp(`^0::/berth-rootless-${process.pid}$`, 'm'), 'the caller started in the delegated cgroup');
    t.is(typeof r.stats?.pids, 'number', JSON.stringify(r.stats));
    t.deepEqual(r.limited, { cgroup: `/berth-rootless-${process.pid}/berth/rl-deleg-limited`, memoryMax: String(64 * MiB) }, 'memory.max of the container\'s own cgroup, below the delegated one');
    t.deepEqual(fs.readdirSync(base).filter((n) => !n.includes('.')), ['berth-caller'], 'berth moved its caller into a leaf; the containers\' cgroups are gone');
  } finally {
    for (const d of [path.join(base, 'berth-caller'), path.join(base, 'berth'), base]) {
      try {
        fs.rmdirSync(d);
      } catch (err) {
        if (err.code !== 'ENOENT') t.log(`cannot remove ${d}: ${err.code}`);
      }
    }
  }
});
