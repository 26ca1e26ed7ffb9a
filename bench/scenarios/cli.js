// (8) The CLI as an engine sees it: `berth run --bundle B ID` spawned and
// waited for (create + start + wait + delete of /bin/true, in the foreground),
// against `runc run --bundle B ID` and `crun run --bundle B ID`, every one from
// a config.json made from the same `runc spec` (bundle.js). That spec has no
// linux.seccomp, so no runtime installs a filter (berth, given a bundle, applies
// none unless config.json asks, as runc and crun).
//
// In the same rounds, what separates Node's start from berth's work:
//   node -e 0            Node's own start and exit: the floor of any Node CLI
//   berth --version      the CLI's entry (bin/berth.js + main.js), no container code
//   berth state <gone>   a command that loads its handler and answers from the
//                        state root without loading the library's container code
// and the nsenter wrapper's price (spawn true / nsenter true, see runtimes.js),
// subtracted from runc's and crun's p50 before the wrapper-free ratios.
//
// Node children get the bench's environment without NODE_OPTIONS and
// NODE_EXTRA_CA_CERTS: those change what Node does before any of berth's code
// runs (a CA bundle in NODE_EXTRA_CA_CERTS is parsed at every start: +40-70 ms
// on this sandbox, which sets it), and neither is part of berth or of a normal
// engine host. results.nodeEnvDropped says what was dropped.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeBundle } from '../bundle.js';
import { CGROUP_PARENT } from '../hygiene.js';
import { interleave } from '../interleave.js';
import { timeSpawn } from '../runtimes.js';
import { ratio, summarize } from '../stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// BERTH_ROOT: the CLI of a built copy elsewhere (bench/snapshot.sh), as bench/berth.js does for the library.
const berthRoot = path.resolve(process.env.BERTH_ROOT ?? path.join(here, '..', '..'));
const DROPPED_ENV = ['NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS'];

function nodeEnv() {
  const env = { ...process.env };
  const dropped = DROPPED_ENV.filter((k) => k in env);
  for (const k of dropped) delete env[k];
  return { env, dropped };
}

export async function cli(ctx, rounds) {
  const { rootfs, crun, runc, stateRoot } = ctx;
  const bin = path.join(berthRoot, 'bin', 'berth.js');
  if (!fs.existsSync(path.join(berthRoot, 'dist', 'lib', 'cli', 'main.js'))) throw new Error(`berth's CLI is not built (${berthRoot}/dist/lib/cli/main.js)`);
  const { env, dropped } = nodeEnv();
  const node = process.execPath;
  const args = ['/bin/true'];
  // One bundle per runtime (same spec, its own cgroupsPath: no runtime trips over another's directory).
  const bundles = Object.fromEntries(['berth', 'runc', 'crun'].map((n) => [n, makeBundle({ rootfs, args, cgroupsPath: `${CGROUP_PARENT}/cli-${n}` })]));
  let seq = 0;
  const prefix = `bench-cli-${process.pid}-`;
  const berth = (argv, opts) => timeSpawn(node, [bin, '--root', stateRoot, ...argv], { env, ...opts });
  // The cyclic order is berth, runc, crun, then the rest; 'rotate' starts each round one further on.
  const runners = [
    { name: 'berth run', run: () => berth(['run', '--bundle', bundles.berth.dir, `${prefix}${++seq}`]) },
    { name: 'runc run', run: () => runc.run(bundles.runc.dir) },
    { name: 'crun run', run: () => crun.run(bundles.crun.dir) },
    { name: 'node -e 0', run: () => timeSpawn(node, ['-e', '0'], { env }) },
    { name: 'berth --version', run: () => berth(['--version']) },
    // Exit 1 with `container "…" does not exist` is the expected answer.
    { name: 'berth state <missing>', run: () => berth(['state', `${prefix}missing`], { expectCode: 1 }) },
    { name: 'spawn true', run: () => timeSpawn('/bin/true', []) },
    { name: 'nsenter true', run: () => timeSpawn('nsenter', [`--mount=${crun.nsPath}`, '/bin/true']) },
  ];
  try {
    const { samples, dropped: droppedRunners } = await interleave(runners, rounds, { label: 'cli', order: 'rotate' });
    const stats = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
    const p50 = (k) => (stats[k]?.n ? stats[k].p50 : null);
    const minus = (a, b) => (a != null && b != null ? Math.round((a - b) * 1000) / 1000 : null);
    const wrapperMs = p50('nsenter true') != null && p50('spawn true') != null ? Math.max(0, p50('nsenter true') - p50('spawn true')) : 0;
    const unwrapped = (k) => (p50(k) != null ? p50(k) - wrapperMs : null);
    return {
      rounds,
      order: 'rotate: berth run, runc run, crun run, node -e 0, berth --version, berth state <missing>, spawn true, nsenter true; round i starts at runner i mod 8',
      seccomp: 'none for all three: the bundle (runc spec) has no linux.seccomp',
      nodeEnvDropped: dropped,
      berthRoot,
      stats,
      dropped: droppedRunners,
      wrapperMs: Math.round(wrapperMs * 1000) / 1000,
      ratios: {
        // As measured: each CLI with what it costs to spawn it here (runc/crun incl. the nsenter wrapper).
        'berth/runc': ratio(p50('berth run'), p50('runc run')),
        'berth/crun': ratio(p50('berth run'), p50('crun run')),
        // The wrapper's median cost taken off runc and crun (in their favour).
        'berth/runc-unwrapped': ratio(p50('berth run'), unwrapped('runc run')),
        'berth/crun-unwrapped': ratio(p50('berth run'), unwrapped('crun run')),
        'berth/node': ratio(p50('berth run'), p50('node -e 0')),
      },
      // p50 differences (ms): where berth run's time goes, coarsely.
      splitMs: {
        node: p50('node -e 0'),
        cliEntry: minus(p50('berth --version'), p50('node -e 0')),
        commandWithoutLibrary: minus(p50('berth state <missing>'), p50('node -e 0')),
        runAboveNode: minus(p50('berth run'), p50('node -e 0')),
      },
    };
  } finally {
    // A run that failed half-way leaves its container: delete it with the CLI (our ids only).
    let left = [];
    try {
      left = fs.readdirSync(stateRoot).filter((d) => d.startsWith(prefix));
    } catch {}
    for (const id of left) await berth(['delete', '--force', id]).catch((e) => console.error(`cli cleanup ${id}: ${e.message}`));
    for (const b of Object.values(bundles)) b.cleanup();
  }
}
