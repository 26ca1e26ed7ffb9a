// podman's own cost of a bridge network and one port mapping on this machine,
// for the network scenario: `podman run --rm --network none` vs `--network
// bridge -p 80` of /bin/true, with Debian's podman 4.3 and its CNI backend
// (containernetworking-plugins: bridge, host-local, portmap, firewall — iptables),
// runtime runc (crun 1.8 refuses this hybrid cgroup layout). Everything podman
// keeps is under a directory of the bench's (storage, run root, tmp, CNI
// config); each call runs in the stand-in host's network namespace (so
// cni-podman0 and its iptables rules exist only there) and in a private mount
// namespace with tmpfs over /var/lib (CNI's IPAM state, podman's caches) and
// /run/netns (the container's namespace file). Afterwards podman's cgroup
// parent (libpod_parent, empty once its containers are gone) is removed.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { privatePodman, shellQuote as q } from '../podman-private.js';


export function podmanNetworkMissing() {
  for (const [tool, pkg] of [['podman', 'podman'], ['runc', 'runc'], ['iptables', 'iptables'], ['nsenter', 'util-linux']]) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is not installed (apt-get install ${pkg})`;
    }
  }
  if (!fs.existsSync('/usr/lib/cni/bridge')) return 'no CNI plugins (apt-get install containernetworking-plugins)';
  return undefined;
}

function time(args, env) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(args[0], args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code === 0) resolve(ms);
      else reject(new Error(`podman exited ${code}: ${err.trim().split('\n').at(-1)}`));
    });
  });
}

/** Runners for interleave() and a cleanup; `netns`: the stand-in host's namespace path. */
export async function podmanNetworkArms(netns, rootfs) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-podman-net-'));
  const { env, globals } = privatePodman(dir, { cgroupManager: 'cgroupfs' });
  const podman = ['podman', ...globals, '--runtime', 'runc'];
  const wrap = (cmd) => ['nsenter', `--net=${netns}`, 'unshare', '-m', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs berth-bench /var/lib && mkdir -p /run/netns && mount -t tmpfs berth-bench /run/netns && ${cmd}`];
  execFileSync('tar', ['-C', rootfs, '-cf', path.join(dir, 'rootfs.tar'), '.']);
  const image = 'localhost/berth-bench/rootfs:1';
  await time(wrap(`exec ${[...podman, 'import', path.join(dir, 'rootfs.tar'), image].map(q).join(' ')}`), env);
  // podman's default ulimits ask for more than this machine's hard limits (runc's setrlimit: EPERM): the container's own, as small as berth's.
  const run = (net) => time(wrap(`exec ${[...podman, 'run', '--rm', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', '--network', ...net, image, '/bin/true'].map(q).join(' ')}`), env);
  return {
    runners: [
      { name: 'podman --network none', run: () => run(['none']) },
      { name: 'podman --network bridge -p 80', run: () => run(['bridge', '-p', '80']) },
      // What the namespace and tmpfs wrapper costs alone (in both podman arms; their difference is podman's).
      { name: 'wrapper (nsenter+unshare+mounts) true', run: () => time(wrap('exec true'), env) },
    ],
    async cleanup() {
      await time(wrap(`exec ${[...podman, 'rm', '--all', '--force'].map(q).join(' ')}`), env).catch(() => {});
      // podman's cgroup parent (cgroupfs manager), empty now: removed deepest first.
      for (const h of fs.readdirSync('/sys/fs/cgroup')) {
        const p = path.join('/sys/fs/cgroup', h, 'libpod_parent');
        if (fs.existsSync(p)) execFileSync('find', [p, '-depth', '-type', 'd', '-exec', 'rmdir', '{}', ';'], { stdio: 'ignore' });
      }
      // podman's overlay storage may hold mounts in the private namespaces only; the directory goes.
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
