// (8) What a bridge network costs at startup, in one interleaved run: berth
// run() of /bin/true in a new network namespace with nothing in it (lo only),
// attached to a bridge network (a lease, a veth into the namespace, its
// address and default route, /etc/hosts, /etc/hostname and /etc/resolv.conf
// bound in, the member record and the detach at destroy), and attached with
// one port mapping too (hostPort 0: a picked port, its two nft elements made
// and removed). The bridge and berth's nft table live in a network namespace
// the bench makes (`unshare --net sleep infinity`, killed by pid): the
// machine's own network is never touched. The containers run from a private
// copy of the rootfs (the /etc files' mount points are made there, not in the
// fixture). podman's own cost of the same is measured beside it (network-podman.js).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { berthConfig, timeBerthRun } from '../berth.js';
import { makeSpec } from '../bundle.js';
import { CGROUP_PARENT } from '../hygiene.js';
import { interleave } from '../interleave.js';
import { summarize } from '../stats.js';
import { podmanNetworkArms, podmanNetworkMissing } from './network-podman.js';

// podman's arms take ~0.4-0.9 s a run: fewer rounds of them, right after berth's.
const PODMAN_ROUNDS = 15;

/** A network namespace held by a sleep of ours, standing in for the host. */
async function standInHost() {
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
  return {
    path: nsPath,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export async function network(ctx, rounds) {
  const { berth } = ctx;
  if (typeof berth.createNetwork !== 'function') return { skipped: 'this berth has no createNetwork' };
  const rootfs = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-network-rootfs-'));
  execFileSync('cp', ['-a', `${ctx.rootfs}/.`, rootfs]);
  const host = await standInHost();
  const name = `bench-${process.pid}`;
  let made = false;
  try {
    await berth.createNetwork({ name, subnet: '10.199.0.0/16', netns: host.path, stateRoot: ctx.stateRoot });
    made = true;
    const spec = makeSpec({ rootfs, args: ['/bin/true'], cgroupsPath: `${CGROUP_PARENT}/network` });
    const runners = [
      { name: 'no network (lo only)', run: () => timeBerthRun(berth, berthConfig(spec, ctx.stateRoot)) },
      { name: 'bridge network', run: () => timeBerthRun(berth, { ...berthConfig(spec, ctx.stateRoot), network: { name } }) },
      { name: 'bridge + 1 port mapping', run: () => timeBerthRun(berth, { ...berthConfig(spec, ctx.stateRoot), network: { name, ports: [{ hostPort: 0, containerPort: 80 }] } }) },
    ];
    const { samples, dropped } = await interleave(runners, rounds, { label: 'network: startup' });
    // podman's own cost of the same on this machine, in the same stand-in host, right after.
    const podmanSkip = podmanNetworkMissing();
    let podman = podmanSkip ? { skipped: podmanSkip } : null;
    if (!podmanSkip) {
      const arms = await podmanNetworkArms(host.path, rootfs);
      try {
        const r = await interleave(arms.runners, Math.min(rounds, PODMAN_ROUNDS), { label: 'network: podman' });
        Object.assign(samples, r.samples);
        Object.assign(dropped, r.dropped);
        podman = { rounds: Math.min(rounds, PODMAN_ROUNDS), backend: 'CNI (containernetworking-plugins), runtime runc' };
      } finally {
        await arms.cleanup();
      }
    }
    const stats = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
    const p50 = (k) => (stats[k]?.n ? stats[k].p50 : null);
    const delta = (a, b) => (p50(a) != null && p50(b) != null ? Math.round((p50(a) - p50(b)) * 1000) / 1000 : null);
    return {
      rounds,
      stats,
      dropped,
      podman,
      deltaMs: {
        bridge: delta('bridge network', 'no network (lo only)'),
        bridgeAndPort: delta('bridge + 1 port mapping', 'no network (lo only)'),
        port: delta('bridge + 1 port mapping', 'bridge network'),
        podmanBridgeAndPort: delta('podman --network bridge -p 80', 'podman --network none'),
      },
    };
  } finally {
    if (made) await berth.removeNetwork(name, { stateRoot: ctx.stateRoot }).catch((e) => console.error(`network: removeNetwork failed: ${e.message}`));
    await host.stop();
    fs.rmSync(rootfs, { recursive: true, force: true });
  }
}
