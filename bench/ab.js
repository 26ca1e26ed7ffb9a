#!/usr/bin/env node
// A/B of two berth builds: run() of /bin/true from each, interleaved in random
// order in one process, so a change is judged by a ratio measured under the
// same machine noise (absolute times here drift by 20-30 % between runs).
//   sh bench/snapshot.sh /tmp/berth-a            # HEAD (or: ... /tmp/berth-a REV)
//   node bench/ab.js /tmp/berth-a . [rounds] [--mixed]
// --mixed runs `crun run` before every berth run, like the startup scenario,
// so the kernel is still tearing the last container down when berth starts.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { berthConfig, berthStateRoot } from './berth.js';
import { makeBundle } from './bundle.js';
import { CGROUP_PARENT, removeBenchCgroups } from './hygiene.js';
import { OciRuntime, startCrunNamespace } from './runtimes.js';
import { summarize } from './stats.js';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const mixed = process.argv.includes('--mixed');
const [dirA, dirB] = args;
if (!dirA || !dirB) {
  console.error('usage: node bench/ab.js DIR_A DIR_B [rounds] [--mixed]');
  process.exit(2);
}
const rounds = Number(args[2] ?? 100);
const load = (d) => import(pathToFileURL(path.join(path.resolve(d), 'dist/lib/index.js')).href);
const builds = { A: await load(dirA), B: await load(dirB) };
const rootfs = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../test/fixtures/rootfs');
const state = berthStateRoot();
const bundle = makeBundle({ rootfs, args: ['/bin/true'], cgroupsPath: `${CGROUP_PARENT}/ab` });
const crunBundle = mixed ? makeBundle({ rootfs, args: ['/bin/true'], cgroupsPath: `${CGROUP_PARENT}/ab-crun` }) : null;
const ns = mixed ? await startCrunNamespace() : null;
const crun = mixed ? new OciRuntime('crun', ns.nsPath) : null;
const samples = { A: [], B: [] };
try {
  for (let i = 0; i < rounds + 5; i++) {
    for (const k of Math.random() < 0.5 ? ['A', 'B'] : ['B', 'A']) {
      if (crun) await crun.run(crunBundle.dir);
      const t0 = performance.now();
      const r = await builds[k].run(berthConfig(bundle.spec, state.dir));
      if (r.exitCode !== 0) throw new Error(`${k}: exit ${r.exitCode ?? r.signal}: ${r.stderr}`);
      if (i >= 5) samples[k].push(performance.now() - t0); // 5 warm-up rounds
    }
  }
  const a = summarize(samples.A);
  const b = summarize(samples.B);
  console.log(`A ${dirA}: p50 ${a.p50.toFixed(2)} p90 ${a.p90.toFixed(2)} ms`);
  console.log(`B ${dirB}: p50 ${b.p50.toFixed(2)} p90 ${b.p90.toFixed(2)} ms`);
  console.log(`B/A p50 ${(b.p50 / a.p50).toFixed(3)} (${rounds} rounds${mixed ? ', after crun run each' : ''})`);
} finally {
  state.cleanup();
  bundle.cleanup();
  crunBundle?.cleanup();
  await ns?.stop();
  // crun (--mixed) leaves the parent cgroup it made under CGROUP_PARENT in every
  // hierarchy; berth removes its own. Like run.js, take the bench's tree away.
  const failures = removeBenchCgroups();
  if (failures.length) console.error(`cgroups left behind: ${failures.join(', ')}`);
}
