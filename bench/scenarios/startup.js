// (1) Startup: run /bin/true to completion (create + start + wait + delete)
// with berth, crun, runc and the C floor, interleaved. Also two spawn-only
// series that price the nsenter wrapper (see runtimes.js) every round.
import { berthConfig, timeBerthRun } from '../berth.js';
import { makeBundle } from '../bundle.js';
import { startFloor } from '../floor/driver.js';
import { CGROUP_PARENT } from '../hygiene.js';
import { interleave } from '../interleave.js';
import { timeSpawn } from '../runtimes.js';
import { ratio, summarize } from '../stats.js';

export async function startup(ctx, rounds) {
  const { berth, rootfs, crun, runc, floorBin } = ctx;
  const args = ['/bin/true'];
  // One bundle per runtime so each owns its cgroup path (no runtime can trip over
  // a directory another one left).
  const bundles = Object.fromEntries(
    ['crun', 'runc', 'berth'].map((n) => [n, makeBundle({ rootfs, args, cgroupsPath: `${CGROUP_PARENT}/startup-${n}` })]),
  );
  const floor = startFloor(floorBin, rootfs);
  const floorPivot = startFloor(floorBin, rootfs, { pivot: true });
  // pivot_root + the same cgroup placement the runtimes do (every hierarchy):
  // what the kernel alone charges for the work berth is asked to do here.
  const floorCgroup = startFloor(floorBin, rootfs, { pivot: true, cgroup: `${CGROUP_PARENT.slice(1)}-floor` });
  const runners = [
    { name: 'crun', run: () => crun.run(bundles.crun.dir) },
    { name: 'runc', run: () => runc.run(bundles.runc.dir) },
    { name: 'floor', run: () => floor.run() },
    { name: 'floor-pivot', run: () => floorPivot.run() },
    { name: 'floor-pivot-cgroup', run: () => floorCgroup.run() },
    { name: 'spawn true', run: () => timeSpawn('/bin/true', []) },
    { name: 'nsenter true', run: () => timeSpawn('nsenter', [`--mount=${crun.nsPath}`, '/bin/true']) },
  ];
  if (berth) {
    const spec = bundles.berth.spec;
    runners.unshift({ name: 'berth', run: () => timeBerthRun(berth, berthConfig(spec, ctx.stateRoot)) });
  }
  try {
    const { samples, dropped } = await interleave(runners, rounds, { label: 'startup' });
    const stats = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
    const p50 = (k) => (stats[k]?.n ? stats[k].p50 : null);
    // What the wrapper adds to each crun/runc command, judged at the median.
    const wrapperMs = p50('nsenter true') != null ? Math.max(0, p50('nsenter true') - p50('spawn true')) : 0;
    const crunAdj = p50('crun') != null ? p50('crun') - wrapperMs : null;
    return {
      rounds,
      stats,
      dropped,
      wrapperMs: Math.round(wrapperMs * 1000) / 1000,
      crunP50MinusWrapper: crunAdj,
      ratios: {
        'berth/crun': ratio(p50('berth'), crunAdj),
        'berth/runc': ratio(p50('berth'), p50('runc') != null ? p50('runc') - wrapperMs : null),
        'berth/floor': ratio(p50('berth'), p50('floor')),
        'berth/floor-pivot': ratio(p50('berth'), p50('floor-pivot')),
        'berth/floor-pivot-cgroup': ratio(p50('berth'), p50('floor-pivot-cgroup')),
        'crun/floor': ratio(crunAdj, p50('floor')),
      },
    };
  } finally {
    await floor.stop();
    await floorPivot.stop();
    await floorCgroup.stop();
    for (const b of Object.values(bundles)) b.cleanup();
  }
}
