// podman (with conmon) driving berth through --runtime, in a world of its own:
// storage, run root, tmpdir (file locks, exit files), CNI config dir and
// berth's state root all in one temporary directory, every container under a
// cgroup parent named for this process, networking off (--network none: no
// bridge, no CNI/netavark network, no firewall rule on the host).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOTFS } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const BERTH = path.join(here, '..', '..', 'bin', 'berth.js');
export const IMAGE = 'localhost/berth-test:latest';

function onPath(name) {
  return (process.env.PATH ?? '').split(':').some((d) => d && fs.existsSync(path.join(d, name)));
}

/** Why the podman tests cannot run here, or undefined. */
export function podmanMissing() {
  if (process.getuid?.() !== 0) return 'needs root';
  for (const tool of ['podman', 'conmon', 'script']) if (!onPath(tool)) return `${tool} is not installed (apt-get install -y podman conmon)`;
  if (!fs.existsSync(path.join(ROOTFS, 'bin', 'sh'))) return `no fixture rootfs at ${ROOTFS} (sh test/fixtures/make-rootfs.sh)`;
  const v = spawnSync('podman', ['--version'], { encoding: 'utf8' });
  const major = Number(/version (\d+)\./.exec(v.stdout ?? '')?.[1]);
  if (!(major >= 4)) return `podman 4 or later needed (have: ${(v.stdout || v.stderr || 'none').trim()})`;
  return undefined;
}

/** The mount point of every cgroup hierarchy (v1 and v2) of this host. */
function cgroupMounts() {
  return fs
    .readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[2] === 'cgroup' || f[2] === 'cgroup2')
    .map((f) => f[1]);
}

/** The directories below `dir`, deepest first. */
function subdirs(dir) {
  let out = [];
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const p = path.join(dir, e.name);
    out = [...out, ...subdirs(p), p];
  }
  return out;
}

/** Pids of processes whose command line mentions `needle`. */
function processesMentioning(needle) {
  const out = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.includes(needle)) out.push({ pid: Number(entry), cmd: cmd.replace(/\0/g, ' ').trim() });
    } catch {
      // raced with an exit
    }
  }
  return out;
}

export function linkNames() {
  return fs.readdirSync('/sys/class/net').sort();
}

/**
 * Sets up the private engine: containers.conf, a `berth` runtime wrapper that
 * adds --root (rootful podman passes the runtime no --root, so berth would use
 * the shared /run/berth; podman's --runtime-flag is not passed on to the exit
 * command's `delete`) and records every call, and the image imported from the fixture.
 */
/**
 * What podman may make outside its --root/--runroot/--tmpdir: the image copy's
 * blob-info cache (podman 4.3 keeps it at /var/lib/containers/cache for root
 * whatever --root says), the shm lock file and the CNI lock (both avoided by
 * this file's containers.conf). Removed afterwards when this file made them.
 */
const HOST_PATHS = ['/var/lib/containers/cache/blob-info-cache-v1.boltdb', '/var/lib/containers/cache', '/var/lib/containers', '/dev/shm/libpod_lock', '/etc/cni/net.d/cni.lock'];

export async function makeEngine() {
  const hostBefore = new Set(HOST_PATHS.filter((p) => fs.existsSync(p)));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-podman-'));
  const stateRoot = path.join(dir, 'berth-root');
  const calls = path.join(dir, 'calls.log');
  const wrapper = path.join(dir, 'bin', 'berth');
  const cgroupParent = `/berth-podman-test-${process.pid}`;
  fs.mkdirSync(path.dirname(wrapper));
  // The name "berth" (podman names a runtime by its file) is what runtime_supports_json lists:
  // podman then passes --log FILE --log-format json and reads errors from it, as for runc.
  fs.writeFileSync(
    wrapper,
    `#!/bin/sh\necho "$*" >> ${JSON.stringify(calls)}\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BERTH)} --root ${JSON.stringify(stateRoot)} "$@"\n`,
    { mode: 0o755 },
  );
  const conf = (extra = '') => `[containers]
# podman's default nofile ulimit needs CAP_SYS_RESOURCE, which these hosts may lack
default_ulimits = []
netns = "none"
${extra}
[network]
network_config_dir = ${JSON.stringify(path.join(dir, 'cni'))}
[engine]
runtime = "berth"
cgroup_manager = "cgroupfs"
events_logger = "file"
# in tmpdir, not /dev/shm/libpod_lock (shared with the host's podman)
lock_type = "file"
no_pivot_root = false
runtime_supports_json = ["berth"]
[engine.runtimes]
berth = [${JSON.stringify(wrapper)}]
`;
  const confFile = path.join(dir, 'containers.conf');
  fs.writeFileSync(confFile, conf());
  // podman passes --no-new-keyring to create when containers.conf says keyring = false.
  const noKeyringConf = path.join(dir, 'containers-nokeyring.conf');
  fs.writeFileSync(noKeyringConf, conf('keyring = false'));
  const globals = ['--root', path.join(dir, 'storage'), '--runroot', path.join(dir, 'run'), '--tmpdir', path.join(dir, 'tmp'), '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', '--runtime', wrapper];

  /** One podman command: its exit code, stdout and stderr. `script`: under `script -qec` (a terminal for -t). */
  function podman(args, { timeout = 30_000, conf: confPath = confFile, script = false, input } = {}) {
    const env = { ...process.env, CONTAINERS_CONF: confPath };
    const argv = ['podman', ...globals, ...args];
    const [cmd, cmdArgs] = script ? ['script', ['-qec', argv.map(shellQuote).join(' '), '/dev/null']] : [argv[0], argv.slice(1)];
    return new Promise((resolve, reject) => {
      const p = spawn(cmd, cmdArgs, { env, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stderr += d));
      if (input !== undefined) p.stdin.end(input);
      const timer = setTimeout(() => p.kill('SIGKILL'), timeout);
      p.on('error', reject);
      p.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr, argv: args.join(' ') });
      });
    });
  }

  const imported = await podman(['import', '-q', '-', IMAGE], { input: tarOf(ROOTFS), timeout: 60_000 });
  if (imported.code !== 0) throw new Error(`podman import failed: ${imported.stderr}`);

  /** The runtime commands podman and conmon ran, one line each. */
  const runtimeCalls = () => (fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8').trim().split('\n') : []);

  /** The cgroup directories under this file's parent in every hierarchy, except podman's own `conmon` (podman never removes it). */
  const cgroupLeftovers = () =>
    cgroupMounts().flatMap((m) =>
      subdirs(path.join(m, cgroupParent))
        .filter((d) => path.basename(d) !== 'conmon')
        .map((d) => `${path.basename(m)}:${d.slice(m.length)}`),
    );

  const leftovers = () => ({
    state: fs.existsSync(stateRoot) ? fs.readdirSync(stateRoot) : [],
    cgroups: cgroupLeftovers(),
    processes: processesMentioning(dir),
    mounts: fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(dir)),
  });

  let destroyed = false;
  async function destroy() {
    if (destroyed) return;
    destroyed = true;
    await podman(['rm', '--all', '--force', '--time', '0'], { timeout: 60_000 });
    // conmon outlives `rm` by a moment (it writes the exit file and leaves): its cgroup empties when it is gone.
    for (let i = 0; i < 100 && processesMentioning(dir).length; i++) await new Promise((r) => setTimeout(r, 50));
    // What podman made and keeps: the conmon cgroup and the parent (ours by name); only empty ones go.
    for (const m of cgroupMounts()) {
      const parent = path.join(m, cgroupParent);
      for (const d of [...subdirs(parent), parent]) {
        try {
          fs.rmdirSync(d);
        } catch {
          // not there, or not empty: the leak check says so
        }
      }
    }
    for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const mnt = line.split(' ')[4];
      if (mnt?.startsWith(dir)) spawnSync('umount', ['-l', mnt]);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    for (const p of madeOnHost()) {
      try {
        if (fs.statSync(p).isDirectory()) fs.rmdirSync(p);
        else fs.rmSync(p);
      } catch {
        // a directory someone else put something in meanwhile stays
      }
    }
  }

  /** The cgroup parent's directories still there (after destroy: none, podman's conmon cgroup included). */
  const cgroupParentLeft = () =>
    cgroupMounts()
      .map((m) => path.join(m, cgroupParent))
      .filter((d) => fs.existsSync(d));

  /** The HOST_PATHS that were not there before this engine (files first, then their directories). */
  const madeOnHost = () => HOST_PATHS.filter((p) => !hostBefore.has(p) && fs.existsSync(p));

  /** berth's CLI on the same state root (not through the wrapper: not a call podman made). */
  const berth = (args) => {
    const r = spawnSync(process.execPath, [BERTH, '--root', stateRoot, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`berth ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  return { dir, stateRoot, cgroupParent, podman, berth, runtimeCalls, leftovers, cgroupParentLeft, madeOnHost, destroy, noKeyringConf };
}

function shellQuote(s) {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function tarOf(dir) {
  const r = spawnSync('tar', ['-C', dir, '-c', '.'], { maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`tar of ${dir} failed: ${r.stderr}`);
  return r.stdout;
}

/** The process's cgroup in v1 `hierarchy` (e.g. "memory"), else its cgroup v2 path, as /proc/<pid>/cgroup says. */
export function cgroupOf(pid, hierarchy) {
  const lines = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n').map((l) => l.split(':'));
  return (lines.find(([, names]) => names.split(',').includes(hierarchy)) ?? lines.find(([id]) => id === '0'))?.slice(2).join(':');
}

export function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
