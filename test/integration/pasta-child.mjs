// The rootless caller of network-pasta.test.js: as an ordinary user (the test
// made it), a container with user-mode networking (pasta): a port forward from
// the host's loopback to a server in the container, and (hostLoopback) the
// container reaching a server on the host's loopback through its gateway
// address. Prints one JSON line of what it saw. argv: <rootfs> <host server port>
import net from 'node:net';
import fs from 'node:fs';
import { createContainer, loadContainer } from '../../dist/lib/index.js';

const [rootfs, hostPort] = process.argv.slice(2);
const out = { uid: process.getuid() };
const errorOf = (err) => ({ code: err?.code, step: err?.step, errno: err?.errno, message: err?.message });
const collect = (s) => {
  const chunks = [];
  s?.on('data', (d) => chunks.push(d));
  return () => Buffer.concat(chunks).toString();
};
// Alive: there and not a zombie (pasta's background process is reparented to whoever reaps orphans here).
const pastaAlive = (r) => {
  try {
    const stat = fs.readFileSync(`/proc/${r.pid}/stat`, 'utf8');
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]);
  } catch {
    return false;
  }
};

try {
  // 1. A server in the container, reached from the host's 127.0.0.1 through pasta's forward (hostPort 0: picked).
  const c = await createContainer({
    rootfs,
    network: { mode: 'pasta', ports: [{ hostPort: 0, containerPort: 8080, hostIp: '127.0.0.1' }] },
    process: { args: ['/bin/sh', '-c', 'ip -o link | grep -v " lo:" | wc -l; echo served | nc -l -p 8080'], stdio: ['ignore', 'pipe', 'pipe'] },
  });
  const stdout = collect(c.process.stdout);
  const stderr = collect(c.process.stderr);
  out.networks = c.networks;
  const state = await c.state();
  out.pastaRunning = pastaAlive(state.userNetwork);
  await c.start();
  const port = c.networks[0].ports[0].hostPort;
  let reply = '';
  for (let i = 0; i < 50 && reply === ''; i++) {
    reply = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      let d = '';
      s.on('data', (x) => (d += x));
      s.on('end', () => resolve(d));
      s.on('error', () => setTimeout(() => resolve(''), 100));
    });
  }
  out.forward = reply;
  out.exit = (await c.wait()).exitCode;
  out.inside = stdout().trim();
  out.stderr = stderr();
  await c.destroy();
  out.pastaAfterDestroy = pastaAlive(state.userNetwork);
} catch (err) {
  out.forwardError = errorOf(err);
}

try {
  // 2. hostLoopback: the container reaches the host's 127.0.0.1:<hostPort> at its gateway address; without it, it cannot.
  const probe = `gw=$(ip route | awk '/^default/ {print $3; exit}'); r=$(timeout 3 nc $gw ${hostPort} </dev/null | head -n1); echo "\${r:-unreachable}"`;
  const results = {};
  for (const hostLoopback of [true, false]) {
    const c = await createContainer({ rootfs, network: { mode: 'pasta', hostLoopback }, process: { args: ['/bin/sh', '-c', probe], stdio: ['ignore', 'pipe', 'pipe'] } });
    const stdout = collect(c.process.stdout);
    const stderr = collect(c.process.stderr);
    const rec = (await c.state()).userNetwork;
    await c.start();
    await c.wait();
    results[hostLoopback] = stdout().trim();
    results[`${hostLoopback}-stderr`] = stderr().trim();
    // Destroyed from another handle (as another process would): the record is all it needs.
    await (await loadContainer(c.id)).destroy();
    await c.destroy();
    results[`${hostLoopback}-pastaRan`] = rec?.pid !== undefined;
    results[`${hostLoopback}-pastaAfter`] = pastaAlive(rec);
  }
  out.loopback = results;
} catch (err) {
  out.loopbackError = errorOf(err);
}
console.log(JSON.stringify(out));
