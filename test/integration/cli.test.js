// The berth CLI driven as an engine drives runc: every call a fresh
// `node bin/berth.js --root <this file's state root> …` process, bundles made
// by `berth spec` and edited (root.path = the fixture rootfs, absolute;
// terminal false; the args each test needs). `create` exits and leaves its
// init behind, reparented to this process, which makes itself a subreaper as a
// shim would and reaps what it started (the inits and the `exec -d` processes
// whose pids the pid files gave it), nothing else.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { native } from '../../dist/lib/native/addon.js';
import { assertNoLeaks, children, isAlive, ROOTFS, settledSnapshot, stateEntries, stateRootFor } from './helpers.js';
import { cgroupDirs } from './owner.js';
import { procStat, reapPid } from './subreaper.js';
import { when } from './when.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.join(here, '..', '..', 'bin', 'berth.js');
const stateRoot = stateRootFor('cli');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-cli-'));
fs.chmodSync(tmp, 0o755);
// Removed at exit (also by a run whose every test is skipped, where no after hook runs).
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Inits orphaned by an exiting `berth create` (and `exec -d` processes orphaned by an exiting `berth exec`) come here.
native.setChildSubreaper();

/** Pids this file started through the CLI (pid files): the only ones it reaps or kills. */
const mine = new Set();


function cmdline(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return null;
  }
}


/** What the subreaper owes the processes it started: their zombies reaped (a pid namespace's init cannot finish exiting before). */
const reaped = new Map();
function reapMine() {
  for (const pid of mine) {
    const st = procStat(pid);
    if (st === undefined) {
      mine.delete(pid);
      continue;
    }
    if (st.state !== 'Z' || st.ppid !== process.pid) continue;
    const status = reapPid(pid);
    if (status) {
      reaped.set(pid, status);
      mine.delete(pid);
    }
  }
}
const reaper = setInterval(reapMine, 20);
reaper.unref(); // a run where every test is skipped (no after hook) still exits

/** Records a pid from a pid file as this file's. */
function adopt(pidFile) {
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  if (Number.isInteger(pid) && pid > 0) mine.add(pid);
  return pid;
}

let calls = 0;
/**
 * One CLI call: { code, signal, out, err, ms }. Its stdout/stderr are files
 * (a container it creates keeps them: pipes would stay open after it exits).
 */
async function berth(args, { root = true } = {}) {
  const n = ++calls;
  const outFile = path.join(tmp, `call${n}.out`);
  const errFile = path.join(tmp, `call${n}.err`);
  const outFd = fs.openSync(outFile, 'w');
  const errFd = fs.openSync(errFile, 'w');
  const t0 = performance.now();
  let p;
  try {
    p = spawn(process.execPath, [BIN, ...(root ? ['--root', stateRoot] : []), ...args], { cwd: tmp, stdio: ['ignore', outFd, errFd] });
  } finally {
    fs.closeSync(outFd);
    fs.closeSync(errFd);
  }
  const [code, signal] = await new Promise((resolve, reject) => {
    p.on('error', reject);
    p.on('exit', (c, s) => resolve([c, s]));
  });
  const ms = performance.now() - t0;
  const out = fs.readFileSync(outFile, 'utf8');
  const err = fs.readFileSync(errFile, 'utf8');
  fs.rmSync(outFile);
  fs.rmSync(errFile);
  return { code, signal, out, err, ms };
}

/** A CLI call that must exit 0. */
async function ok(t, args, opts) {
  const r = await berth(args, opts);
  if (r.code !== 0) throw new Error(`berth ${args.join(' ')}: exit ${r.code ?? r.signal}\nstdout: ${r.out}\nstderr: ${r.err}`);
  return r;
}

const stateOf = async (t, id) => JSON.parse((await ok(t, ['state', id])).out);
const record = (id) => JSON.parse(fs.readFileSync(path.join(stateRoot, id, 'state.json'), 'utf8'));

/** A fresh bundle: `berth spec`, then the edits (root.path absolute, terminal off, then edit(config)). */
let bundles = 0;
async function makeBundle(t, edit = () => {}) {
  const dir = path.join(tmp, `bundle${++bundles}`);
  await ok(t, ['spec', '--bundle', dir], { root: false });
  const file = path.join(dir, 'config.json');
  const config = JSON.parse(fs.readFileSync(file, 'utf8'));
  config.root.path = path.resolve(ROOTFS);
  config.process.terminal = false;
  edit(config);
  fs.writeFileSync(file, JSON.stringify(config, null, '\t'));
  return { dir, file, config };
}

/** A host directory of this file's, bind-mounted at `destination` (one the fixture rootfs has: /out, /hooklog). */
function bindDir(name, destination) {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  return { dir, mount: { destination, type: 'bind', source: dir, options: ['rbind', 'rw'] } };
}

/** v1 freezer.state, or the v2 core freezer said as FROZEN/THAWED. */
function freezerState(cgroupPaths) {
  const v1 = cgroupPaths.find((p) => p.split(path.sep).includes('freezer'));
  if (v1) return fs.readFileSync(path.join(v1, 'freezer.state'), 'utf8').trim();
  const v2 = cgroupPaths.find((p) => fs.existsSync(path.join(p, 'cgroup.events')));
  return /^frozen 1$/m.test(fs.readFileSync(path.join(v2, 'cgroup.events'), 'utf8')) ? 'FROZEN' : 'THAWED';
}

async function until(what, fn, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Nothing of container `id` is left: state dir, recorded and default cgroup dirs, its processes (reaped). */
async function assertGone(t, id, { cgroupPaths = [], pids = [] } = {}) {
  await until(`the reaper to reap ${pids.join(',')}`, () => pids.every((p) => procStat(p) === undefined), 3000).catch(() => {});
  t.false(fs.existsSync(path.join(stateRoot, id)), `${id}: state dir`);
  t.deepEqual(cgroupPaths.filter((d) => fs.existsSync(d)), [], `${id}: recorded cgroup dirs`);
  t.deepEqual(cgroupDirs(id).filter((d) => fs.existsSync(d)), [], `${id}: default cgroup dirs`);
  for (const pid of pids) t.is(procStat(pid), undefined, `${id}: process ${pid} gone and reaped`);
}

// A failed test's containers go too (through the CLI), and what it started is reaped, so the next test starts clean.
test.afterEach.always(async (t) => {
  for (const id of stateEntries(stateRoot)) {
    t.log(`cleaning up ${id}`);
    const r = await berth(['delete', '--force', id]);
    if (r.code !== 0) t.log(`delete --force ${id}: ${r.code} ${r.err}`);
  }
  for (const pid of mine) {
    if (procStat(pid)?.state !== 'Z') {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  await until('our processes reaped', () => (reapMine(), mine.size === 0), 3000).catch(() => t.log(`not reaped: ${[...mine]}`));
});

test.after.always(() => clearInterval(reaper));

test.serial('1. spec writes a config.json that create accepts; a second spec refuses', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const dir = path.join(tmp, 'cli-spec1');
  const first = await berth(['spec', '--bundle', dir], { root: false });
  t.is(first.code, 0, first.err);
  const file = path.join(dir, 'config.json');
  const config = JSON.parse(fs.readFileSync(file, 'utf8'));
  t.is(config.root.path, 'rootfs', 'spec writes a relative root, as runc');
  t.true(config.process.terminal, 'and a terminal, as runc');
  t.deepEqual(config.process.args, ['sh']);
  const mtime = fs.statSync(file).mtimeMs;
  const second = await berth(['spec', '--bundle', dir], { root: false });
  t.is(second.code, 1);
  t.regex(second.err, /config\.json exists/);
  t.is(fs.statSync(file).mtimeMs, mtime, 'the existing file is untouched');

  // spec's own document (only the root made absolute, the terminal off and a program that waits): create takes it.
  config.root.path = path.resolve(ROOTFS);
  config.process.terminal = false;
  config.process.args = ['sleep', '1000'];
  fs.writeFileSync(file, JSON.stringify(config));
  const pidFile = path.join(tmp, 'spec1.pid');
  const created = await berth(['create', '--bundle', dir, '--pid-file', pidFile, 'cli-spec1']);
  t.is(created.code, 0, created.err);
  const pid = adopt(pidFile);
  t.is((await stateOf(t, 'cli-spec1')).status, 'created');
  const { cgroupPaths } = record('cli-spec1');
  await ok(t, ['delete', '--force', 'cli-spec1']);
  await assertGone(t, 'cli-spec1', { cgroupPaths, pids: [pid] });
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('2+3. create (program not run yet), start, exec, exec -d, ps, pause/resume, kill, delete: nothing left', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const id = 'cli-life';
  const out = bindDir('life-out', '/out');
  const b = await makeBundle(t, (c) => {
    c.process.args = ['/bin/sh', '-c', 'echo started > /out/marker; exec sleep 1000'];
    c.mounts.push(out.mount);
  });
  const pidFile = path.join(tmp, 'life.pid');

  // create
  const created = await berth(['create', '--pid-file', pidFile, '--bundle', b.dir, id]);
  t.is(created.code, 0, created.err);
  t.is(created.err, '');
  t.log(`create ${created.ms.toFixed(0)} ms`);
  const pidText = fs.readFileSync(pidFile, 'utf8');
  t.regex(pidText, /^\d+$/, 'the pid file is the decimal pid, no newline');
  const pid = adopt(pidFile);
  t.true(isAlive(pid));
  t.is(procStat(pid).ppid, process.pid, 'the init was reparented to this subreaper when create exited');
  const st = await stateOf(t, id);
  t.is(st.ociVersion, '1.2.0');
  t.is(st.id, id);
  t.is(st.status, 'created');
  t.is(st.pid, pid, 'state.pid = the pid file');
  t.is(st.bundle, b.dir);
  t.is(st.rootfs, path.resolve(ROOTFS));
  t.regex(cmdline(pid), /^berth-init/, 'blocked before execve');
  await sleep(150);
  t.false(fs.existsSync(path.join(out.dir, 'marker')), "the init's program has not run yet");
  const { cgroupPaths } = record(id);
  t.true(cgroupPaths.length > 0);
  t.true(cgroupPaths.every((d) => fs.existsSync(d)));

  // start
  const started = await berth(['start', id]);
  t.is(started.code, 0, started.err);
  t.log(`start ${started.ms.toFixed(0)} ms`);
  t.is((await stateOf(t, id)).status, 'running');
  await until('the marker', () => fs.existsSync(path.join(out.dir, 'marker')));
  t.is(fs.readFileSync(path.join(out.dir, 'marker'), 'utf8'), 'started\n');
  await until('sleep 1000 exec-ed', () => cmdline(pid) === 'sleep 1000');
  const again = await berth(['start', id]);
  t.is(again.code, 1, 'start of a running container');
  t.regex(again.err, /already running/);

  // exec in the foreground: its output is the CLI's, its status the CLI's
  const ex = await berth(['exec', id, 'sh', '-c', 'echo hi; exit 3']);
  t.is(ex.code, 3, ex.err);
  t.is(ex.out, 'hi\n');
  t.log(`exec ${ex.ms.toFixed(0)} ms`);

  // exec -d: the process outlives the CLI
  const execPidFile = path.join(tmp, 'life-exec.pid');
  const exd = await berth(['exec', '-d', '--pid-file', execPidFile, id, 'sleep', '999']);
  t.is(exd.code, 0, exd.err);
  const execPid = adopt(execPidFile);
  t.regex(fs.readFileSync(execPidFile, 'utf8'), /^\d+$/);
  t.true(isAlive(execPid), 'the detached exec runs after its CLI exited');
  t.is(cmdline(execPid), 'sleep 999');
  const ps = await ok(t, ['ps', '--format', 'json', id]);
  const pids = JSON.parse(ps.out);
  t.true(pids.includes(pid), `ps lists the init: ${ps.out}`);
  t.true(pids.includes(execPid), `ps lists the exec -d process: ${ps.out}`);

  // pause / resume
  await ok(t, ['pause', id]);
  t.is((await stateOf(t, id)).status, 'paused');
  t.is(freezerState(cgroupPaths), 'FROZEN');
  const paused = await berth(['exec', id, 'true']);
  t.is(paused.code, 1, 'exec in a paused container');
  t.regex(paused.err, /paused/);
  await ok(t, ['resume', id]);
  t.is((await stateOf(t, id)).status, 'running');
  t.is(freezerState(cgroupPaths), 'THAWED');

  // kill, delete
  await ok(t, ['kill', id, 'KILL']);
  await until('state stopped', async () => (await stateOf(t, id)).status === 'stopped');
  const stopped = await stateOf(t, id);
  t.is(stopped.pid, 0, 'a stopped container has pid 0, as runc says it');
  t.false(isAlive(execPid) && procStat(execPid)?.state !== 'Z', 'the exec -d process died with the pid namespace');
  await ok(t, ['delete', id]);
  t.false(stateEntries(stateRoot).includes(id), 'no state dir entry');
  await assertGone(t, id, { cgroupPaths, pids: [pid, execPid] });
  t.like(reaped.get(pid), { exitCode: null, signal: 9 }, 'this process reaped the init: killed by SIGKILL');
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('4. delete of a created container needs --force; missing ids', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const id = 'cli-created1';
  const b = await makeBundle(t, (c) => (c.process.args = ['sleep', '1000']));
  const pidFile = path.join(tmp, 'created1.pid');
  await ok(t, ['create', '--bundle', b.dir, '--pid-file', pidFile, id]);
  const pid = adopt(pidFile);
  const { cgroupPaths } = record(id);
  const refused = await berth(['delete', id]);
  t.is(refused.code, 1);
  t.is(refused.err, `berth: cannot delete container ${id} that is not stopped: created\n`);
  t.is((await stateOf(t, id)).status, 'created', 'still there');
  t.true(isAlive(pid));
  const forced = await berth(['delete', '--force', id]);
  t.is(forced.code, 0, forced.err);
  await assertGone(t, id, { cgroupPaths, pids: [pid] });

  const missing = 'no-such-container';
  for (const args of [['state', missing], ['start', missing], ['kill', missing], ['kill', missing, 'KILL'], ['delete', missing], ['pause', missing], ['exec', missing, 'true'], ['ps', missing]]) {
    const r = await berth(args);
    t.is(r.code, 1, `${args.join(' ')}: exit`);
    t.is(r.err, `berth: container "${missing}" does not exist\n`, `${args.join(' ')}: message`);
    t.is(r.out, '', `${args.join(' ')}: stdout`);
  }
  const gone = await berth(['delete', '--force', missing]);
  t.is(gone.code, 0, gone.err);
  t.is(gone.err, '');
  t.deepEqual(stateEntries(stateRoot), []);
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('5. run: the exit status is the program\'s (128+n when a signal ended it), nothing is left', async (t) => {
  const before = await settledSnapshot(stateRoot);
  // The program as the pid namespace's init ignores a signal it sends itself (the kernel protects
  // a namespace's init from its own namespace): the self-kill cases run without a pid namespace.
  const noPidNs = (c) => (c.linux.namespaces = c.linux.namespaces.filter((ns) => ns.type !== 'pid'));
  for (const [id, script, status, edit] of [
    ['cli-run7', 'echo out; exit 7', 7],
    ['cli-run0', 'true', 0],
    ['cli-run137', 'kill -9 $$', 137, noPidNs],
    ['cli-run143', 'kill -TERM $$; sleep 5', 143, noPidNs],
  ]) {
    const b = await makeBundle(t, (c) => {
      c.process.args = ['sh', '-c', script];
      edit?.(c);
    });
    const r = await berth(['run', '--bundle', b.dir, id]);
    t.is(r.code, status, `${id}: ${r.err}`);
    if (id === 'cli-run7') t.is(r.out, 'out\n', 'the program writes to the CLI stdout');
    t.log(`run ${id}: ${r.ms.toFixed(0)} ms`);
    t.deepEqual(stateEntries(stateRoot), [], `${id}: no state left`);
    await assertGone(t, id);
  }

  // With a pid namespace: killed from outside (`berth kill` while run waits) → 137, and run deletes it.
  const b = await makeBundle(t, (c) => (c.process.args = ['sleep', '1000']));
  const pidFile = path.join(tmp, 'runkill.pid');
  const running = berth(['run', '--bundle', b.dir, '--pid-file', pidFile, 'cli-runkill']);
  // 30 s: a CLI call under the VM lane's TCG emulation takes seconds.
  await until('run to start the program', async () => fs.existsSync(pidFile) && cmdline(Number(fs.readFileSync(pidFile, 'utf8'))) === 'sleep 1000', 30_000);
  const { cgroupPaths } = record('cli-runkill');
  await ok(t, ['kill', 'cli-runkill', 'KILL']);
  const r = await running;
  t.is(r.code, 137, r.err);
  t.is(r.err, '');
  await assertGone(t, 'cli-runkill', { cgroupPaths });

  // A program that is not there: run fails with exit 1 and says so; nothing is left.
  const nf = await makeBundle(t, (c) => (c.process.args = ['/bin/nope']));
  const r2 = await berth(['run', '--bundle', nf.dir, 'cli-runnope']);
  t.is(r2.code, 1);
  t.regex(r2.err, /\/bin\/nope/);
  await assertGone(t, 'cli-runnope');
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('6. a malformed config.json: exit 1, stderr names the JSON path, nothing left', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const cases = [
    ['cli-bad-args', (c) => (c.process.args = 5), 'process.args'],
    ['cli-bad-mem', (c) => (c.linux.resources.memory = { limit: 'x' }), 'linux.resources.memory.limit'],
    ['cli-bad-mount', (c) => (c.mounts[1].destination = 5), 'mounts[1].destination'],
  ];
  for (const [id, edit, field] of cases) {
    const b = await makeBundle(t, edit);
    for (const cmd of ['create', 'run']) {
      const pidFile = path.join(tmp, `${id}-${cmd}.pid`);
      const r = await berth([cmd, '--bundle', b.dir, '--pid-file', pidFile, id]);
      t.is(r.code, 1, `${cmd} ${id}`);
      t.true(r.err.includes(field), `${cmd} ${id}: stderr names ${field}: ${r.err}`);
      t.is(r.err.trim().split('\n').length, 1, 'one line');
      t.false(fs.existsSync(pidFile), 'no pid file');
      t.deepEqual(stateEntries(stateRoot), [], `${cmd} ${id}: nothing in the state root`);
      await assertGone(t, id);
    }
  }
  // Not JSON at all.
  const b = await makeBundle(t);
  fs.writeFileSync(b.file, '{ "ociVersion": ');
  const r = await berth(['create', '--bundle', b.dir, 'cli-bad-json']);
  t.is(r.code, 1);
  t.regex(r.err, /config\.json/, r.err);
  await assertGone(t, 'cli-bad-json');
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('7. --log F --log-format json: a failing command writes JSON records with level, msg, time', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const log = path.join(tmp, 'log.json');
  const r = await berth(['--log', log, '--log-format', 'json', 'state', 'nope']);
  t.is(r.code, 1);
  t.is(r.err, 'berth: container "nope" does not exist\n', 'stderr still says it');
  const b = await makeBundle(t, (c) => (c.process.args = 5));
  const r2 = await berth(['--log', log, '--log-format', 'json', 'create', '--bundle', b.dir, 'cli-badlog']);
  t.is(r2.code, 1);
  const lines = fs.readFileSync(log, 'utf8').split('\n');
  t.is(lines.pop(), '', 'every record ends with a newline');
  const records = lines.map((l) => JSON.parse(l));
  t.is(records.length, 2, fs.readFileSync(log, 'utf8'));
  for (const rec of records) {
    t.deepEqual(Object.keys(rec).sort(), ['level', 'msg', 'time']);
    t.is(rec.level, 'error');
    t.false(Number.isNaN(Date.parse(rec.time)), `time ${rec.time}`);
    t.regex(rec.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/, 'RFC 3339, as logrus');
  }
  t.is(records[0].msg, 'container "nope" does not exist');
  t.true(records[1].msg.includes('process.args'), records[1].msg);
  // text, the default
  const textLog = path.join(tmp, 'log.txt');
  await berth(['--log', textLog, 'kill', 'nope']);
  t.regex(fs.readFileSync(textLog, 'utf8'), /^time="?[^ ]+"? level=error msg="container \\"nope\\" does not exist"\n$/);
  await assertGone(t, 'cli-badlog');
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('8. list --format json shows the container with its status; list -q prints ids', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const b = await makeBundle(t, (c) => (c.process.args = ['sleep', '1000']));
  const pids = [];
  for (const id of ['cli-lista', 'cli-listb']) {
    const pidFile = path.join(tmp, `${id}.pid`);
    await ok(t, ['create', '--bundle', b.dir, '--pid-file', pidFile, id]);
    pids.push(adopt(pidFile));
  }
  await ok(t, ['start', 'cli-listb']);
  const items = JSON.parse((await ok(t, ['list', '--format', 'json'])).out);
  t.deepEqual(items.map((i) => i.id).sort(), ['cli-lista', 'cli-listb']);
  const by = Object.fromEntries(items.map((i) => [i.id, i]));
  t.is(by['cli-lista'].status, 'created');
  t.is(by['cli-listb'].status, 'running');
  t.is(by['cli-lista'].pid, pids[0]);
  t.is(by['cli-listb'].pid, pids[1]);
  t.is(by['cli-lista'].bundle, b.dir);
  t.is(by['cli-lista'].owner, 'root');
  const quiet = await ok(t, ['list', '-q']);
  t.deepEqual(quiet.out.split('\n').filter(Boolean).sort(), ['cli-lista', 'cli-listb']);
  t.true(quiet.out.endsWith('\n'));
  const table = await ok(t, ['list']);
  t.regex(table.out, /^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER\n/);
  t.regex(table.out, /\ncli-listb\s+\d+\s+running\s/);
  const paths = ['cli-lista', 'cli-listb'].flatMap((id) => record(id).cgroupPaths);
  for (const id of ['cli-lista', 'cli-listb']) await ok(t, ['delete', '--force', id]);
  t.is((await ok(t, ['list', '-q'])).out, '');
  t.deepEqual(JSON.parse((await ok(t, ['list', '--format', 'json'])).out), []);
  await assertGone(t, 'cli-lista', { cgroupPaths: paths, pids });
  await assertGone(t, 'cli-listb');
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('9. features: JSON with ociVersionMin/Max and the six hooks', async (t) => {
  const r = await ok(t, ['features'], { root: false });
  const f = JSON.parse(r.out);
  t.regex(f.ociVersionMin, /^1\.\d+\.\d+$/);
  t.regex(f.ociVersionMax, /^1\.\d+\.\d+/);
  t.deepEqual([...f.hooks].sort(), ['createContainer', 'createRuntime', 'poststart', 'poststop', 'prestart', 'startContainer']);
  t.true(Array.isArray(f.mountOptions));
  t.true(Array.isArray(f.linux?.namespaces));
});

test.serial('10. hooks through the CLI: order, where each runs, the state on stdin', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const id = 'cli-hooked';
  const hl = bindDir('hooklog', '/hooklog');
  const log = path.join(hl.dir, 'log');
  // One line a call: NAME|<the state JSON it read>|<its root: the host's or the container's>.
  const onHost = (name) => ({ path: '/bin/sh', args: ['sh', '-c', `state=$(cat); echo "${name}|$state|$(test -e ${hl.dir} && echo host-root || echo container-root)" >> ${log}`] });
  // startContainer: /bin/sh of the rootfs, writing through the bind mount.
  const inside = (name) => ({ path: '/bin/sh', args: ['sh', '-c', `state=$(cat); echo "${name}|$state|$(test -e ${hl.dir} && echo host-root || echo container-root)" >> /hooklog/log`] });
  const b = await makeBundle(t, (c) => {
    c.process.args = ['sleep', '1000'];
    c.mounts.push(hl.mount);
    c.hooks = {
      prestart: [onHost('prestart')],
      createRuntime: [onHost('createRuntime')],
      createContainer: [onHost('createContainer')],
      startContainer: [inside('startContainer')],
      poststart: [onHost('poststart')],
      poststop: [onHost('poststop')],
    };
  });
  const calls = () =>
    (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [name, state, root] = l.split('|');
        return { name, state: JSON.parse(state), root };
      });
  const pidFile = path.join(tmp, 'hooked.pid');
  const created = await berth(['create', '--bundle', b.dir, '--pid-file', pidFile, id]);
  t.is(created.code, 0, created.err);
  const pid = adopt(pidFile);
  t.deepEqual(calls().map((c) => c.name), ['prestart', 'createRuntime', 'createContainer'], 'create runs the create hooks, in order');
  const { cgroupPaths } = record(id);
  await ok(t, ['start', id]);
  t.deepEqual(calls().map((c) => c.name), ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart'], 'start runs startContainer, then poststart');
  await ok(t, ['kill', id, 'KILL']);
  await until('stopped', async () => (await stateOf(t, id)).status === 'stopped');
  t.is(calls().length, 5, 'no hook runs at kill');
  await ok(t, ['delete', id]);
  const all = calls();
  t.deepEqual(all.map((c) => c.name), ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
  const want = { prestart: 'created', createRuntime: 'created', createContainer: 'created', startContainer: 'created', poststart: 'running', poststop: 'stopped' };
  for (const c of all) {
    t.is(c.state.id, id, `${c.name}: state.id`);
    t.is(c.state.status, want[c.name], `${c.name}: state.status`);
    t.is(c.state.bundle, b.dir, `${c.name}: state.bundle`);
    t.is(c.state.ociVersion, '1.2.0', `${c.name}: state.ociVersion`);
    if (c.name !== 'poststop') t.is(c.state.pid, pid, `${c.name}: state.pid`);
  }
  const root = Object.fromEntries(all.map((c) => [c.name, c.root]));
  t.is(root.createContainer, 'host-root', 'createContainer: before pivot_root');
  t.is(root.startContainer, 'container-root', 'startContainer: in the container root');
  t.is(root.prestart, 'host-root');
  t.is(root.poststop, 'host-root');
  await assertGone(t, id, { cgroupPaths, pids: [pid] });
  await assertNoLeaks(t, before, stateRoot);
});

// The console socket's owner: receives the pty master (SCM_RIGHTS; Node's net cannot) and prints what it reads.
const CONSOLE_PY = String.raw`
import json, os, select, socket, sys, time
path = sys.argv[1]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
srv.settimeout(20)
print("listening", flush=True)
conn, _ = srv.accept()
msg, fds, flags, _ = socket.recv_fds(conn, 4096, 8)
conn.close()
srv.close()
master = fds[0]
for fd in fds[1:]:
    os.close(fd)
st = os.fstat(master)
out = b""
deadline = time.time() + 20
while time.time() < deadline:
    r, _, _ = select.select([master], [], [], 0.5)
    if not r:
        continue
    try:
        d = os.read(master, 4096)
    except OSError:
        break  # EIO: every slave fd is closed
    if not d:
        break
    out += d
print(json.dumps({"fds": len(fds), "name": msg.decode(errors="replace"), "chr": (st.st_mode & 0o170000) == 0o020000, "out": out.decode(errors="replace")}), flush=True)
`;

const py = spawnSync('python3', ['-c', 'import socket, sys; socket.recv_fds; print(sys.version.split()[0])'], { encoding: 'utf8' });
const noPython = py.status === 0 ? undefined : `python3 with socket.recv_fds (3.9+) is needed to receive the pty master: ${py.error?.code ?? py.stderr.trim().split('\n').pop()}`;

when(noPython, '11. --console-socket: the pty master arrives over SCM_RIGHTS and carries the container\'s output', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const id = 'cli-console';
  const sock = path.join(tmp, 'console.sock');
  const helper = spawn('python3', ['-c', CONSOLE_PY, sock], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  helper.stdout.on('data', (d) => (stdout += d));
  helper.stderr.on('data', (d) => (stderr += d));
  const helperDone = new Promise((r) => helper.on('close', (code) => r(code)));
  try {
    await until('the helper to listen', () => stdout.includes('listening\n') || helper.exitCode !== null, 10000);
    t.is(helper.exitCode, null, stderr);
    const b = await makeBundle(t, (c) => {
      c.process.terminal = true;
      c.process.args = ['/bin/sh', '-c', 'echo tty-ok; tty; sleep 0.2'];
    });
    // Without a console socket a detached terminal is refused.
    const refused = await berth(['create', '--bundle', b.dir, id]);
    t.is(refused.code, 1);
    t.regex(refused.err, /console socket/);
    t.deepEqual(stateEntries(stateRoot), []);

    const pidFile = path.join(tmp, 'console.pid');
    const created = await berth(['create', '--bundle', b.dir, '--console-socket', sock, '--pid-file', pidFile, id]);
    t.is(created.code, 0, created.err);
    const pid = adopt(pidFile);
    const { cgroupPaths } = record(id);
    await ok(t, ['start', id]);
    t.is(await helperDone, 0, stderr);
    const got = JSON.parse(stdout.split('\n').filter(Boolean).pop());
    t.log(JSON.stringify(got));
    t.is(got.fds, 1, 'one fd: the master');
    t.true(got.chr, 'a character device');
    t.regex(got.out, /^tty-ok\r?\n\/dev\/pts\/\d+\r?\n/, 'the output came through the pty; tty names a /dev/pts path');
    await until('stopped', async () => (await stateOf(t, id)).status === 'stopped');
    await ok(t, ['delete', id]);
    await assertGone(t, id, { cgroupPaths, pids: [pid] });
  } finally {
    if (helper.exitCode === null) helper.kill('SIGKILL');
    await helperDone;
  }
  await assertNoLeaks(t, before, stateRoot);
});


/** The pid of a container the CLI left behind, recorded as ours (to reap), and its cgroup dirs. */
function leftBehind(id) {
  try {
    const r = record(id);
    if (r.pid) mine.add(r.pid);
    return r;
  } catch {
    return undefined;
  }
}

test.serial('create/run with an unwritable --pid-file exit 1 and leave nothing', async (t) => {
  const b = await makeBundle(t, (c) => (c.process.args = ['sleep', '1000']));
  const bad = path.join(tmp, 'no-such-dir', 'pid');
  const results = {};
  for (const [id, args] of [
    ['cli-pidc', ['create']],
    ['cli-pidrd', ['run', '-d']],
    ['cli-pidr', ['run']],
  ]) {
    const r = await berth([...args, '--bundle', b.dir, '--pid-file', bad, id]);
    const left = leftBehind(id);
    results[id] = { code: r.code, err: r.err.trim(), left: left?.status ?? null, cgroups: cgroupDirs(id).filter((d) => fs.existsSync(d)).length };
  }
  t.log(JSON.stringify(results, null, 1));
  for (const [id, r] of Object.entries(results)) {
    t.is(r.code, 1, `${id}: exit`);
    t.true(r.err.includes(bad), `${id}: the message names the pid file (${r.err})`);
    t.is(r.left, null, `${id}: nothing left in the state root`);
    t.is(r.cgroups, 0, `${id}: no cgroup dirs left`);
  }
});

test.serial('a failing startContainer hook fails start and stops the container (its init gone)', async (t) => {
  const id = 'cli-badstart';
  const hl = bindDir('badstart-log', '/hooklog');
  const b = await makeBundle(t, (c) => {
    c.process.args = ['/bin/sh', '-c', 'echo ran >> /hooklog/ran; exec sleep 1000'];
    c.mounts.push(hl.mount);
    c.hooks = { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'echo hook >> /hooklog/hook; exit 5'] }] };
  });
  const pidFile = path.join(tmp, 'badstart.pid');
  await ok(t, ['create', '--bundle', b.dir, '--pid-file', pidFile, id]);
  const pid = adopt(pidFile);
  const r = await berth(['start', id]);
  t.is(r.code, 1, 'start fails');
  t.regex(r.err, /startContainer/);
  t.false(fs.existsSync(path.join(hl.dir, 'ran')), 'the program did not run');
  // runtime-spec / README: the container is stopped (destroyed), not left startable.
  await sleep(300);
  const st = await stateOf(t, id);
  t.log(`after the failed start: ${st.status}, init ${pid} ${cmdline(pid)}`);
  t.is(st.status, 'stopped', 'the container is stopped after a failing startContainer hook');
  t.false(isAlive(pid) && procStat(pid)?.state !== 'Z', 'its init is gone');
});

test.serial('kill of a stopped container: refused, but --all is no error (as runc: it signals what is left)', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const id = 'cli-killall';
  const b = await makeBundle(t, (c) => (c.process.args = ['sleep', '1000']));
  const pidFile = path.join(tmp, 'killall.pid');
  await ok(t, ['create', '--bundle', b.dir, '--pid-file', pidFile, id]);
  adopt(pidFile);
  await ok(t, ['start', id]);
  await ok(t, ['kill', id, 'KILL']);
  for (let i = 0; i < 100 && (await stateOf(t, id)).status !== 'stopped'; i++) await sleep(20);
  t.is((await stateOf(t, id)).status, 'stopped');
  const plain = await berth(['kill', id, '9']);
  t.is(plain.code, 1);
  t.regex(plain.err, /stopped/);
  const all = await berth(['kill', '--all', id, '9']);
  t.is(all.code, 0, all.err);
  await ok(t, ['delete', id]);
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('a bundle taken literally: capabilities {} is none at all (Docker\'s --cap-drop ALL); the spec\'s cgroup mount shows the container\'s own limits, read-only', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const script = 'grep -E "^Cap(Prm|Eff|Bnd)" /proc/self/status; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; touch /sys/fs/cgroup/x 2>&1 | grep -c Read-only';
  const b = await makeBundle(t, (c) => {
    c.process.args = ['/bin/sh', '-c', script];
    c.process.capabilities = {};
    c.process.noNewPrivileges = false;
    c.linux.resources = { memory: { limit: 48 * 1024 * 1024 } };
  });
  t.true(b.config.mounts.some((m) => m.destination === '/sys/fs/cgroup' && m.type === 'cgroup'), 'berth spec has the cgroup mount runc spec has');
  const r = await berth(['run', '--bundle', b.dir, 'cli-capsnone']);
  t.is(r.code, 0, r.err);
  t.deepEqual(r.out.trim().split('\n'), ['CapPrm:\t0000000000000000', 'CapEff:\t0000000000000000', 'CapBnd:\t0000000000000000', String(48 * 1024 * 1024), '1']);
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('zz. nothing of this file is left: no state entries, no orphans of ours', async (t) => {
  t.deepEqual(stateEntries(stateRoot), []);
  t.deepEqual(children().filter((c) => c.state === 'Z'), []);
  t.is(mine.size, 0, `unreaped: ${[...mine]}`);
});
