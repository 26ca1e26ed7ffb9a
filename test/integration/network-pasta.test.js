// User-mode networking for a rootless caller (config.network { mode: 'pasta' }):
// pasta (Debian's passt) as an ordinary user this file creates and removes.
// A port forward from the host's 127.0.0.1 reaches a server in the container;
// with hostLoopback the container reaches a server on the host's loopback at
// its gateway address, without it it cannot; pasta ends with destroy, also a
// destroy from another handle. Traffic stays on the host's loopback and in the
// container's own namespace: pasta's tap has the host's addresses only there,
// and nothing in the test connects anywhere else.
import test from 'ava';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOTFS } from './helpers.js';
import { when } from './when.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(here, 'pasta-child.mjs');

function missing() {
  if (process.getuid() !== 0) return 'needs root to create the user';
  if (spawnSync('sh', ['-c', 'command -v pasta']).status !== 0) return 'pasta is not installed (apt-get install passt)';
  if (spawnSync('sh', ['-c', 'command -v useradd']).status !== 0) return 'no useradd';
  return undefined;
}
const why = missing();

let user;
let dir;
let server;
test.before(async () => {
  if (why) return;
  const name = `berthpa${process.pid}`;
  execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', '--user-group', name]);
  const id = (flag) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
  user = { name, uid: id('-u'), gid: id('-g') };
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-pasta-'));
  // The user's own copy of the rootfs: a rootless container's root (the user) makes its mount points (/etc/hosts, …) there.
  for (const d of ['xdg', 'rootfs']) fs.mkdirSync(path.join(dir, d), { mode: 0o700 });
  execFileSync('cp', ['-a', `${ROOTFS}/.`, path.join(dir, 'rootfs')]);
  execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, path.join(dir, 'xdg'), path.join(dir, 'rootfs')]);
  fs.chmodSync(dir, 0o755);
  server = net.createServer((s) => s.end('host-says-hi\n'));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
});
test.after.always(() => {
  server?.close();
  if (user) {
    // Nothing of the user's may outlive the test (a pasta left behind would be one).
    for (const pid of spawnSync('pgrep', ['-u', String(user.uid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    execFileSync('userdel', [user.name]);
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function asUser() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, path.join(dir, 'rootfs'), String(server.address().port)], {
      uid: user.uid,
      gid: user.gid,
      cwd: '/',
      env: { PATH: process.env.PATH, XDG_RUNTIME_DIR: path.join(dir, 'xdg') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = [];
    const err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = Buffer.concat(out).toString().trim().split('\n').at(-1);
      try {
        resolve({ ...JSON.parse(line), exitCode: code, stderrText: Buffer.concat(err).toString() });
      } catch {
        reject(new Error(`the rootless caller exited ${code ?? signal}: ${Buffer.concat(out)}${Buffer.concat(err)}`));
      }
    });
  });
}

when(why, 'rootless pasta: a port forward reaches the container from the host loopback; hostLoopback reaches the host only when asked; pasta ends with destroy', async (t) => {
  // Only processes of ours (pgrep by the user's uid): none before, none after.
  const pastas = () => spawnSync('pgrep', ['-u', String(user.uid), 'pasta'], { encoding: 'utf8' }).stdout.trim();
  t.is(pastas(), '');
  const r = await asUser();
  t.is(r.uid, user.uid, 'the caller really is the user');
  t.is(r.forwardError, undefined, JSON.stringify(r.forwardError));
  t.is(r.forward, 'served\n', 'the host reached the server in the container through the forward');
  t.is(r.inside, '1', 'the container has one interface besides lo: pasta\'s tap');
  t.is(r.networks[0].name, 'pasta');
  t.not(r.networks[0].interface, '');
  t.true(r.networks[0].ports[0].hostPort > 0, 'hostPort 0: the port picked is reported');
  t.true(r.pastaRunning, 'pasta ran while the container lived');
  t.false(r.pastaAfterDestroy, 'destroy ended pasta');
  t.is(r.loopbackError, undefined, JSON.stringify(r.loopbackError));
  t.is(r.loopback.true, 'host-says-hi', 'hostLoopback: the host loopback server at the gateway address');
  t.is(r.loopback.false, 'unreachable', 'by default the host loopback is out of reach');
  t.true(r.loopback['true-pastaRan'] && r.loopback['false-pastaRan']);
  t.false(r.loopback['true-pastaAfter'] || r.loopback['false-pastaAfter'], 'a destroy from another handle ended pasta too');
  t.is(r.exitCode, 0, r.stderrText);
  t.deepEqual(fs.readdirSync(path.join(dir, 'xdg', 'berth')).filter((e) => !e.startsWith('.')), [], 'nothing left in the state root');
  t.is(pastas(), '');
});
