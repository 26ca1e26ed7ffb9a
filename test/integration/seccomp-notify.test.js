// seccomp notify, the Node way (seccompNotify.handler answering SCMP_ACT_NOTIFY
// calls made inside the container) and the OCI way (the listener and the
// container process state handed to an agent at listenerPath). The kernel
// stops each call until the answer: allow, an errno, or a return value; a
// late answer is a denial; slow handlers hold up only their own callers.
// Calls come from the seccomp probe (one syscall each, no libc in between).
import test from 'ava';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ConfigError, SetupError, createContainer, features, run } from '../../dist/lib/index.js';
import { native } from '../../dist/lib/native/addon.js';
import { assertNoLeaks, outputOf, settledSnapshot, stateEntries, stateRootFor } from './helpers.js';
import { probeRootfs, results, when } from './seccomp-probe.js';

const stateRoot = stateRootFor('seccomp-notify');
const { EACCES, EPERM, ETIMEDOUT } = os.constants.errno;
const probe = probeRootfs();
test.after.always(() => probe.remove?.());
const noProbe = probe.reason;
const slow = process.env.BERTH_VM ? 10 : 1; // TCG runs everything ~10x slower
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const allowBut = (syscalls, extra = {}) => ({ defaultAction: 'SCMP_ACT_ALLOW', ...extra, syscalls });
const notifyOn = (names, extra = {}) => allowBut([{ names, action: 'SCMP_ACT_NOTIFY' }], extra);
const probeArgs = (...calls) => ['/probe', ...calls.flatMap((c, i) => (i ? ['--', ...c] : c))];

when(noProbe, 'a handler allows (the call runs), denies with an errno, or returns a value; each request says who called what, on which arch', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const seen = [];
  const answers = { getppid: { value: 4242 }, getuid: { errno: 'EACCES' }, getgid: { errno: EPERM }, getpid: { allow: true }, gettid: { value: 7n } };
  const r = await run({
    rootfs: probe.rootfs,
    stateRoot,
    linux: { seccomp: notifyOn(Object.keys(answers)) },
    seccompNotify: {
      handler(req) {
        seen.push(req);
        return answers[req.syscall];
      },
    },
    process: { args: probeArgs(['sys', 'getppid', '11', '22'], ['sys', 'getuid'], ['sys', 'getgid'], ['sys', 'getpid'], ['sys', 'gettid']) },
  });
  const [ppid, uid, gid, pid, tid] = results(r.stdout);
  t.deepEqual([ppid, uid, gid, tid], [{ ok: 4242 }, { errno: EACCES }, { errno: EPERM }, { ok: 7 }]);
  t.is(pid.ok, 1, 'getpid allowed: the real call ran (pid 1 of its own pid namespace)');
  t.deepEqual(seen.map((s) => s.syscall), ['getppid', 'getuid', 'getgid', 'getpid', 'gettid']);
  const first = seen[0];
  t.is(first.arch, process.arch === 'x64' ? 'SCMP_ARCH_X86_64' : first.arch);
  t.is(typeof first.id, 'bigint');
  t.deepEqual(first.args.slice(0, 3), [11n, 22n, 0n]);
  t.true(first.pid > 1 && first.pid !== process.pid, `a host pid: ${first.pid}`);
  t.is(typeof first.containerId, 'string');
  t.true(seen.every((s) => s.pid === first.pid), 'one caller');
  await assertNoLeaks(t, before, stateRoot);
});

when(noProbe, "the issue's round trip through busybox: mkdir answered EACCES; mknod allowed for a /dev/null-like node only; 'seccomp' events see every request", async (t) => {
  const before = await settledSnapshot(stateRoot);
  const makedev = (major, minor) => BigInt((major << 8) | minor);
  const c = await createContainer({
    rootfs: probe.rootfs,
    stateRoot,
    linux: { seccomp: notifyOn(['mkdir', 'mkdirat', 'mknod', 'mknodat']) },
    seccompNotify: {
      handler(req) {
        if (req.syscall.startsWith('mkdir')) return { errno: 'EACCES' };
        const dev = req.syscall === 'mknodat' ? req.args[3] : req.args[2];
        return dev === makedev(1, 3) ? { allow: true } : { errno: 'EPERM' };
      },
    },
    process: { args: ['/bin/sh', '-c', 'mkdir /tmp/d; echo mkdir=$?; mknod /tmp/null c 1 3 2>&1 && ls -l /tmp/null; mknod /tmp/mem c 1 1; echo mem=$?; test -e /tmp/d || echo no-d'], stdio: ['ignore', 'pipe', 'ignore'],
      // mknod itself needs CAP_MKNOD, which berth's default set leaves out.
      capabilities: { bounding: ['CAP_MKNOD'], effective: ['CAP_MKNOD'], permitted: ['CAP_MKNOD'] },
    },
  });
  const events = [];
  c.on('seccomp', (req) => events.push(req.syscall));
  const out = await outputOf(await c.start());
  await c.destroy();
  t.regex(out.out, /mkdir=1/);
  t.regex(out.out, /^crw.* 1, +3 .*\/tmp\/null$/m, out.out);
  t.regex(out.out, /mem=1/);
  t.regex(out.out, /no-d/);
  t.deepEqual(events.map((e) => e.replace(/at$/, '')), ['mkdir', 'mknod', 'mknod']);
  await assertNoLeaks(t, before, stateRoot);
});

when(noProbe, 'a handler that never answers: the call is denied with timeoutErrno after timeoutMs; the container and Node carry on', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const t0 = Date.now();
  const r = await run({
    rootfs: probe.rootfs,
    stateRoot,
    linux: { seccomp: notifyOn(['getppid']) },
    seccompNotify: { handler: () => new Promise(() => {}), timeoutMs: 300 * slow, timeoutErrno: 'ETIMEDOUT' },
    process: { args: probeArgs(['sys', 'getppid'], ['sys', 'getpid']) },
  });
  const took = Date.now() - t0;
  t.deepEqual(results(r.stdout), [{ errno: ETIMEDOUT }, { ok: 1 }]);
  t.is(r.exitCode, 0);
  t.true(took >= 300 * slow, `answered after ${took} ms`);
  // A handler that throws is a denial too (never an allow), with the default EPERM, and a warning.
  const warned = new Promise((resolve) => {
    const onWarning = (w) => {
      if (w.code !== 'BERTH_SECCOMP_HANDLER') return;
      process.off('warning', onWarning);
      resolve(w);
    };
    process.on('warning', onWarning);
  });
  const threw = await run({
    rootfs: probe.rootfs,
    stateRoot,
    linux: { seccomp: notifyOn(['getppid']) },
    seccompNotify: {
      handler: () => {
        throw new Error('handler bug');
      },
    },
    process: { args: probeArgs(['sys', 'getppid']) },
  });
  t.deepEqual(results(threw.stdout), [{ errno: EPERM }]);
  t.regex((await warned).message, /handler bug/);
  await assertNoLeaks(t, before, stateRoot);
});

when(noProbe, 'two containers with slow handlers do not wait for each other, nor hold up a fast one or the event loop', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const delay = 2000 * slow;
  const config = (handler) => ({ rootfs: probe.rootfs, stateRoot, linux: { seccomp: notifyOn(['getppid']) }, seccompNotify: { handler, timeoutMs: 60_000 }, process: { args: probeArgs(['sys', 'getppid']) } });
  const slowHandler = (value) => async () => {
    await sleep(delay);
    return { value };
  };
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const t0 = Date.now();
  const done = {};
  const stamp = (name) => (r) => ((done[name] = Date.now() - t0), r);
  const [a, b, fast] = await Promise.all([
    run(config(slowHandler(1))).then(stamp('a')),
    run(config(slowHandler(2))).then(stamp('b')),
    run(config(() => ({ value: 3 }))).then(stamp('fast')),
  ]);
  loop.disable();
  t.deepEqual([results(a.stdout), results(b.stdout), results(fast.stdout)], [[{ ok: 1 }], [{ ok: 2 }], [{ ok: 3 }]]);
  t.true(done.fast < delay, `the fast container finished at ${done.fast} ms, before the slow answers (${delay} ms)`);
  // Serial answers would take 2 × delay plus the starts.
  t.true(Math.max(done.a, done.b) < 2 * delay, `both slow ones by ${Math.max(done.a, done.b)} ms (< ${2 * delay})`);
  const maxLagMs = loop.max / 1e6;
  t.true(maxLagMs < 400 * slow, `event loop delay at most ${maxLagMs.toFixed(1)} ms while handlers waited`);
  await assertNoLeaks(t, before, stateRoot);
});

when(noProbe, "one process's concurrent requests (two threads) answered out of order", async (t) => {
  const before = await settledSnapshot(stateRoot);
  const answered = [];
  const r = await run({
    rootfs: probe.rootfs,
    stateRoot,
    linux: { seccomp: notifyOn(['getppid']) },
    seccompNotify: {
      async handler(req) {
        const which = Number(req.args[0]);
        // The first thread's call waits until the second's was answered.
        if (which === 1) while (!answered.includes(2)) await sleep(20);
        answered.push(which);
        return { value: 100 + which };
      },
      timeoutMs: 30_000 * slow,
    },
    process: { args: ['/probe', 'threads', 'getppid', '1', '2'] },
  });
  t.deepEqual(results(r.stdout), [{ ok: 101 }, { ok: 102 }]);
  t.deepEqual(answered, [2, 1]);
  await assertNoLeaks(t, before, stateRoot);
});

when(noProbe, 'the caller killed mid-request: the request is no longer valid and the late answer goes nowhere (no throw, no leak)', async (t) => {
  const before = await settledSnapshot(stateRoot);
  let request;
  let received;
  const got = new Promise((r) => (received = r));
  let finish;
  const answered = new Promise((r) => (finish = r));
  const c = await createContainer({
    rootfs: probe.rootfs,
    stateRoot,
    linux: { seccomp: notifyOn(['getppid']) },
    seccompNotify: {
      async handler(req) {
        request = req;
        received();
        await answered;
        return { value: 1 };
      },
      timeoutMs: 60_000,
    },
    process: { args: probeArgs(['sys', 'getppid']), stdio: 'ignore' },
  });
  await c.start();
  await got;
  t.true(request.isValid(), 'valid while the caller waits');
  await c.kill('SIGKILL');
  const status = await c.wait();
  t.is(status.signal, 'SIGKILL');
  t.false(request.isValid(), 'no longer valid once the caller died');
  finish();
  await sleep(50);
  await c.destroy();
  await assertNoLeaks(t, before, stateRoot);
});

when(noProbe, 'destroy() with a request pending ends the supervisor at once (not at the timeout)', async (t) => {
  const before = await settledSnapshot(stateRoot);
  let received;
  const got = new Promise((r) => (received = r));
  const c = await createContainer({
    rootfs: probe.rootfs,
    stateRoot,
    linux: { seccomp: notifyOn(['getppid']) },
    seccompNotify: { handler: () => (received(), new Promise(() => {})), timeoutMs: 600_000 },
    process: { args: probeArgs(['sys', 'getppid']), stdio: 'ignore' },
  });
  await c.start();
  await got;
  const t0 = Date.now();
  await c.destroy();
  t.true(Date.now() - t0 < 10_000 * slow, `destroyed in ${Date.now() - t0} ms`);
  await assertNoLeaks(t, before, stateRoot);
});

when(noProbe, "an exec'd process with its own NOTIFY profile gets its own listener, answered by the container's handler", async (t) => {
  const before = await settledSnapshot(stateRoot);
  const seen = [];
  const c = await createContainer({
    rootfs: probe.rootfs,
    stateRoot,
    linux: { seccomp: null },
    seccompNotify: { handler: (req) => (seen.push(req.pid), { value: 99 }) },
    process: { args: ['sleep', '1000'], stdio: 'ignore' },
  });
  try {
    await c.start();
    const p = await c.exec({ args: probeArgs(['sys', 'getppid'], ['sys', 'getpid']), seccomp: notifyOn(['getppid']) });
    const out = await outputOf(p);
    t.deepEqual(results(out.out)[0], { ok: 99 });
    t.deepEqual(seen, [p.pid], 'the request came from the exec');
    // An exec that takes the container's (here: no) filter has no listener: getppid is real.
    const plain = await outputOf(await c.exec({ args: probeArgs(['sys', 'getppid']) }));
    t.notDeepEqual(results(plain.out)[0], { ok: 99 });
    t.is(seen.length, 1);
  } finally {
    await c.destroy();
  }
  await assertNoLeaks(t, before, stateRoot);
});

when(noProbe, 'without no_new_privs the listener arrives during setup, and the supervisor already answers there', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const r = await run({
    rootfs: probe.rootfs,
    stateRoot,
    linux: { seccomp: notifyOn(['getppid']) },
    seccompNotify: { handler: () => ({ value: 5 }) },
    process: { args: probeArgs(['sys', 'getppid']), noNewPrivileges: false },
  });
  t.deepEqual(results(r.stdout), [{ ok: 5 }]);
  await assertNoLeaks(t, before, stateRoot);
});

/**
 * An OCI seccomp agent: a unix server whose first message carries the
 * container process state and the listener; it answers every getppid with
 * `value` through the same native ioctls. Node reads no byte of its own
 * (pauseOnConnect): the fd is taken with recvmsg.
 */
async function startAgent(value) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-agent-'));
  const socketPath = path.join(dir, 'agent.sock');
  const got = { state: null, requests: [] };
  const cleanups = [];
  let delivered;
  const ready = new Promise((r) => (delivered = r));
  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    const fd = socket._handle.fd;
    const poll = setInterval(() => {
      const m = native.recvWithFds(fd);
      if (m === null) return;
      clearInterval(poll);
      socket.destroy();
      if (m.eof) return;
      got.state = JSON.parse(m.data.toString());
      const [listener, ...extra] = m.fds;
      for (const x of extra) native.close(x);
      const watch = new native.FdWatch(listener, () => {
        const req = native.notifRecv(listener);
        if (req === null) return;
        if (req.hup) {
          cleanup();
          return;
        }
        got.requests.push(req);
        native.notifSend(listener, req.id, 0, value, 0);
      });
      let closed = false;
      const cleanup = () => {
        if (closed) return;
        closed = true;
        watch.stop();
        native.close(listener);
      };
      cleanups.push(cleanup);
      delivered();
    }, 5);
    cleanups.push(() => clearInterval(poll));
  });
  await new Promise((r) => server.listen(socketPath, r));
  return {
    socketPath,
    got,
    ready,
    async close() {
      for (const c of cleanups) c();
      await new Promise((r) => server.close(r));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

when(noProbe, 'listenerPath: the agent gets the listener and the container process state (fds, pid, metadata, state), and answers; berth keeps no copy', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const agent = await startAgent(777);
  try {
    const c = await createContainer({
      rootfs: probe.rootfs,
      stateRoot,
      annotations: { team: 'graders' },
      linux: { seccomp: notifyOn(['getppid'], { listenerPath: agent.socketPath, listenerMetadata: 'tenant=7' }) },
      process: { args: probeArgs(['sys', 'getppid']), stdio: ['ignore', 'pipe', 'ignore'] },
    });
    const out = await outputOf(await c.start());
    await agent.ready;
    t.deepEqual(results(out.out), [{ ok: 777 }]);
    const s = agent.got.state;
    t.is(s.ociVersion, '1.2.0');
    t.deepEqual(s.fds, ['seccompFd']);
    t.is(s.pid, c.pid);
    t.is(s.metadata, 'tenant=7');
    t.is(s.state.id, c.id);
    t.is(s.state.pid, c.pid);
    t.true(['creating', 'created'].includes(s.state.status), s.state.status);
    t.deepEqual(s.state.annotations, { team: 'graders' });
    t.is(agent.got.requests.length, 1);
    t.is(agent.got.requests[0].pid, c.pid);
    await c.destroy();
  } finally {
    await agent.close();
  }
  await assertNoLeaks(t, before, stateRoot);
});

when(noProbe, 'listenerPath with no agent there: start() rejects with a SetupError naming the socket, and nothing is left', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const missing = path.join(os.tmpdir(), `berth-no-agent-${process.pid}.sock`);
  const c = await createContainer({
    rootfs: probe.rootfs,
    stateRoot,
    linux: { seccomp: notifyOn(['getppid'], { listenerPath: missing }) },
    process: { args: probeArgs(['sys', 'getppid']), stdio: 'ignore' },
  });
  const err = await t.throwsAsync(c.start(), { instanceOf: SetupError });
  t.is(err.step, 'seccomp');
  t.is(err.path, missing);
  t.is(err.errno, 'ENOENT');
  t.is(err.syscall, 'connect');
  await c.destroy();
  await assertNoLeaks(t, before, stateRoot);
});

when(noProbe, 'bad notify inputs are ConfigErrors naming the field, and nothing is created', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const handler = () => ({ allow: true });
  const cases = [
    [{ linux: { seccomp: { defaultAction: 'SCMP_ACT_NOTIFY' } }, seccompNotify: { handler } }, 'linux.seccomp.defaultAction'],
    [{ linux: { seccomp: notifyOn(['mkdir', 'write']) }, seccompNotify: { handler } }, 'linux.seccomp.syscalls[0].names[1]'],
    [{ linux: { seccomp: notifyOn(['sendmsg']) }, seccompNotify: { handler } }, 'linux.seccomp.syscalls[0].names[0]'],
    [{ linux: { seccomp: notifyOn(['mkdir']) } }, 'linux.seccomp.syscalls[0].action'],
    [{ linux: { seccomp: notifyOn(['mkdir'], { listenerPath: '/run/agent.sock' }) }, seccompNotify: { handler } }, 'linux.seccomp.listenerPath'],
    [{ linux: { seccomp: notifyOn(['mkdir'], { listenerPath: 'agent.sock' }) } }, 'linux.seccomp.listenerPath'],
    [{ linux: { seccomp: notifyOn(['mkdir']) }, seccompNotify: { handler, timeoutMs: -1 } }, 'seccompNotify.timeoutMs'],
    [{ linux: { seccomp: notifyOn(['mkdir']) }, seccompNotify: { handler: 'allow' } }, 'seccompNotify.handler'],
  ];
  for (const [extra, field] of cases) {
    const err = await t.throwsAsync(createContainer({ rootfs: probe.rootfs, stateRoot, process: { args: ['true'] }, ...extra }), { instanceOf: ConfigError });
    t.is(err?.field, field, err?.message);
  }
  t.deepEqual(stateEntries(stateRoot), before.state);
  // An exec's own NOTIFY profile needs the container's handler too: refused before any process exists.
  const c = await createContainer({ rootfs: probe.rootfs, stateRoot, linux: { seccomp: null }, process: { args: ['sleep', '1000'], stdio: 'ignore' } });
  try {
    await c.start();
    const err = await t.throwsAsync(c.exec({ args: ['/probe', 'sys', 'getppid'], seccomp: notifyOn(['getppid']) }), { instanceOf: ConfigError });
    t.is(err?.field, 'process.seccomp.syscalls[0].action');
    t.deepEqual(await c.processes(), [c.pid]);
  } finally {
    await c.destroy();
  }
  await assertNoLeaks(t, before, stateRoot);
});

test('features() reports SCMP_ACT_NOTIFY, and WAIT_KILLABLE_RECV where the kernel has it (5.19+)', (t) => {
  const { seccomp } = features().linux;
  t.true(seccomp.actions.includes('SCMP_ACT_NOTIFY'));
  const [major, minor] = os.release().split('.').map(Number);
  t.is(seccomp.supportedFlags.includes('SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'), major > 5 || (major === 5 && minor >= 19));
});

const noKillableRecv =
  noProbe ?? (features().linux.seccomp.supportedFlags.includes('SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV') ? undefined : 'this kernel has no SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (5.19+); the VM lane (6.1) runs it');
if (noKillableRecv) console.log(`seccomp-notify: WAIT_KILLABLE_RECV test skipped: ${noKillableRecv}`);

when(noKillableRecv, 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV with a listener: accepted by the kernel, requests still answered', async (t) => {
  const r = await run({
    rootfs: probe.rootfs,
    stateRoot,
    linux: { seccomp: notifyOn(['getppid'], { flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] }) },
    seccompNotify: { handler: () => ({ value: 31 }) },
    process: { args: probeArgs(['sys', 'getppid']) },
  });
  t.deepEqual(results(r.stdout), [{ ok: 31 }]);
});
