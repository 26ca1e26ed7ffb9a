// Where berth's startup time goes, per public lifecycle step (no core changes
// needed): createContainer (config, state dir, cgroups, clone, child setup up to
// "ready"), start (go -> execve), wait (the process runs and is reaped),
// destroy (kill, cgroup removal, state removal). Interleaved with the floor so
// the kernel's own share sits next to it.
import { berthConfig } from '../berth.js';
import { makeSpec } from '../bundle.js';
import { startFloor } from '../floor/driver.js';
import { CGROUP_PARENT } from '../hygiene.js';
import { interleave } from '../interleave.js';
import { summarize } from '../stats.js';

const now = () => Number(process.hrtime.bigint()) / 1e6;

export async function breakdown(ctx, rounds) {
  const { berth, rootfs, floorBin } = ctx;
  const spec = makeSpec({ rootfs, args: ['/bin/true'], cgroupsPath: `${CGROUP_PARENT}/breakdown` });
  const steps = { create: [], start: [], wait: [], destroy: [] };
  // berth ≥ 61de0b7 reports when each setup step ended (ms since create began),
  // the child's own marks included: the finest split there is.
  const marks = {};
  const floor = startFloor(floorBin, rootfs, { pivot: true });
  const berthSteps = async () => {
    const t0 = now();
    const c = await berth.createContainer(berthConfig(spec, ctx.stateRoot));
    const t1 = now();
    for (const [k, v] of Object.entries(c.setupTimings ?? {})) (marks[k] ??= []).push(v);
    try {
      const p = await c.start();
      const t2 = now();
      await p.wait();
      const t3 = now();
      await c.destroy();
      const t4 = now();
      steps.create.push(t1 - t0);
      steps.start.push(t2 - t1);
      steps.wait.push(t3 - t2);
      steps.destroy.push(t4 - t3);
      return t4 - t0;
    } catch (err) {
      await c.destroy();
      throw err;
    }
  };
  try {
    const { samples } = await interleave(
      [
        { name: 'berth total', run: berthSteps },
        { name: 'floor-pivot', run: () => floor.run() },
      ],
      rounds,
      { label: 'breakdown' },
    );
    // Warm-up rounds pushed steps too: keep only the last `rounds` of each.
    const out = Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, summarize(v.slice(-rounds))]));
    const setupMarks = Object.fromEntries(Object.entries(marks).map(([k, v]) => [k, summarize(v.slice(-rounds)).p50]));
    return { steps: out, setupMarksP50: setupMarks, total: summarize(samples['berth total']), floorPivot: summarize(samples['floor-pivot']) };
  } finally {
    await floor.stop();
  }
}
