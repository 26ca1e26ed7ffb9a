// The rootless caller, for rootless.test.js: a Node process the test starts as
// an ordinary user it created (spawn's uid/gid, no supplementary groups), with
// XDG_RUNTIME_DIR set as a login session would. It waits for one line on stdin
// (the test may first move it into a delegated cgroup), uses berth's whole
// lifecycle with the defaults, and prints one JSON line of what it saw; the
// test judges. argv: <rootfs> <id prefix> <expect a cgroup: 'cgroup' | 'none'>
import fs from 'node:fs';
import { once } from 'node:events';
import { createContainer, run } from '../../dist/lib/index.js';

const [rootfs, prefix, expect] = process.argv.slice(2);
const MiB = 2 ** 20;
const errorOf = (err) => ({ name: err?.name, code: err?.code, step: err?.step, errno: err?.errno, path: err?.path, message: err?.message });
const text = (b) => String(b).trim();
const statusField = (pid, field) => new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code !== 'ESRCH';
  }
};

await once(process.stdin, "data");
process.stdin.destroy();
const out = { uid: process.getuid(), gid: process.getgid(), cgroup: fs.readFileSync('/proc/self/cgroup', 'utf8').trim() };

// 1. The defaults: a user namespace with this user as root, the state under XDG_RUNTIME_DIR.
try {
  const r = await run({
    id: `${prefix}-id`,
    rootfs,
    process: { args: ['/bin/sh', '-c', 'id; cat /proc/self/uid_map /proc/self/gid_map; ls /sys/class/net; cat /sys/class/net/lo/operstate; echo x > /dev/null && echo devnull-ok; hostname'] },
  });
  out.id = { exitCode: r.exitCode, stdout: text(r.stdout), stderr: text(r.stderr) };
} catch (err) {
  out.id = { error: errorOf(err) };
}

// 2. A running container: seen from the host it is this user; exec, a terminal, stats, destroy.
async function lifecycle(c) {
  out.stateDir = fs.existsSync(`${process.env.XDG_RUNTIME_DIR}/berth/${prefix}-life`);
  await c.start();
  out.hostUid = statusField(c.pid, 'Uid');
  const e = await c.exec({ args: ['/bin/sh', '-c', 'cat /proc/self/uid_map'] });
  const chunks = [];
  e.stdout.on('data', (d) => chunks.push(d));
  const [er] = await Promise.all([e.wait(), new Promise((r) => e.stdout.on('close', r))]);
  out.exec = { exitCode: er.exitCode, stdout: text(Buffer.concat(chunks)) };
  try {
    const t = await c.exec({ args: ['/bin/sh', '-c', 'tty; echo term-ok'], terminal: true });
    const seen = [];
    t.terminal.on('data', (d) => seen.push(d));
    const tr = await t.wait();
    // The pty's last bytes can arrive after the exit is reaped: wait for them (5 s at most).
    const until = Date.now() + 5000;
    while (!/term-ok/.test(Buffer.concat(seen).toString()) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    out.terminal = { exitCode: tr.exitCode, output: Buffer.concat(seen).toString() };
  } catch (err) {
    out.terminal = { error: errorOf(err) };
  }
  try {
    const s = await c.stats();
    out.stats = { memory: s.memory?.usage ?? s.memory?.current ?? null, pids: s.pids?.current ?? null };
  } catch (err) {
    out.stats = { error: errorOf(err) };
  }
}
try {
  const c = await createContainer({ id: `${prefix}-life`, rootfs, process: { args: ['/bin/sleep', '1000'], stdio: 'ignore' } });
  let pid;
  try {
    pid = c.pid;
    await lifecycle(c);
    pid = c.pid;
  } finally {
    await c.destroy();
  }
  out.afterDestroy = { initAlive: alive(pid), stateDir: fs.existsSync(`${process.env.XDG_RUNTIME_DIR}/berth/${prefix}-life`) };
} catch (err) {
  out.life = { error: errorOf(err) };
}

// 3. A memory limit: in force where a delegated subtree exists (memory.max of
// the init's own cgroup, read from the host while it runs), refused before
// anything exists where none does.
try {
  const c = await createContainer({
    id: `${prefix}-limited`,
    rootfs,
    linux: { resources: { memory: { limit: 64 * MiB } } },
    process: { args: ['/bin/sleep', '1000'], stdio: 'ignore' },
  });
  try {
    await c.start();
    const own = /^0::(.*)$/m.exec(fs.readFileSync(`/proc/${c.pid}/cgroup`, 'utf8'))?.[1];
    out.limited = { cgroup: own, memoryMax: fs.readFileSync(`/sys/fs/cgroup${own}/memory.max`, 'utf8').trim() };
  } finally {
    await c.destroy();
  }
} catch (err) {
  out.limited = { error: errorOf(err), stateDir: fs.existsSync(`${process.env.XDG_RUNTIME_DIR}/berth/${prefix}-limited`) };
}
// 4. Ranges beyond itself without an /etc/subuid grant: newuidmap refuses
// (or is missing), a SETUP_FAILED naming the step, nothing left behind.
try {
  const wide = [{ containerID: 0, hostID: out.uid, size: 1 }, { containerID: 1, hostID: 3000000, size: 1000 }];
  const r = await run({ id: `${prefix}-wide`, rootfs, linux: { uidMappings: wide, gidMappings: wide.map((m, i) => (i === 0 ? { ...m, hostID: out.gid } : m)) }, process: { args: ['/bin/true'] } });
  out.wide = { exitCode: r.exitCode };
} catch (err) {
  out.wide = { error: errorOf(err), stateDir: fs.existsSync(`${process.env.XDG_RUNTIME_DIR}/berth/${prefix}-wide`) };
}
out.expect = expect;
out.leftover = fs.existsSync(`${process.env.XDG_RUNTIME_DIR}/berth`) ? fs.readdirSync(`${process.env.XDG_RUNTIME_DIR}/berth`).filter((n) => n.startsWith(prefix)) : [];
process.stdout.write(`${JSON.stringify(out)}\n`);
