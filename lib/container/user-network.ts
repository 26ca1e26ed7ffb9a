// User-mode networking (config.network { mode: 'pasta' }): pasta(1) from
// Debian's passt package, started in the create hooks' pause (the init waits
// before pivot_root, its namespaces exist, its program has not run), so the
// network is there when the program starts. pasta configures the namespace
// (a tap device with the host's addresses and routes), forks to the background
// and exits: its exit says the namespace is ready. The background process
// serves the tap until the namespace goes (it quits on its own then); destroy
// ends it too, by the pid and start time state.json records, so any process's
// destroy does. Port forwards are pasta's own listening sockets on the host:
// no NAT rule, no privilege. The container reaches the host's loopback only
// with hostLoopback (pasta's gateway mapping), never by default.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { UserNetworkRecord } from '../../types/api.js';
import type { ResolvedConfig } from '../config/normalize.js';
import type { ResolvedPortMapping } from '../config/network.js';
import { NetworkError } from '../network/errors.js';
import { isRunning, processStartTime } from '../state/state-dir.js';

const PASTA = 'pasta';
const START_TIMEOUT_MS = 10_000;

/** A free port of `protocol` on `hostIp` (hostPort 0): bound by us, released, then pasta's. */
async function freePort(protocol: 'tcp' | 'udp', hostIp: string | undefined): Promise<number> {
  if (protocol === 'udp') {
    const dgram = await import('node:dgram');
    const s = dgram.createSocket(hostIp?.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => (s.once('error', reject), s.bind(0, hostIp, () => resolve())));
    const port = s.address().port;
    s.close();
    return port;
  }
  const srv = net.createServer();
  await new Promise<void>((resolve, reject) => (srv.once('error', reject), srv.listen(0, hostIp, () => resolve())));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** pasta's -t/-u argument: [ADDR/]PORT:TARGET. */
function forwardSpec(p: ResolvedPortMapping, hostPort: number): string {
  return `${p.hostIp !== undefined ? `${p.hostIp}/` : ''}${hostPort}:${p.containerPort}`;
}

export function pastaArgs(opts: { pid: number; ownUserns: boolean; pidFile: string; ports: Array<ResolvedPortMapping & { bound: number }>; hostLoopback: boolean }): string[] {
  const tcp = opts.ports.filter((p) => p.protocol === 'tcp');
  const udp = opts.ports.filter((p) => p.protocol === 'udp');
  return [
    '--config-net',
    '--quiet',
    // Nothing from the container to the host's ports but what the caller asked for.
    '-T', 'none',
    '-U', 'none',
    ...(tcp.length ? tcp.flatMap((p) => ['-t', forwardSpec(p, p.bound)]) : ['-t', 'none']),
    ...(udp.length ? udp.flatMap((p) => ['-u', forwardSpec(p, p.bound)]) : ['-u', 'none']),
    ...(opts.hostLoopback ? [] : ['--no-map-gw']),
    '--pid', opts.pidFile,
    ...(opts.ownUserns ? ['--userns', `/proc/${opts.pid}/ns/user`] : []),
    '--netns', `/proc/${opts.pid}/ns/net`,
  ];
}

function failed(message: string, detail: { errno?: string; cause?: unknown; field: string }): NetworkError {
  return new NetworkError(detail.errno === 'EADDRINUSE' ? 'PORT_IN_USE' : 'NETWORK_FAILED', `${detail.field} (pasta): ${message}`, {
    step: 'network',
    ...(detail.errno ? { errno: detail.errno } : {}),
    ...(detail.cause ? { cause: detail.cause } : {}),
  });
}

/** Starts pasta for the init `pid`; resolves with what state.json records once the namespace is configured. */
export async function startUserNetwork(config: ResolvedConfig, pid: number, stateDir: string): Promise<UserNetworkRecord> {
  const un = config.userNetwork!;
  const ports = await Promise.all(un.ports.map(async (p) => ({ ...p, bound: p.hostPort === 0 ? await freePort(p.protocol, p.hostIp) : p.hostPort })));
  const pidFile = path.join(stateDir, 'pasta.pid');
  const args = pastaArgs({ pid, ownUserns: config.userns?.mode === 'new', pidFile, ports, hostLoopback: un.hostLoopback });
  const { code, stderr, error } = await new Promise<{ code: number | null; stderr: string; error?: NodeJS.ErrnoException }>((resolve) => {
    const child = spawn(PASTA, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), START_TIMEOUT_MS);
    child.on('error', (e) => (clearTimeout(timer), resolve({ code: null, stderr: err, error: e })));
    child.on('close', (c) => (clearTimeout(timer), resolve({ code: c, stderr: err })));
  });
  if (error) {
    throw failed(error.code === 'ENOENT' ? 'pasta is not installed (Debian: apt-get install passt)' : `cannot run pasta: ${error.message}`, { field: un.field, ...(error.code ? { errno: error.code } : {}), cause: error });
  }
  if (code !== 0) {
    const text = stderr.trim().split('\n').slice(-3).join('; ');
    throw failed(`pasta exited with ${code}: ${text || 'no message'}`, { field: un.field, ...(/in use/i.test(stderr) ? { errno: 'EADDRINUSE' } : {}) });
  }
  const pastaPid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  const startTime = Number.isInteger(pastaPid) && pastaPid > 0 ? processStartTime(pastaPid) : undefined;
  // What pasta made in the namespace: its tap, named after the host's upstream
  // interface (read through the init's /proc: no setns, which a rootless caller may not do here).
  let iface = '';
  try {
    const dev = fs.readFileSync(`/proc/${pid}/net/dev`, 'utf8');
    iface = dev.split('\n').slice(2).map((l) => l.split(':')[0]!.trim()).find((n) => n !== '' && n !== 'lo') ?? '';
  } catch {
    // the name is for container.networks only
  }
  return {
    mode: 'pasta',
    ...(startTime !== undefined ? { pid: pastaPid, startTime } : {}),
    interface: iface,
    ports: ports.map((p) => ({ protocol: p.protocol, family: p.hostIp?.includes(':') ? 6 : 4, ...(p.hostIp !== undefined ? { hostIp: p.hostIp } : {}), hostPort: p.bound, containerIp: '', containerPort: p.containerPort })),
  };
}

/** Ends the pasta a record names (if it is still that process: pid and start time); waits for it to go. Never throws. */
export async function stopUserNetwork(record: UserNetworkRecord | undefined): Promise<void> {
  if (!record || record.pid === undefined) return;
  const { pid, startTime } = record;
  if (!isRunning(pid, startTime)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 200 && isRunning(pid, startTime); i++) await new Promise((r) => setTimeout(r, 5));
  if (isRunning(pid, startTime)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}
