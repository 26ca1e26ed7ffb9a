// podman with everything of its own under one directory of the bench's
// (storage, run root, tmp dir with file locks, events log, CNI config): the
// configuration files and the global flags, for the scenarios that run podman
// (image: podman load; network: podman run). Callers run it in a private mount
// namespace with a tmpfs over /var/lib, where podman 4.3 keeps caches whatever
// --root says.
import fs from 'node:fs';
import path from 'node:path';

export const shellQuote = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

/** { env, globals }: the environment naming the config files and podman's global flags. */
export function privatePodman(dir, { driver = 'overlay', cgroupManager } = {}) {
  fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
  const storage = path.join(dir, 'storage');
  const run = path.join(dir, 'run');
  fs.writeFileSync(path.join(dir, 'storage.conf'), `[storage]\ndriver = "${driver}"\nrunroot = ${JSON.stringify(run)}\ngraphroot = ${JSON.stringify(storage)}\n`);
  fs.writeFileSync(
    path.join(dir, 'containers.conf'),
    `[network]\nnetwork_config_dir = ${JSON.stringify(path.join(dir, 'cni'))}\n[engine]\nevents_logger = "file"\nevents_logfile_path = ${JSON.stringify(path.join(dir, 'events.log'))}\nlock_type = "file"\ntmp_dir = ${JSON.stringify(path.join(dir, 'tmp'))}\n${cgroupManager ? `cgroup_manager = "${cgroupManager}"\n` : ''}`,
  );
  fs.writeFileSync(path.join(dir, 'registries.conf'), '');
  const env = {
    ...process.env,
    CONTAINERS_CONF: path.join(dir, 'containers.conf'),
    CONTAINERS_STORAGE_CONF: path.join(dir, 'storage.conf'),
    CONTAINERS_REGISTRIES_CONF: path.join(dir, 'registries.conf'),
  };
  return { env, globals: ['--root', storage, '--runroot', run, '--tmpdir', path.join(dir, 'tmp'), '--storage-driver', driver] };
}
