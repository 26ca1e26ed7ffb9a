#!/usr/bin/env node
// node bench/run.js [--quick] [--name NAME] [--rounds N] [--only startup,breakdown,exec,concurrency,running,heap,seccomp,userns,cli,network,image]
// --rounds N: N rounds instead of the default for startup, breakdown, exec, seccomp, userns, cli, network and image's startup.
// Runs every scenario in one process, so all figures come from the same run, and
// writes bench/results/<name>.json (+ .svg). Must run as root (namespaces, cgroups).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { berthStateRoot, loadBerth } from './berth.js';
import { renderChart } from './chart.js';
import { buildFloor } from './floor/driver.js';
import { CGROUP_PARENT, leaks, removeBenchCgroups, snapshot } from './hygiene.js';
import { OciRuntime, startCrunNamespace } from './runtimes.js';
import { breakdown } from './scenarios/breakdown.js';
import { cli } from './scenarios/cli.js';
import { concurrency } from './scenarios/concurrency.js';
import { exec } from './scenarios/exec.js';
import { heapSize, runningContainers } from './scenarios/scaling.js';
import { seccomp } from './scenarios/seccomp.js';
import { userns } from './scenarios/userns.js';
import { network } from './scenarios/network.js';
import { image } from './scenarios/image.js';
import { startup } from './scenarios/startup.js';
import { evaluateTargets, printTable } from './report.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const argv = process.argv.slice(2);
const opt = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const quick = argv.includes('--quick');
const only = opt('--only')?.split(',');
const want = (s) => !only || only.includes(s);
const date = new Date().toISOString();
const name = opt('--name') ?? `${date.slice(0, 10)}${quick ? '-quick' : ''}`;
// Sized so the full run stays under ~10 min and --quick under ~2 min on 2 cores.
const SIZES = quick
  ? { startup: 30, breakdown: 20, exec: 30, concurrent: 100, scaleRounds: 20, running: 200, heapRounds: 20, seccomp: 30, seccompLoop: 5, userns: 30, cli: 15, network: 30, image: 30, imageContainers: 50, imageImport: 3 }
  : { startup: 200, breakdown: 50, exec: 200, concurrent: 100, scaleRounds: 100, running: 200, heapRounds: 100, seccomp: 200, seccompLoop: 20, userns: 150, cli: 40, network: 150, image: 150, imageContainers: 100, imageImport: 10 };
if (opt('--rounds') !== undefined) {
  const n = Number(opt('--rounds'));
  if (!Number.isInteger(n) || n < 1) throw new Error(`--rounds wants a positive integer, not ${opt('--rounds')}`);
  for (const k of ['startup', 'breakdown', 'exec', 'seccomp', 'userns', 'cli', 'network', 'image']) SIZES[k] = n;
}

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    return null;
  }
}

/** Version + commit of the berth being measured (a BERTH_ROOT snapshot names its own commit). */
function berthVersion() {
  const root = process.env.BERTH_ROOT;
  const version = JSON.parse(fs.readFileSync(path.join(root ?? repo, 'package.json'), 'utf8')).version;
  if (root) {
    const commit = fs.existsSync(path.join(root, '.berth-commit')) ? fs.readFileSync(path.join(root, '.berth-commit'), 'utf8').trim() : '?';
    return `${version} (${commit}, snapshot)`;
  }
  const dirty = sh('git', ['-C', repo, 'status', '--porcelain', '--', 'lib', 'native', 'types']) ? '+dirty' : '';
  return `${version} (${sh('git', ['-C', repo, 'rev-parse', '--short', 'HEAD'])}${dirty})`;
}

function environment() {
  const unified = fs.existsSync('/sys/fs/cgroup/unified/cgroup.controllers');
  const v2root = fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
  return {
    date,
    kernel: os.release(),
    os: sh('sh', ['-c', '. /etc/os-release && echo "$PRETTY_NAME"']),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim(),
    memTotalMB: Math.round(os.totalmem() / 2 ** 20),
    cgroupLayout: v2root ? 'v2' : unified ? 'hybrid' : 'v1',
    crun: sh('crun', ['--version'])?.split('\n')[0],
    runc: sh('runc', ['--version'])?.split('\n')[0],
    berth: berthVersion(),
    loadavgStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

async function main() {
  if (process.getuid() !== 0) throw new Error('the bench needs root (namespaces, mounts, cgroups)');
  execFileSync('sh', [path.join(repo, 'test/fixtures/make-rootfs.sh')], { stdio: 'inherit' });
  const rootfs = path.join(repo, 'test/fixtures/rootfs');
  const env = environment();
  const floorBin = buildFloor();
  const { berth, reason: berthReason, hasExec } = await loadBerth();
  if (!berth) console.log(`berth not built yet — measuring crun/runc/floor only (${berthReason})`);

  const helper = await startCrunNamespace();
  const crun = new OciRuntime('crun', helper.nsPath);
  // Same nsenter wrapper as crun, into our own mount namespace (a no-op switch).
  const runc = new OciRuntime('runc', `/proc/${process.pid}/ns/mnt`);
  const state = berthStateRoot();
  // berth keeps one fd for its lifetime after its first run (lazy init): take
  // the leak baseline after a warm-up run so only real leaks show.
  // Its cgroup goes under the bench's own parent like every other container here.
  if (berth) {
    const warm = { rootfs, process: { args: ['/bin/true'] }, stateRoot: state.dir, linux: { cgroupsPath: `${CGROUP_PARENT}-warmup` } };
    await berth.run(warm).catch((e) => console.error(`berth warm-up run failed: ${e.message}`));
  }
  const before = snapshot(rootfs);
  const ctx = { berth, berthReason, hasExec, rootfs, crun, runc, floorBin, stateRoot: state.dir, wrapperMs: 0 };
  const scenarios = {};
  const skipped = {};
  const attempt = async (key, needsBerth, fn) => {
    if (!want(key)) return;
    if (needsBerth && !berth) {
      skipped[key] = berthReason;
      console.log(`${key}: skipped — ${berthReason}`);
      return;
    }
    console.log(`${key}…`);
    try {
      scenarios[key] = await fn();
    } catch (err) {
      console.error(`${key} failed: ${err.stack}`);
      scenarios[key] = { error: err.message };
    }
  };

  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    console.error('interrupted: finishing the current step, then cleaning up');
  });
  try {
    await attempt('startup', false, () => startup(ctx, SIZES.startup));
    ctx.wrapperMs = scenarios.startup?.wrapperMs ?? 0;
    if (!interrupted) await attempt('breakdown', true, () => breakdown(ctx, SIZES.breakdown));
    if (!interrupted) await attempt('exec', false, () => exec(ctx, SIZES.exec));
    if (!interrupted) await attempt('concurrency', true, () => concurrency(ctx, SIZES.concurrent));
    if (!interrupted) await attempt('running', true, () => runningContainers(ctx, { rounds: SIZES.scaleRounds, running: SIZES.running }));
    if (!interrupted) await attempt('heap', true, () => heapSize(ctx, { rounds: SIZES.heapRounds }));
    if (!interrupted) await attempt('seccomp', true, () => seccomp(ctx, { rounds: SIZES.seccomp, loopRounds: SIZES.seccompLoop }));
    if (!interrupted) await attempt('userns', true, () => userns(ctx, SIZES.userns));
    if (!interrupted) await attempt('cli', true, () => cli(ctx, SIZES.cli));
    if (!interrupted) await attempt('network', true, () => network(ctx, SIZES.network));
    if (!interrupted) await attempt('image', true, () => image(ctx, { rounds: SIZES.image, containers: SIZES.imageContainers, importRounds: SIZES.imageImport }));
  } finally {
    await crun.cleanup();
    await runc.cleanup();
    await helper.stop();
    state.cleanup();
  }
  // Nothing may remain: cgroups (=> no container process), fds, children, mounts.
  const cgroupLeftovers = removeBenchCgroups();
  const left = [...leaks(before, snapshot(rootfs)), ...cgroupLeftovers.map((c) => `cgroup not removable: ${c}`)];
  if (left.length) console.error(`LEFT BEHIND:\n  ${left.join('\n  ')}`);

  env.loadavgEnd = os.loadavg().map((l) => Math.round(l * 100) / 100);
  const results = {
    name,
    quick,
    sizes: SIZES,
    environment: env,
    method: {
      timing: 'wall time from the start of the call (berth) or spawn() (CLIs) to exit with stdio closed; floor: clone..waitpid inside the C program',
      interleaving: 'each round runs every runner once in a random order; 3 warm-up rounds discarded',
      wrapper: 'crun runs via `nsenter --mount=<ns of one long-lived unshare -m helper with a tmpfs over /sys/fs/cgroup/unified>`; runc via the same nsenter into our own mount ns. wrapperMs = p50(nsenter true) - p50(spawn true) is subtracted from crun/runc p50 before ratios (in their favour)',
      spec: '`runc spec` + absolute rootfs, readonly false, terminal false, cgroup namespace added, cgroupsPath under ' + CGROUP_PARENT,
      floor: 'bench/floor/floor.c: clone(NEWPID|NEWNS|NEWUTS|NEWIPC|NEWNET|NEWCGROUP) + MS_PRIVATE / + chroot (floor) or bind+pivot_root (floor-pivot) + execve /bin/true + waitpid; no /proc,/dev mounts, no caps/seccomp. floor-pivot-cgroup also mkdirs a cgroup in every hierarchy (cpuset seeded), the child moves itself in before exec, the parent rmdirs after waitpid. Targets use the plain (chroot) floor, as the issue asks',
    },
    skipped,
    scenarios,
    leftBehind: left,
  };
  results.targets = evaluateTargets(results);
  fs.mkdirSync(path.join(here, 'results'), { recursive: true });
  const base = path.join(here, 'results', name);
  fs.writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
  fs.writeFileSync(`${base}.svg`, renderChart(results));
  printTable(results);
  console.log(`\nwrote ${path.relative(process.cwd(), base)}.json and .svg`);
  // Exit explicitly: a leaked container's watchers would otherwise keep the loop alive.
  process.exit(left.length ? 1 : 0);
}

main().catch((err) => {
  console.error(err.stack);
  removeBenchCgroups();
  process.exit(1);
});
