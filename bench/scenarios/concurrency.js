// (3) Concurrency: N berth run()s of /bin/true started in the same tick from one
// Node process. Wall time, containers/s, and how long the event loop was kept
// from running while they started (monitorEventLoopDelay, 1 ms resolution:
// it samples how late a 1 ms timer fires, i.e. time spent in synchronous work).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { berthConfig, timeBerthRun } from '../berth.js';
import { makeSpec } from '../bundle.js';
import { withTimeout } from '../interleave.js';
import { CGROUP_PARENT } from '../hygiene.js';
import { summarize } from '../stats.js';

const ms = (ns) => Math.round((ns / 1e6) * 1000) / 1000;

export async function concurrency(ctx, n) {
  const { berth, rootfs } = ctx;
  const spec = makeSpec({ rootfs, args: ['/bin/true'], cgroupsPath: `${CGROUP_PARENT}/unused` });
  // Each container gets its own cgroup: they are alive at the same time (see berthConfig).
  const configs = Array.from({ length: n }, () => berthConfig(spec, ctx.stateRoot, { cgroupPrefix: `${CGROUP_PARENT}-conc` }));
  // The same histogram over an idle half second first: this shared host's own noise.
  const idle = monitorEventLoopDelay({ resolution: 1 });
  idle.enable();
  await new Promise((r) => setTimeout(r, 500));
  idle.disable();
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const t0 = process.hrtime.bigint();
  const results = await Promise.allSettled(configs.map((c) => withTimeout(timeBerthRun(berth, c), 60_000, 'berth run')));
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  h.disable();
  const ok = results.filter((r) => r.status === 'fulfilled').map((r) => r.value);
  const failed = results.filter((r) => r.status === 'rejected').map((r) => r.reason.message);
  return {
    containers: n,
    succeeded: ok.length,
    failures: [...new Set(failed)].slice(0, 5),
    wallMs: Math.round(wallMs * 1000) / 1000,
    containersPerSec: Math.round((ok.length / wallMs) * 1000 * 10) / 10,
    perContainer: summarize(ok),
    // The histogram records how much later than 1 ms each timer tick ran.
    // Values are whole timer intervals, so they include the 1 ms resolution itself.
    eventLoopDelay: { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), samples: h.count },
    idleEventLoopDelay: { p50: ms(idle.percentile(50)), p99: ms(idle.percentile(99)), max: ms(idle.max) },
  };
}
