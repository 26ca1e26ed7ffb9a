// crun and runc driven the way a Node program would drive them: spawn the CLI,
// wait for it to exit (and its stdio to close, as execFile does), time it.
//
// The hybrid-layout wrapper, and why it is fair: crun refuses this host's hybrid
// cgroup layout unless /sys/fs/cgroup/unified is hidden in a private mount
// namespace. Paying `unshare -m sh -c 'mount ... && exec crun'` per run would
// charge crun for an unshare, a shell, a mount and two extra execs that it never
// pays on a normal host. Instead ONE long-lived helper (`unshare -m` + tmpfs over
// unified, then `sleep`) holds that namespace, and each crun command is
// `nsenter --mount=/proc/<helper>/ns/mnt crun ...`: one setns + one execve of
// a tiny binary. runc goes through the same nsenter (into the bench's own mount
// namespace, a no-op switch) so both CLIs carry the identical wrapper. Its cost
// is measured every round (`nsenter true` vs plain `true`) and the report judges
// berth against crun with that cost subtracted, i.e. in crun's favour.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Spawn, wait for exit + stdio close; resolves the wall time in ms, rejects on
 * any other exit than `expectCode` (0 unless said). `env` replaces the environment.
 */
export function timeSpawn(cmd, args, { detached = false, env, expectCode = 0 } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    // Detached containers (run -d) keep inherited pipes open forever: give them /dev/null.
    const child = spawn(cmd, args, { stdio: detached ? 'ignore' : ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
    const err = [];
    child.stdout?.resume();
    child.stderr?.on('data', (c) => err.push(c));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code === expectCode) resolve(ms);
      else reject(new Error(`${cmd} ${args.join(' ')}: exit ${code ?? signal}: ${Buffer.concat(err).toString().trim()}`));
    });
  });
}

/** The long-lived private mount namespace crun needs here (see top of file). */
export async function startCrunNamespace() {
  const script = 'mount -t tmpfs berth-bench /sys/fs/cgroup/unified && exec sleep infinity';
  // --propagation private (unshare's default, spelled out): the tmpfs must never reach the host.
  const helper = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { stdio: 'ignore' });
  let exited = false;
  helper.on('exit', () => (exited = true));
  // unshare and sh exec in place, so the pid is stable; ready once it is `sleep`.
  for (let i = 0; i < 200; i++) {
    if (exited) throw new Error('unshare -m helper for crun exited early (mount over /sys/fs/cgroup/unified failed?)');
    try {
      if (fs.readFileSync(`/proc/${helper.pid}/comm`, 'utf8').trim() === 'sleep') break;
    } catch {}
    await sleep(10);
  }
  return {
    nsPath: `/proc/${helper.pid}/ns/mnt`,
    pid: helper.pid,
    async stop() {
      if (exited) return;
      const gone = new Promise((r) => helper.once('exit', r));
      helper.kill('SIGTERM'); // by our own child's pid only
      await gone;
    },
  };
}

let seq = 0;

/** One OCI CLI (crun or runc) with its own --root state dir in a temp dir. */
export class OciRuntime {
  constructor(name, nsPath) {
    this.name = name;
    this.nsPath = nsPath;
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), `berth-bench-${name}-state-`));
  }

  argv(args) {
    return ['nsenter', [`--mount=${this.nsPath}`, this.name, '--root', this.root, ...args]];
  }

  newId() {
    return `bench-${this.name}-${process.pid}-${++seq}`;
  }

  /** `run` (create + start + wait + delete) of the bundle's process; resolves ms. */
  run(bundleDir) {
    const [cmd, args] = this.argv(['run', '--bundle', bundleDir, this.newId()]);
    return timeSpawn(cmd, args);
  }

  /** `run -d`: a running container to exec into; resolves its id. */
  async startDetached(bundleDir) {
    const id = this.newId();
    const [cmd, args] = this.argv(['run', '-d', '--bundle', bundleDir, id]);
    await timeSpawn(cmd, args, { detached: true });
    return id;
  }

  exec(id, processArgs) {
    const [cmd, args] = this.argv(['exec', id, ...processArgs]);
    return timeSpawn(cmd, args);
  }

  delete(id) {
    const [cmd, args] = this.argv(['delete', '-f', id]);
    return timeSpawn(cmd, args);
  }

  /** Deletes every container in OUR state dir (never anyone else's), then the dir. */
  async cleanup() {
    let ids = [];
    try {
      ids = fs.readdirSync(this.root).filter((d) => d.startsWith(`bench-${this.name}-${process.pid}-`));
    } catch {}
    for (const id of ids) await this.delete(id).catch((e) => console.error(`cleanup ${this.name} ${id}: ${e.message}`));
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
