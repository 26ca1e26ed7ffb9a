// Network namespaces the network tests make themselves (the machine's own
// network is never touched): one held by a `sleep` of ours, ended by pid; a
// proof that a namespace is gone (a witness veth with its peer in it
// disappears with it); a command run inside one.
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Rtnetlink } from '../../dist/lib/network/rtnetlink.js';
import { processStartTime } from '../../dist/lib/state/state-dir.js';

const run = promisify(execFile);

/**
 * A fresh network namespace held by a sleep of ours: { pid, path, ino, owner(id), kill() }.
 * `made` collects its inode (a file's final check looks for processes left in one); t.teardown kills it.
 */
export async function makeNetns(t, made) {
  const self = fs.readlinkSync('/proc/self/ns/net');
  const child = spawn('unshare', ['--net', 'sleep', 'infinity'], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const nsPath = `/proc/${child.pid}/ns/net`;
  for (const deadline = Date.now() + 5000; ; await sleep(5)) {
    let link;
    try {
      link = fs.readlinkSync(nsPath);
    } catch {
      // not there yet
    }
    if (link && link !== self) break;
    if (Date.now() > deadline) throw new Error('unshare --net did not make a namespace in 5 s');
  }
  const ino = fs.statSync(nsPath).ino;
  made?.push(ino);
  const ns = {
    pid: child.pid,
    path: nsPath,
    ino,
    /** This namespace's process as a lease owner: the lease lives as long as the namespace. */
    owner: (id) => ({ id, pid: child.pid, startTime: processStartTime(child.pid) }),
    async kill() {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
      await exited;
    },
  };
  t.teardown(() => ns.kill());
  return ns;
}

/** Polls until fn() is true (a namespace's death is finished by a kernel workqueue). */
export async function eventually(fn, ms = 10_000) {
  for (const deadline = Date.now() + ms; ; await sleep(20)) {
    if (await fn()) return true;
    if (Date.now() > deadline) return false;
  }
}

/**
 * Ends the namespaces and proves they are gone: a veth made from a third
 * namespace with its peer in each one disappears once the namespace is
 * destroyed (its devices go with it, and a veth takes its peer along).
 */
export async function endAndWitness(t, observer, spaces) {
  const o = Rtnetlink.open(observer.path);
  try {
    spaces.forEach((ns, i) => o.createVeth(`witness${i}`, `w${i}`, { peerNetns: ns.path }));
    for (const ns of spaces) await ns.kill();
    for (let i = 0; i < spaces.length; i++) {
      t.true(await eventually(() => o.findLink(`witness${i}`) === undefined), `namespace ${spaces[i].path} (inode ${spaces[i].ino}) was destroyed`);
    }
  } finally {
    o.close();
  }
  await observer.kill();
}

/** stdout of a command run in the namespace (nsenter --net). */
export async function inNetns(ns, ...cmd) {
  return (await run('nsenter', [`--net=${ns.path}`, ...cmd])).stdout;
}

const DIST = new URL('../../dist/lib', import.meta.url).pathname;
/** The nft binary by path: under npx, node_modules/.bin comes first in PATH, and @vercel/nft (a dependency's) is called nft too. */
export const NFT = ['/usr/sbin/nft', '/sbin/nft'].find((p) => fs.existsSync(p));

/**
 * Why a network test file cannot run here, or undefined: root, the namespace
 * tools, iproute2's ip (the real host is compared as `ip -j` prints it;
 * busybox's has no -j), and with `nft` the nft binary and libnftables.
 */
export function networkTestsMissing({ tools = [], nft = false } = {}) {
  if (process.getuid() !== 0) return 'needs root';
  for (const tool of ['unshare', 'nsenter', 'ip', ...tools]) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0) return `${tool} is not installed`;
  }
  if (spawnSync('ip', ['-j', 'link']).status !== 0) return "this ip is not iproute2's (no -j: apt-get install iproute2)";
  if (!nft) return undefined;
  if (!NFT) return 'the nft binary is not installed (apt-get install nftables; the tests read the rules with it)';
  const lib = spawnSync(process.execPath, ['--input-type=module', '-e', `import { nftablesAvailable } from '${DIST}/network/nftables.js'; const r = await nftablesAvailable(); process.stdout.write(r.available ? '' : r.reason);`]);
  return lib.stdout.length > 0 ? lib.stdout.toString() : undefined;
}

/** The real host's network as `ip -j` reports it, its forwarding switches, and with `nft` its whole ruleset: compared before and after a file. */
export function hostNetwork({ nft = false } = {}) {
  const ip = (...args) => execFileSync('ip', ['-j', ...args]).toString();
  return {
    addr: ip('addr'),
    link: ip('link'),
    route: ip('route'),
    route6: ip('-6', 'route'),
    forward: fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8'),
    forward6: fs.readFileSync('/proc/sys/net/ipv6/conf/all/forwarding', 'utf8'),
    ...(nft ? { nft: execFileSync(NFT, ['-j', 'list', 'ruleset']).toString() } : {}),
  };
}
