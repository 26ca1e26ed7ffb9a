// podman with everything under a directory of its own, for the tests that load
// berth's exports into it (image-export, image-commit); and what podman would
// leave on the host if it did not keep to that directory.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Why podman cannot run here (undefined: it can). */
export function podmanMissing() {
  if (process.getuid() !== 0) return 'needs root';
  if (spawnSync('podman', ['--version']).status !== 0) return 'podman is not installed (sh scripts/ensure-packages.sh test podman)';
  if (spawnSync('unshare', ['-m', 'true']).status !== 0) return 'unshare -m does not work here';
  return undefined;
}

/**
 * podman with everything of its own under `dir`: storage (vfs), run root, tmp
 * dir (file locks, no /dev/shm lock), events log, network config; run inside
 * a private mount namespace with a tmpfs over /var/lib, where podman 4.3 keeps
 * its blob-info cache whatever --root says.
 */
export function isolatedPodman(dir) {
  fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'storage.conf'), `[storage]\ndriver = "vfs"\nrunroot = ${JSON.stringify(path.join(dir, 'run'))}\ngraphroot = ${JSON.stringify(path.join(dir, 'storage'))}\n`);
  fs.writeFileSync(
    path.join(dir, 'containers.conf'),
    `[network]\nnetwork_config_dir = ${JSON.stringify(path.join(dir, 'cni'))}\n[engine]\nevents_logger = "file"\nevents_logfile_path = ${JSON.stringify(path.join(dir, 'events.log'))}\nlock_type = "file"\ntmp_dir = ${JSON.stringify(path.join(dir, 'tmp'))}\n`,
  );
  fs.writeFileSync(path.join(dir, 'registries.conf'), '');
  const env = {
    ...process.env,
    CONTAINERS_CONF: path.join(dir, 'containers.conf'),
    CONTAINERS_STORAGE_CONF: path.join(dir, 'storage.conf'),
    CONTAINERS_REGISTRIES_CONF: path.join(dir, 'registries.conf'),
  };
  const globals = ['--root', path.join(dir, 'storage'), '--runroot', path.join(dir, 'run'), '--tmpdir', path.join(dir, 'tmp'), '--storage-driver', 'vfs'];
  const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
  return (args) =>
    new Promise((resolve, reject) => {
      const cmd = `mount -t tmpfs -o mode=0755 berth-test /var/lib && exec podman ${[...globals, ...args].map(q).join(' ')}`;
      const p = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', cmd], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
      p.on('error', reject);
      p.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
}

export const HOST_PATHS = ['/var/lib/containers', '/dev/shm/libpod_lock', '/run/libpod', '/run/containers'];
export const hostState = () => HOST_PATHS.filter((p) => fs.existsSync(p));
