// (2) Exec: /bin/true into an already running container (init: sleep 1000),
// berth's container.exec() + wait vs `crun exec` / `runc exec`, interleaved.
import { berthConfig } from '../berth.js';
import { makeBundle } from '../bundle.js';
import { CGROUP_PARENT } from '../hygiene.js';
import { interleave, withTimeout } from '../interleave.js';
import { ratio, summarize } from '../stats.js';

async function timeBerthExec(container) {
  const t0 = process.hrtime.bigint();
  const p = await container.exec({ args: ['/bin/true'] });
  const s = await p.wait();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (s.exitCode !== 0) throw new Error(`berth exec: exit ${s.exitCode ?? s.signal}`);
  return ms;
}

export async function exec(ctx, rounds) {
  const { berth, hasExec, rootfs, crun, runc } = ctx;
  const args = ['/bin/sh', '-c', 'sleep 1000'];
  const bundles = Object.fromEntries(
    ['crun', 'runc', 'berth'].map((n) => [n, makeBundle({ rootfs, args, cgroupsPath: `${CGROUP_PARENT}/exec-${n}` })]),
  );
  const started = [];
  let container = null;
  const skipped = {};
  try {
    const runners = [];
    for (const rt of [crun, runc]) {
      const id = await rt.startDetached(bundles[rt.name].dir);
      started.push([rt, id]);
      runners.push({ name: rt.name, run: () => rt.exec(id, ['/bin/true']) });
    }
    if (!berth) skipped.berth = ctx.berthReason;
    else if (!hasExec) skipped.berth = 'berth has no Container.exec() yet';
    else {
      container = await berth.createContainer(berthConfig(bundles.berth.spec, ctx.stateRoot));
      await container.start();
      runners.unshift({ name: 'berth', run: () => timeBerthExec(container) });
    }
    if (skipped.berth) console.log(`  exec: skipping berth: ${skipped.berth}`);
    const { samples, dropped } = await interleave(runners, rounds, { label: 'exec' });
    const stats = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
    const p50 = (k) => (stats[k]?.n ? stats[k].p50 : null);
    const w = ctx.wrapperMs ?? 0;
    const crunAdj = p50('crun') != null ? p50('crun') - w : null;
    return {
      rounds,
      stats,
      dropped,
      skipped,
      wrapperMs: w,
      crunP50MinusWrapper: crunAdj,
      ratios: {
        'berth/crun': ratio(p50('berth'), crunAdj),
        'berth/runc': ratio(p50('berth'), p50('runc') != null ? p50('runc') - w : null),
      },
    };
  } finally {
    if (container) await withTimeout(container.destroy(), 30_000, 'berth destroy').catch((e) => console.error(`  exec cleanup: ${e.message}`));
    for (const [rt, id] of started) await rt.delete(id).catch((e) => console.error(`  exec cleanup: ${e.message}`));
    for (const b of Object.values(bundles)) b.cleanup();
  }
}
