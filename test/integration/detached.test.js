// Detached containers: made by one process that then exits, driven from
// others (detached-child.mjs, one operation per process), their init
// reparented to this test process, which makes itself a subreaper as a shim
// (conmon, containerd-shim) would. Every operation's process can be SIGKILLed
// at any point and what is left must stay consistent and removable.
import test from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, createContainer, InvalidStateError, listContainers, loadContainer } from '../../dist/lib/index.js';
import { native } from '../../dist/lib/native/addon.js';
import { assertNoLeaks, children, isAlive, ROOTFS, settledSnapshot, stateEntries, stateRootFor } from './helpers.js';
import { cgroupDirs } from './owner.js';
import { procStat, reapPid } from './subreaper.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(here, 'detached-child.mjs');
const stateRoot = stateRootFor('detached');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Orphaned inits (their creator exited) come to this process, which reaps them.
native.setChildSubreaper();

/** The Node children this file spawned (libuv reaps those itself). */
const spawned = new Set();

/**
 * One operation in a process of its own. killAfter: SIGKILL it that many ms
 * after it said it begins the operation; onBegin(child): called then; at:
 * epoch ms the operation begins.
 */
function op(name, id, arg, { killAfter, at, onBegin } = {}) {
  const argv = [CHILD, name, stateRoot, id, ...(arg === undefined ? [] : [JSON.stringify(arg)])];
  const env = at === undefined ? process.env : { ...process.env, DETACHED_CHILD_AT: String(at) };
  const p = spawn(process.execPath, argv, { cwd: here, env, stdio: ['ignore', 'pipe', 'pipe'] });
  spawned.add(p.pid);
  const lines = [];
  let buf = '';
  let stderr = '';
  let began;
  p.stdout.on('data', (d) => {
    buf += d;
    for (let i; (i = buf.indexOf('\n')) >= 0; buf = buf.slice(i + 1)) {
      const line = JSON.parse(buf.slice(0, i));
      lines.push(line);
      if (line.phase === 'begin') {
        began = performance.now();
        if (killAfter !== undefined) setTimeout(() => p.kill('SIGKILL'), killAfter);
        onBegin?.(p);
      }
    }
  });
  p.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => {
    p.on('close', (code, signal) => {
      spawned.delete(p.pid);
      const done = lines.find((l) => l.phase === 'done');
      resolve({ code, signal, pid: p.pid, done, lines, stderr, ms: began === undefined ? null : performance.now() - began });
    });
  });
}

/** op() that must succeed: its result line. */
async function ok(_t, name, id, arg) {
  const r = await op(name, id, arg);
  if (r.code !== 0 || !r.done?.ok) throw new Error(`${name} ${id}: exit ${r.code ?? r.signal}, ${JSON.stringify(r.done)}\n${r.stderr}`);
  if (name === 'create') inits.add(r.done.pid);
  return { ...r.done, ms: r.ms, childPid: r.pid };
}


function cmdline(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return null;
  }
}

const readState = (id) => JSON.parse(fs.readFileSync(path.join(stateRoot, id, 'state.json'), 'utf8'));

/** The process runs (a zombie has exited: only its reaper has not looked yet). */
const running = (pid) => !!pid && procStat(pid) !== undefined && procStat(pid).state !== 'Z';

/** The freezer of a recorded container: v1 freezer.state, or the v2 core freezer as FROZEN/THAWED. */
function freezerState(cgroupPaths) {
  const v1 = cgroupPaths.find((p) => p.split(path.sep).includes('freezer'));
  if (v1) return fs.readFileSync(path.join(v1, 'freezer.state'), 'utf8').trim();
  const v2 = cgroupPaths.find((p) => fs.existsSync(path.join(p, 'cgroup.events')));
  return /^frozen 1$/m.test(fs.readFileSync(path.join(v2, 'cgroup.events'), 'utf8')) ? 'FROZEN' : 'THAWED';
}

/** Inits of containers this file made: theirs to reap is berth's (ref.wait(), ref.destroy()), not the reaper's below. */
const inits = new Set();

/** Children of this process that are not the Node processes it spawned: orphans that came to the subreaper. */
const strays = () => children().filter((c) => !spawned.has(c.pid));

function comm(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
  } catch {
    return null;
  }
}


/**
 * What a subreaper owes its other orphans (conmon and containerd-shim wait for
 * any child): a process an exec started is reparented here when the process
 * that exec-ed it dies, and its zombie, unreaped, would keep the container's
 * pid namespace init from ever finishing its exit (zap_pid_ns_processes).
 * Container inits are left to berth.
 */
const orphansReaped = [];
/** While this process itself creates containers, their children are berth's to reap (its pidfd), not the sweep's. */
let creatingHere = false;
const reaper = setInterval(() => {
  if (creatingHere) return;
  for (const c of children()) {
    if (c.state !== 'Z' || spawned.has(c.pid) || inits.has(c.pid)) continue;
    const name = comm(c.pid);
    if (reapPid(c.pid)) orphansReaped.push({ pid: c.pid, comm: name });
  }
}, 25);
test.after.always(() => clearInterval(reaper));

/**
 * After the assertions: whatever orphan is still ours is killed (if alive)
 * and reaped, so that one failure does not fail every later test.
 */
async function reapStrays() {
  const found = strays();
  for (const { pid } of found) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // a zombie already, or gone
    }
    for (let i = 0; i < 100 && procStat(pid) && procStat(pid).state !== 'Z'; i++) await sleep(10);
    reapPid(pid);
  }
  return found;
}

/**
 * Nothing of the container is left: no state dir, no cgroups, no process, no
 * zombie. An orphan that is not a recorded init gets the test reaper's turn
 * first; a recorded init's zombie is berth's to reap and is never waited out.
 */
async function assertGone(t, id, { cgroupPaths = [], pid } = {}, label = id) {
  for (let i = 0; i < 20 && strays().some((s) => !inits.has(s.pid)); i++) await sleep(25);
  t.false(fs.existsSync(path.join(stateRoot, id)), `${label}: state dir`);
  t.deepEqual(cgroupPaths.filter((d) => fs.existsSync(d)), [], `${label}: recorded cgroups`);
  t.deepEqual(cgroupDirs(id).filter((d) => fs.existsSync(d)), [], `${label}: default cgroup dirs`);
  if (pid) {
    t.false(isAlive(pid), `${label}: init ${pid} gone (${JSON.stringify(procStat(pid))})`);
  }
  t.deepEqual(strays(), [], `${label}: orphans (alive or zombie) left as children of this process`);
}

const sleeper = (extra = {}) => ({ ...extra, process: { args: ['sleep', '1000'], ...(extra.process ?? {}) } });

/** A detached container made by a child that exited, started by another: { pid, ref, waited: this process's ref.wait(), record }. */
async function runningDetached(t, id, extra) {
  const created = await ok(t, 'create', id, sleeper(extra));
  const ref = await loadContainer(id, { stateRoot });
  const waited = ref.wait(); // we reap it: it was reparented to us
  await ok(t, 'start', id);
  return { pid: created.pid, ref, waited, record: readState(id) };
}

// A failed test's containers go too (destroy() kills a paused one as well), so the next test starts clean.
test.afterEach.always(async (t) => {
  for (const s of await listContainers({ stateRoot })) {
    t.log(`cleaning up ${s.id} (${s.status})`);
    await (await loadContainer(s.id, { stateRoot })).destroy().catch((err) => t.log(`destroy ${s.id}: ${err.code} ${err.message}`));
  }
  await reapStrays();
});

test.serial('1. created by a child that exits, then started, exec-ed, paused, resumed, killed and deleted each from another process', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const id = 'chain';
  const created = await ok(t, 'create', id, sleeper({ hostname: 'detbox' }));
  const { pid } = created;
  t.log(`create ${created.ms.toFixed(0)} ms (creator ${created.childPid}, init ${pid})`);

  // The creator has exited; the init lives on, set up and blocked before execve, now our child.
  t.false(isAlive(created.childPid), 'the creator exited');
  t.true(isAlive(pid));
  t.not(procStat(pid).state, 'Z');
  t.is(procStat(pid).ppid, process.pid, 'reparented to the subreaper (this process)');
  t.regex(cmdline(pid), /^berth-init/, 'not exec-ed yet');
  const ref = await loadContainer(id, { stateRoot });
  t.is((await ref.state()).status, 'created');
  t.true(fs.existsSync(path.join(stateRoot, id, 'config.json')));
  const recorded = readState(id).cgroupPaths;
  t.true(recorded.length > 0);
  const waited = ref.wait();

  const started = await ok(t, 'start', id);
  t.is(started.status, 'running');
  t.is((await ref.state()).status, 'running');
  t.is(cmdline(pid), 'sleep 1000', 'the init exec-ed its program');
  t.log(`start ${started.ms.toFixed(0)} ms`);

  const exec = await ok(t, 'exec', id, { args: ['sh', '-c', 'hostname; cat /proc/1/cmdline; echo; echo $$'] });
  t.is(exec.exitCode, 0, exec.err);
  const [host, init1, ownPid] = exec.out.split('\n');
  t.is(host, 'detbox', 'the hostname of the config');
  t.is(init1, 'sleep\u00001000\u0000', 'pid 1 of its pid namespace is the init');
  t.not(Number(ownPid), exec.pid, 'its own pid namespace');
  t.log(`exec ${exec.ms.toFixed(0)} ms`);

  const paused = await ok(t, 'pause', id);
  t.is(paused.status, 'paused');
  t.is((await ref.state()).status, 'paused');
  t.is(freezerState(recorded), 'FROZEN');
  const frozenTask = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^State:\s*(.*)$/m)[1];
  t.log(`paused: init ${frozenTask}`);
  // The v1 freezer parks a task in TASK_FROZEN, which /proc shows as D; v2's freezer traps it like a signal stop (S).
  if (recorded.some((p) => p.split(path.sep).includes('freezer'))) t.regex(frozenTask, /^D/, 'a frozen task shows as D (TASK_FROZEN)');

  const resumed = await ok(t, 'resume', id);
  t.is(resumed.status, 'running');
  t.is((await ref.state()).status, 'running');
  t.is(freezerState(recorded), 'THAWED');
  t.regex(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^State:\s*(.*)$/m)[1], /^S/);

  await ok(t, 'kill', id, 'SIGKILL');
  t.deepEqual(await waited, { exitCode: null, signal: 'SIGKILL', oomKilled: false }, 'this process (the subreaper) reaped the init');
  t.is((await ref.state()).status, 'stopped');

  await ok(t, 'delete', id);
  await assertGone(t, id, { cgroupPaths: recorded, pid });
  t.deepEqual(stateEntries(stateRoot), []);
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('2. two concurrent starts: one succeeds, the program runs once; start on a running container is refused', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-detached-'));
  const id = 'twostarts';
  try {
    fs.writeFileSync(path.join(dir, 'runs'), '');
    const created = await ok(t, 'create', id, {
      mounts: [{ destination: '/out', type: 'bind', source: dir, options: ['rbind', 'rw'] }],
      process: { args: ['/bin/sh', '-c', 'echo ran >> /out/runs; exec sleep 1000'] },
    });
    const ref = await loadContainer(id, { stateRoot });
    const waited = ref.wait();
    const recorded = readState(id).cgroupPaths;

    // Both children begin their start() at the same moment (node's startup is ~150 ms).
    const at = Date.now() + 400;
    const results = await Promise.all([op('start', id, undefined, { at }), op('start', id, undefined, { at })]);
    const dones = results.map((r) => r.done);
    t.log(dones.map((d) => JSON.stringify(d)).join('\n'));
    t.is(dones.filter((d) => d?.ok).length, 1, 'exactly one start succeeds');
    const loser = dones.find((d) => !d?.ok);
    t.is(loser?.code, 'INVALID_STATE');
    t.is(loser?.name, 'InvalidStateError');
    t.is(loser?.state, 'running');

    for (let i = 0; i < 100 && fs.readFileSync(path.join(dir, 'runs'), 'utf8') === ''; i++) await sleep(10);
    await sleep(200); // a second run would have written by now
    t.is(fs.readFileSync(path.join(dir, 'runs'), 'utf8'), 'ran\n', 'the program ran once');
    t.is(cmdline(created.pid), 'sleep 1000');

    // And from this process, on the running container.
    const err = await t.throwsAsync((await loadContainer(id, { stateRoot })).start(), { instanceOf: InvalidStateError });
    t.is(err.code, 'INVALID_STATE');
    t.is(err.state, 'running');
    t.is(fs.readFileSync(path.join(dir, 'runs'), 'utf8'), 'ran\n');
    t.is((await ref.state()).status, 'running');

    await ref.destroy(); // this process reaps the init: destroy() or wait(), whichever looks first
    await waited;
    await assertGone(t, id, { cgroupPaths: recorded, pid: created.pid });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('3a. creator SIGKILLed during create: what it left is absent, or listed and removable', async (t) => {
  const before = await settledSnapshot(stateRoot);
  // A create takes ~90 ms here after its process began it (claim, clone, setup): 0–50 ms, then on to the end.
  const reapedBefore = orphansReaped.length;
  for (const [n, delay] of [0, 5, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95, 100, 110].entries()) {
    const id = `crkill${n}`;
    const r = await op('create', id, sleeper(), { killAfter: delay });
    const orphans = strays();
    const listed = (await listContainers({ stateRoot })).find((s) => s.id === id);
    let outcome;
    if (r.done?.ok) outcome = 'completed';
    else if (!listed) outcome = 'absent';
    else outcome = `listed ${listed.status}`;
    t.log(`${delay} ms: ${outcome}${orphans.length ? ` (orphans ${orphans.map((o) => `${o.pid}:${o.state}:${cmdline(o.pid)}`).join(',')})` : ''}`);
    if (r.done && !r.done.ok) t.fail(`create ${id} failed before the kill: ${JSON.stringify(r.done)}`);
    if (listed) {
      t.not(listed.status, 'creating', `${id}: the creator is dead, so it is not 'creating'`);
      if (listed.status !== 'stopped') t.true(running(listed.pid), `${id}: ${listed.status} with a live init`);
      if (listed.pid) inits.add(listed.pid); // berth's to reap now, not the test reaper's
      const initBefore = listed.pid ? procStat(listed.pid) : undefined;
      await (await loadContainer(id, { stateRoot })).destroy();
      t.log(`   init ${listed.pid} before destroy ${JSON.stringify(initBefore)}, after ${JSON.stringify(listed.pid && procStat(listed.pid))}`);
      await assertGone(t, id, { cgroupPaths: listed.cgroupPaths ?? [], pid: listed.pid }, `${id} (${delay} ms, ${outcome}, init ${listed.pid}: ${JSON.stringify(procStat(listed.pid))})`);
    } else {
      // Nothing listed: then nothing else either.
      await assertGone(t, id, {}, `${id} (${delay} ms, absent)`);
    }
    await reapStrays();
  }
  t.log(`orphans the test's reaper reaped: ${JSON.stringify(orphansReaped.slice(reapedBefore))}`);
  t.deepEqual(stateEntries(stateRoot), [], 'no claim or state dir left');
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('3b. starter SIGKILLed during start: running (exec-ed) or stopped, never created with a dead init; destroy cleans', async (t) => {
  const before = await settledSnapshot(stateRoot);
  // A start takes ~13 ms after its process began it; 'at running': SIGKILL the
  // instant state.json says 'running' (written before GO: the window where only the record changed).
  for (const [n, delay] of [0, 2, 4, 5, 6, 7, 8, 9, 10, 14, 'at running', 'at running', 'at running'].entries()) {
    const id = `stkill${n}`;
    const created = await ok(t, 'create', id, sleeper());
    const recorded = readState(id).cgroupPaths;
    const ref = await loadContainer(id, { stateRoot });
    const waited = ref.wait();
    let watch;
    const r = await op('start', id, undefined, {
      ...(typeof delay === 'number' ? { killAfter: delay } : {}),
      onBegin: (p) => {
        if (delay !== 'at running') return;
        watch = fs.watch(path.join(stateRoot, id), () => {
          try {
            if (readState(id).status === 'running') p.kill('SIGKILL');
          } catch {
            // mid-rename
          }
        });
      },
    });
    watch?.close();
    // Killed between its 'running' write and GO, the starter leaves an init that
    // sees its connection's EOF and exits: transient, so give it that moment.
    for (let i = 0; i < 80 && readState(id).status === 'running' && running(created.pid) && /^berth-init/.test(cmdline(created.pid) ?? ''); i++) await sleep(25);
    const raw = readState(id);
    const status = (await ref.state()).status;
    const alive = running(created.pid);
    const prog = cmdline(created.pid);
    t.log(`${delay}${typeof delay === 'number' ? ' ms' : ''}: ${r.done ? (r.done.ok ? 'start completed' : `start failed ${r.done.code}`) : 'killed'}; recorded ${raw.status}, state() ${status}, init ${alive ? prog : 'dead'}`);
    t.false(raw.status === 'created' && !alive, `${id}: recorded 'created' with a dead init`);
    if (status === 'running') {
      t.is(prog, 'sleep 1000', `${id} (${delay}${typeof delay === 'number' ? ' ms' : ''}): 'running' means the program exec-ed`);
    } else if (status === 'created') {
      // Killed before it did anything: the init still waits, and a start now works.
      t.regex(prog ?? '', /^berth-init/, `${id}: 'created' means still waiting`);
      await ok(t, 'start', id);
      t.is(cmdline(created.pid), 'sleep 1000');
    } else {
      t.is(status, 'stopped', `${id}: running or stopped`);
    }
    await ref.destroy();
    await waited;
    await assertGone(t, id, { cgroupPaths: recorded, pid: created.pid }, `${id} (${delay})`);
    await reapStrays();
  }
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('3c. exec SIGKILLed mid-exec: the container still runs and another exec works', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const id = 'exkill';
  const { pid, ref, waited, record } = await runningDetached(t, id);
  const reapedBefore = orphansReaped.length;
  // An exec takes ~75 ms here after its process began it.
  for (const delay of [0, 10, 30, 50, 60, 70, 80, 90]) {
    const r = await op('exec', id, { args: ['sh', '-c', 'echo hi; exec sleep 30'] }, { killAfter: delay });
    const spawnedExec = r.lines.find((l) => l.phase === 'spawned');
    // A half-made exec whose process died exits by itself (it is orphaned to us until then).
    const halfMade = () => strays().filter((s) => s.state !== 'Z' && !inits.has(s.pid) && /^memfd:berth/.test(comm(s.pid) ?? ''));
    for (let i = 0; i < 40 && halfMade().length > 0; i++) await sleep(25);
    t.deepEqual(halfMade(), [], `${delay} ms: a half-made exec stays`);
    t.is((await ref.state()).status, 'running', `${delay} ms: still running`);
    t.is(cmdline(pid), 'sleep 1000');
    // No half-made exec left in the container: each process there runs a program.
    const procs = (await ref.processes()).map((p) => `${p}:${cmdline(p)}`);
    for (const p of await ref.processes()) t.notRegex(cmdline(p) ?? '', /berth-init/, `${delay} ms: process ${p} stuck before execve`);
    const again = await ok(t, 'exec', id, { args: ['sh', '-c', 'echo ok; cat /proc/1/cmdline'] });
    t.is(again.exitCode, 0);
    t.is(again.out, 'ok\nsleep\u00001000\u0000');
    t.log(`${delay} ms: ${r.done ? 'exec finished' : spawnedExec ? `killed after spawn (pid ${spawnedExec.pid})` : 'killed before spawn'}; in container: ${procs.join(', ')}; orphans: ${strays().map((s) => `${s.pid}:${s.state}:${cmdline(s.pid)}`).join(', ')}`);
  }
  await ok(t, 'delete', id);
  t.deepEqual(await waited, { exitCode: null, signal: 'SIGKILL', oomKilled: false });
  await assertGone(t, id, { cgroupPaths: record.cgroupPaths, pid });
  // What came to the subreaper when an exec's process died: the programs it had exec-ed, and half-made execs that exited.
  const reaped = orphansReaped.slice(reapedBefore);
  t.log(`orphans the test's reaper reaped: ${JSON.stringify(reaped)}`);
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('3d. pause SIGKILLed mid-pause: the recorded status agrees with the freezer; delete leaves nothing', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const id = 'pskill';
  const { pid, ref, waited, record } = await runningDetached(t, id);
  // A pause takes ~7 ms after its process began it.
  for (const delay of [0, 3, 5, 6, 6, 7, 7, 8, 10, 20]) {
    const r = await op('pause', id, undefined, { killAfter: delay });
    const raw = readState(id).status;
    const freezer = freezerState(record.cgroupPaths);
    t.log(`${delay} ms: ${r.done ? `pause ${r.done.ok ? 'completed' : r.done.code}` : 'killed'}; recorded ${raw}, freezer ${freezer}`);
    // 'paused' is written before the freeze (ContainerRef.pause): killed in between, the
    // record says paused over a thawed cgroup, which resume() below sets right. Never
    // the other way round (frozen while it says running, refusing resume()).
    const consistent = (raw === 'paused' && freezer === 'FROZEN') || (raw === 'running' && freezer === 'THAWED') || (raw === 'paused' && freezer === 'THAWED');
    t.true(consistent, `${delay} ms: recorded ${raw} with freezer ${freezer}`);
    // (AVA 6 ends the test at a failed assertion; afterEach destroys what is left, paused or not.)
    if (raw === 'paused') await ok(t, 'resume', id);
    t.is(freezerState(record.cgroupPaths), 'THAWED');
    t.is((await ref.state()).status, 'running');
  }
  // Paused once more, then deleted paused: nothing is left either.
  await ok(t, 'pause', id);
  await ok(t, 'delete', id);
  t.deepEqual(await waited, { exitCode: null, signal: 'SIGKILL', oomKilled: false });
  await assertGone(t, id, { cgroupPaths: record.cgroupPaths, pid });
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('4. init killed from outside (kill -9 of its pid): state() says stopped, destroy() leaves nothing', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const id = 'outside';
  const created = await ok(t, 'create', id, sleeper());
  await ok(t, 'start', id);
  const recorded = readState(id).cgroupPaths;
  const ref = await loadContainer(id, { stateRoot });
  t.is((await ref.state()).status, 'running');
  process.kill(created.pid, 'SIGKILL');
  for (let i = 0; i < 200 && procStat(created.pid)?.state !== 'Z' && isAlive(created.pid); i++) await sleep(5);
  t.is((await ref.state()).status, 'stopped');
  t.is((await listContainers({ stateRoot })).find((s) => s.id === id)?.status, 'stopped');
  await ref.destroy();
  await assertGone(t, id, { cgroupPaths: recorded, pid: created.pid });
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('5. config errors: detached with dieWithParent, consoleSocket without a terminal; nothing is left', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const cases = [
    [{ id: 'cfg1', detached: true, dieWithParent: true, process: { args: ['true'] } }, 'dieWithParent'],
    [{ id: 'cfg2', detached: true, consoleSocket: '/run/berth-test/no.sock', process: { args: ['true'] } }, 'consoleSocket'],
    [{ id: 'cfg3', consoleSocket: '/run/berth-test/no.sock', process: { args: ['true'], terminal: false } }, 'consoleSocket'],
  ];
  for (const [config, field] of cases) {
    const err = await t.throwsAsync(createContainer({ rootfs: ROOTFS, stateRoot, ...config }), { instanceOf: ConfigError });
    t.is(err.code, 'INVALID_CONFIG');
    t.is(err.field, field);
    t.true(err.message.includes(field), err.message);
    await assertGone(t, config.id);
  }
  t.deepEqual(stateEntries(stateRoot), []);
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('6. a missing or non-executable program fails create (not a later start), as runc; nothing is left', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const cases = [
    ['exe1', ['/nonexistent'], 'ENOENT', 'EXECUTABLE_NOT_FOUND'],
    ['exe2', ['no-such-program'], 'ENOENT', 'EXECUTABLE_NOT_FOUND'],
    ['exe3', ['/etc/passwd'], 'EACCES', undefined],
    ['exe4', ['/etc'], 'EACCES', undefined],
  ];
  creatingHere = true;
  t.teardown(() => (creatingHere = false));
  for (const [id, args, errno, code] of cases) {
    const err = await t.throwsAsync(createContainer({ id, rootfs: ROOTFS, stateRoot, detached: true, process: { args } }));
    t.is(err.errno, errno, `${args[0]}: ${err.message}`);
    t.is(err.step, 'exec');
    t.true(err.message.includes(args[0]), err.message);
    if (code) t.is(err.code, code);
    await assertGone(t, id);
  }
  // A program found through PATH is accepted (the check follows execvp's search).
  const c = await createContainer({ id: 'exe5', rootfs: ROOTFS, stateRoot, detached: true, process: { args: ['true'] } });
  inits.add(c.pid);
  await c.destroy();
  await assertGone(t, 'exe5');
  await assertNoLeaks(t, before, stateRoot);
});
