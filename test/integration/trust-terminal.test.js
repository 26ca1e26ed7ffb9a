// A container must not be able to type into its caller's terminal. Given a
// tty on fd 0 (stdio 'inherit' from a Node process that has one), a process of
// the same session can push input into it with ioctl(TIOCSTI) while
// /proc/sys/dev/tty/legacy_tiocsti is 1; every container process must lead a
// session of its own, as runc's init does, so the tty is not its controlling one.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { assertNoLeaks, ROOTFS, settledSnapshot, stateRootFor } from './helpers.js';
import { DIST_INDEX, compileStatic, mountsWithTools, skipUnlessTools } from './trust-helpers.js';

const stateRoot = stateRootFor('trust-terminal');

const TIOCSTI_C = `
#include <errno.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>
/* Pushes argv[1] into the input queue of the tty on fd 0, then reports. */
int main(int argc, char **argv) {
  int injected = 0, err = 0;
  for (const char *c = argv[1]; *c; c++) {
    if (ioctl(0, TIOCSTI, c) < 0) { err = errno; break; }
    injected++;
  }
  printf("injected=%d errno=%d pid=%d sid=%d\\n", injected, err, (int)getpid(), (int)getsid(0));
  return 0;
}
`;

// Runs in a fresh session whose controlling terminal is a pty (python's
// pty.fork), as a person's shell would run a Node program: fd 0 is the tty.
const DRIVER = `
import fs from 'node:fs';
import { createContainer } from ${JSON.stringify(DIST_INDEX)};
const { config, resultPath } = JSON.parse(process.argv[2]);
const stat = (pid) => {
  const s = fs.readFileSync('/proc/' + pid + '/stat', 'utf8');
  const [, , pgrp, session, ttyNr] = s.slice(s.lastIndexOf(')') + 2).split(' ').map(Number);
  return { pgrp, session, ttyNr };
};
const readAll = (stream) => new Promise((resolve) => {
  let text = '';
  stream.on('data', (d) => (text += d));
  stream.on('end', () => resolve(text));
});
const results = { node: stat(process.pid) };
let c = await createContainer({ ...config, process: { args: ['/trust/tiocsti', 'Q7Z'], stdio: ['inherit', 'pipe', 'inherit'] } });
try {
  const init = await c.start();
  const out = readAll(init.stdout);
  results.initExit = await init.wait();
  results.init = await out;
} finally {
  await c.destroy();
}
c = await createContainer({ ...config, process: { args: ['sleep', '1000'], stdio: 'inherit' } });
try {
  await c.start();
  results.initStat = { pid: c.pid, ...stat(c.pid) };
  const p = await c.exec({ args: ['/trust/tiocsti', 'K4J'], stdio: ['inherit', 'pipe', 'inherit'] });
  const out = readAll(p.stdout);
  results.execExit = await p.wait();
  results.exec = await out;
} finally {
  await c.destroy();
}
fs.writeFileSync(resultPath, JSON.stringify(results));
`;

// The parent side of the pty: everything the terminal showed (its echo of
// typed input included), base64, once the driver is done.
const PTY_PARENT = `
import base64, json, os, pty, sys
pid, master = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
seen = b''
while True:
    try:
        chunk = os.read(master, 4096)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
_, status = os.waitpid(pid, 0)
print(json.dumps({'status': os.waitstatus_to_exitcode(status), 'screen': base64.b64encode(seen).decode()}))
`;

const skip = skipUnlessTools('trust-terminal', 'python3');

(skip ? test.skip : test.serial)('TIOCSTI on an inherited tty cannot reach the caller: init and exec lead their own sessions', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const dir = compileStatic('tiocsti', TIOCSTI_C);
  try {
    fs.writeFileSync(path.join(dir, 'driver.mjs'), DRIVER);
    const resultPath = path.join(dir, 'result.json');
    const config = { rootfs: ROOTFS, stateRoot, mounts: mountsWithTools(dir) };
    const arg = JSON.stringify({ config, resultPath });
    const r = spawnSync('python3', ['-c', PTY_PARENT, process.execPath, path.join(dir, 'driver.mjs'), arg], { encoding: 'utf8', timeout: 60_000 });
    t.is(r.status, 0, r.stderr);
    const { status, screen } = JSON.parse(r.stdout);
    const shown = Buffer.from(screen, 'base64').toString('latin1');
    t.is(status, 0, `driver failed; the terminal showed: ${shown}`);
    const res = JSON.parse(fs.readFileSync(resultPath, 'utf8'));
    t.log('node', JSON.stringify(res.node), 'init', JSON.stringify(res.initStat), res.init.trim(), '|', res.exec.trim());
    t.not(res.node.ttyNr, 0, 'the driver has the pty as its controlling terminal (else the test proves nothing)');
    // The attack itself: nothing typed reached the terminal (its echo would show it).
    t.false(shown.includes('Q7Z'), `the init typed into the caller's terminal: ${JSON.stringify(shown)}`);
    t.false(shown.includes('K4J'), `an exec'd process typed into the caller's terminal: ${JSON.stringify(shown)}`);
    t.regex(res.init, /^injected=0 errno=1 pid=1 sid=1\n$/, 'the init is refused (EPERM) and leads its own session');
    const m = /^injected=0 errno=1 pid=(\d+) sid=(\d+)\n$/.exec(res.exec);
    t.truthy(m, `exec'd process: ${res.exec}`);
    if (m) t.is(m[2], m[1], "the exec'd process leads its own session");
    // The host's view: the init's session is its own, with no controlling tty.
    t.is(res.initStat.session, res.initStat.pid);
    t.not(res.initStat.session, res.node.session);
    t.is(res.initStat.ttyNr, 0);
    t.deepEqual(res.initExit, { exitCode: 0, signal: null });
    t.deepEqual(res.execExit, { exitCode: 0, signal: null });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  await assertNoLeaks(t, before, stateRoot);
});
