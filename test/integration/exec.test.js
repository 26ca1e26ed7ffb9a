// exec into a running container: same namespaces, root and files as the init,
// the process options, errors, and no leaks.
import test from 'ava';
import fs from 'node:fs';
import { createContainer } from '../../dist/lib/index.js';
import { assertNoLeaks, quiesce, ROOTFS, settledSnapshot, stateRootFor } from './helpers.js';

const stateRoot = stateRootFor('exec');

async function running(extra = {}) {
  const c = await createContainer({ rootfs: ROOTFS, stateRoot, hostname: 'exec-box', ...extra, process: { args: ['/bin/sh', '-c', 'echo from-init > /dev/shm/marker; exec sleep 1000'], ...(extra.process ?? {}) } });
  try {
    await c.start();
    // wait until the init has written its marker
    for (let i = 0; i < 100; i++) {
      const p = await c.exec({ args: ['cat', '/dev/shm/marker'], stdio: ['ignore', 'ignore', 'ignore'] });
      if ((await p.wait()).exitCode === 0) break;
    }
    return c;
  } catch (err) {
    await c.destroy(); // a failed setup must not leave a running container behind
    throw err;
  }
}

async function output(p) {
  const chunks = [];
  p.stdout.on('data', (d) => chunks.push(d));
  const [status] = await Promise.all([p.wait(), new Promise((r) => p.stdout.on('close', r))]);
  return { ...status, out: Buffer.concat(chunks).toString() };
}

test.serial('the exec\'d process sees the init, its hostname, files and namespaces', async (t) => {
  const c = await running();
  try {
    const r = await output(await c.exec({ args: ['sh', '-c', 'ps -o pid,comm | tr -s " " | sed 1d; hostname; cat /dev/shm/marker'] }));
    t.is(r.exitCode, 0);
    const lines = r.out.trim().split('\n').map((l) => l.trim());
    t.true(lines.includes('1 sleep'), r.out);
    t.true(lines.includes('exec-box'));
    t.true(lines.includes('from-init'));
    const p = await c.exec({ args: ['sleep', '100'] });
    for (const ns of ['mnt', 'pid', 'net', 'ipc', 'uts', 'cgroup']) {
      t.is(fs.readlinkSync(`/proc/${p.pid}/ns/${ns}`), fs.readlinkSync(`/proc/${c.pid}/ns/${ns}`), ns);
    }
    t.is(fs.readlinkSync(`/proc/${p.pid}/root`), fs.readlinkSync(`/proc/${c.pid}/root`));
    p.kill('SIGKILL');
    await p.wait();
  } finally {
    await c.destroy();
  }
});

test.serial('user, additional groups, env, cwd, rlimits and capabilities of the exec', async (t) => {
  const c = await running({ process: { env: { FROM_INIT: 'yes' } } });
  try {
    const r = await output(await c.exec({
      args: ['sh', '-c', 'id -u; id -G; echo $FOO $FROM_INIT; pwd; ulimit -n; grep CapEff /proc/self/status | cut -f2'],
      user: { uid: 1000, gid: 1000, additionalGids: [10] },
      env: { FOO: 'bar' },
      cwd: '/tmp',
      rlimits: [{ type: 'RLIMIT_NOFILE', soft: 321, hard: 321 }],
    }));
    t.deepEqual(r.out.trim().split('\n'), ['1000', '1000 10', 'bar yes', '/tmp', '321', '0000000000000000']);
    const root = await output(await c.exec({ args: ['sh', '-c', 'grep CapEff /proc/self/status | cut -f2; grep NoNewPrivs /proc/self/status | cut -f2'] }));
    t.deepEqual(root.out.trim().split('\n'), ['0000000020000420', '1'], 'the init\'s security defaults apply to exec');
    const caps = await output(await c.exec({ args: ['sh', '-c', 'grep CapEff /proc/self/status | cut -f2'], capabilities: { bounding: ['CAP_CHOWN'], effective: ['CAP_CHOWN'], permitted: ['CAP_CHOWN'] } }));
    t.is(caps.out.trim(), '0000000000000001');
  } finally {
    await c.destroy();
  }
});

test.serial('masked paths stay masked for exec', async (t) => {
  const c = await running();
  try {
    const r = await output(await c.exec({ args: ['sh', '-c', 'wc -c < /proc/keys; echo 1 > /proc/sys/kernel/domainname || echo refused'] }));
    t.deepEqual(r.out.trim().split('\n').map((s) => s.trim()), ['0', 'refused']);
  } finally {
    await c.destroy();
  }
});

test.serial('exit codes and signals of exec\'d processes propagate', async (t) => {
  const c = await running();
  try {
    t.is((await (await c.exec({ args: ['sh', '-c', 'exit 3'] })).wait()).exitCode, 3);
    const p = await c.exec({ args: ['sleep', '100'] });
    p.kill('SIGKILL');
    t.deepEqual(await p.wait(), { exitCode: null, signal: 'SIGKILL' });
    const q = await c.exec({ args: ['sh', '-c', 'kill -TERM $$; sleep 1'] });
    t.is((await q.wait()).signal, 'SIGTERM');
  } finally {
    await c.destroy();
  }
});

test.serial('exec of a missing binary rejects like start; exec into a stopped or created container rejects', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const c = await running();
  const err = await t.throwsAsync(c.exec({ args: ['/bin/nope'] }));
  t.is(err.code, 'EXECUTABLE_NOT_FOUND');
  t.is(err.path, '/bin/nope');
  const bad = await t.throwsAsync(c.exec({ args: [] }));
  t.is(bad.code, 'INVALID_CONFIG');
  t.is(bad.field, 'process.args');
  await c.destroy();
  t.is((await t.throwsAsync(c.exec({ args: ['true'] }))).code, 'INVALID_STATE');
  const created = await createContainer({ rootfs: ROOTFS, stateRoot, process: { args: ['true'] } });
  t.is((await t.throwsAsync(created.exec({ args: ['true'] }))).code, 'INVALID_STATE');
  await created.destroy();
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('processes() lists the host pids of every process in the container', async (t) => {
  const c = await running();
  try {
    const p = await c.exec({ args: ['sleep', '100'] });
    const pids = await c.processes();
    t.true(pids.includes(c.pid));
    t.true(pids.includes(p.pid));
    p.kill('SIGKILL');
    await p.wait();
    t.false((await c.processes()).includes(p.pid));
  } finally {
    await c.destroy();
  }
});

test.serial('100 concurrent execs leave no fd growth, zombie or intermediate process', async (t) => {
  const c = await running();
  try {
    await (await c.exec({ args: ['true'] })).wait(); // warm up
    await quiesce();
    const before = await settledSnapshot(stateRoot);
    const results = await Promise.all(Array.from({ length: 100 }, async () => output(await c.exec({ args: ['echo', 'ok'] }))));
    t.true(results.every((r) => r.exitCode === 0 && r.out === 'ok\n'));
    await assertNoLeaks(t, before, stateRoot);
  } finally {
    await c.destroy();
  }
});

test.serial('destroy() ends processes exec\'d into the container', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const c = await running();
  const p = await c.exec({ args: ['sleep', '1000'] });
  await c.destroy();
  t.is((await p.wait()).signal, 'SIGKILL');
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('CVE-2019-5736: a process in the container cannot open the exe or memory of a process joining it', async (t) => {
  const c = await running();
  try {
    let probe;
    const probeCaps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_DAC_OVERRIDE'];
    // Hold the joining process in the container (set up, not yet exec'd) and
    // probe it from another process inside.
    c[Symbol.for('berth.test.beforeExecStart')] = async (hostPid) => {
      c[Symbol.for('berth.test.beforeExecStart')] = undefined;
      const nsPid = fs.readFileSync(`/proc/${hostPid}/status`, 'utf8').match(/^NSpid:.*\s(\d+)$/m)[1];
      t.regex(fs.readlinkSync(`/proc/${hostPid}/exe`), /^\/memfd:berth-init/, 'the joining process runs berth-init from a sealed memfd');
      probe = await output(await c.exec({
        args: ['sh', '-c', `ls /proc/${nsPid} >/dev/null && echo visible; (echo x >> /proc/${nsPid}/exe) 2>&1; (head -c 1 /proc/${nsPid}/exe) 2>&1; (head -c 1 /proc/${nsPid}/mem) 2>&1; readlink /proc/${nsPid}/exe || echo no-readlink`],
        // A superset of the joining process's capabilities (it already holds only
        // the exec's set), so ptrace's capability check alone would let it in:
        // non-dumpable is what must stop it.
        capabilities: { bounding: probeCaps, effective: probeCaps, permitted: probeCaps },
      }));
    };
    const p = await c.exec({ args: ['true'] });
    t.is((await p.wait()).exitCode, 0);
    t.regex(probe.out, /^visible\n/, 'the process is there to attack');
    t.is((probe.out.match(/Permission denied/g) ?? []).length, 3, probe.out);
    t.regex(probe.out, /no-readlink/);
  } finally {
    await c.destroy();
  }
});

test.serial('oomScoreAdj and ioPriority of the exec', async (t) => {
  const c = await running();
  try {
    const p = await c.exec({ args: ['sh', '-c', 'cat /proc/self/oom_score_adj; exec sleep 100'], oomScoreAdj: 500, ioPriority: { class: 'IOPRIO_CLASS_IDLE', priority: 0 } });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    for (let i = 0; i < 200 && !out; i++) await new Promise((r) => setTimeout(r, 10));
    t.is(out.trim(), '500');
    const bad = await t.throwsAsync(c.exec({ args: ['true'], ioPriority: { class: 'NOPE', priority: 0 } }));
    t.is(bad.field, 'process.ioPriority.class');
    p.kill('SIGKILL');
    await p.wait();
  } finally {
    await c.destroy();
  }
});
