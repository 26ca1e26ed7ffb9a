// (4) Scaling and (5) memory.
// - Running containers: berth run() p50 with 0, then with N sleeping containers
//   held by this same process (their fds, watchers, namespaces and cgroups all
//   alive), and Node RSS / open fds per running container while they are up.
// - Heap: the same run() loop in two child Node processes, one with ~50 MB and
//   one with ~2 GB of live heap, interleaved round by round.
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { berthConfig, timeBerthRun } from '../berth.js';
import { makeSpec } from '../bundle.js';
import { startFloor } from '../floor/driver.js';
import { CGROUP_PARENT, fdCount } from '../hygiene.js';
import { interleave, withTimeout } from '../interleave.js';
import { ratio, summarize } from '../stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const MB = 2 ** 20;

// A full GC before each memory reading, or RSS deltas are mostly GC timing.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
function memory() {
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed + m.external, fds: fdCount() };
}

// allSettled, then throw: a failure must not return before the rest of its
// batch has finished (those containers would escape the cleanup list).
async function inBatches(items, size, fn) {
  for (let i = 0; i < items.length; i += size) {
    const settled = await Promise.allSettled(items.slice(i, i + size).map(fn));
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

const destroy = (c) => withTimeout(c.destroy(), 30_000, 'berth destroy').catch((e) => console.error(`  scaling cleanup: ${e.message}`));

export async function runningContainers(ctx, { rounds, running }) {
  const { berth, rootfs } = ctx;
  const spec = makeSpec({ rootfs, args: ['/bin/true'], cgroupsPath: `${CGROUP_PARENT}/scale` });
  const sleeper = makeSpec({ rootfs, args: ['/bin/sh', '-c', 'sleep 1000'], cgroupsPath: `${CGROUP_PARENT}/unused` });
  const runner = (name) => ({ name, run: () => timeBerthRun(berth, berthConfig(spec, ctx.stateRoot)) });
  // The floor (pivot_root + cgroup placement, as berth does) runs alongside: if
  // it slows down as much as berth with N containers up, the cost is the
  // kernel's (namespaces, mounts, cgroups with many siblings); if not, berth's.
  const floor = startFloor(ctx.floorBin, rootfs, { pivot: true, cgroup: `${CGROUP_PARENT.slice(1)}-scalefloor` });
  const floorRunner = { name: 'floor', run: () => floor.run() };

  // A-B-A: half the baseline before the containers start and half after they
  // are gone, so slow drift on the shared host does not read as scaling.
  const half = Math.ceil(rounds / 2);
  const base = await interleave([runner('0 running'), floorRunner], half, { label: 'scaling: 0 running (before)' });
  const before = memory();
  const containers = [];
  let startMs = 0;
  try {
    const t0 = process.hrtime.bigint();
    await inBatches(Array.from({ length: running }), 20, async () => {
      const c = await berth.createContainer(berthConfig(sleeper, ctx.stateRoot, { cgroupPrefix: `${CGROUP_PARENT}-sleeper` }));
      containers.push(c);
      await c.start();
    });
    startMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const during = memory();
    const loaded = await interleave([runner(`${running} running`), floorRunner], rounds, { label: `scaling: ${running} running` });
    await inBatches(containers.splice(0), 20, destroy);
    const after = await interleave([runner('0 running'), floorRunner], half, { label: 'scaling: 0 running (after)' });
    const fb = summarize([...base.samples.floor, ...after.samples.floor]);
    const fl = summarize(loaded.samples.floor);
    const b = summarize([...base.samples['0 running'], ...after.samples['0 running']]);
    const l = summarize(loaded.samples[`${running} running`]);
    const end = memory();
    return {
      running,
      startAllMs: Math.round(startMs),
      baseline: b,
      loaded: l,
      ratio: ratio(l.p50, b.p50),
      floorCgroup: { baseline: fb, loaded: fl, ratio: ratio(fl.p50, fb.p50) },
      memory: {
        rssBeforeMB: Math.round((before.rss / MB) * 10) / 10,
        rssDuringMB: Math.round((during.rss / MB) * 10) / 10,
        rssAfterMB: Math.round((end.rss / MB) * 10) / 10,
        rssPerContainerKB: Math.round((during.rss - before.rss) / 1024 / running),
        jsHeapPerContainerKB: Math.round((during.heap - before.heap) / 1024 / running),
        fdsBefore: before.fds,
        fdsDuring: during.fds,
        fdsAfter: end.fds,
        fdsPerContainer: Math.round(((during.fds - before.fds) / running) * 100) / 100,
      },
    };
  } finally {
    await floor.stop();
    await inBatches(containers, 20, destroy);
  }
}

function startHeapChild(ctx, spec, heapMB) {
  // Room above the live heap so V8 never runs into its limit mid-run.
  const child = fork(path.join(here, 'heap-child.js'), [], {
    execArgv: [`--max-old-space-size=${Math.max(512, heapMB * 2)}`],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let pending = null;
  child.on('message', (m) => {
    const p = pending;
    pending = null;
    if (m.type === 'error') p?.reject(new Error(m.message));
    else p?.resolve(m);
  });
  child.on('exit', (code) => pending?.reject(new Error(`heap child exited (${code})`)));
  const ask = (msg) =>
    new Promise((resolve, reject) => {
      pending = { resolve, reject };
      child.send(msg);
    });
  return {
    ready: ask({ type: 'init', heapMB, spec, stateRoot: ctx.stateRoot }),
    run: async () => (await ask({ type: 'run' })).ms,
    stop: () => new Promise((r) => (child.exitCode !== null ? r() : (child.once('exit', r), child.disconnect()))),
  };
}

export async function heapSize(ctx, { rounds, smallMB = 50, largeMB = 2048 }) {
  const spec = makeSpec({ rootfs: ctx.rootfs, args: ['/bin/true'], cgroupsPath: `${CGROUP_PARENT}/heap` });
  // Each child's cgroup path must differ: they run concurrently with each other's setup.
  const specFor = (tag) => ({ ...spec, linux: { ...spec.linux, cgroupsPath: `${CGROUP_PARENT}/heap-${tag}` } });
  const small = startHeapChild(ctx, specFor('small'), smallMB);
  const large = startHeapChild(ctx, specFor('large'), largeMB);
  try {
    const [s, l] = await Promise.all([small.ready, large.ready]);
    const names = [`heap ${s.heapUsedMB} MB`, `heap ${l.heapUsedMB} MB`];
    const { samples, dropped } = await interleave(
      [
        { name: names[0], run: small.run },
        { name: names[1], run: large.run },
      ],
      rounds,
      { label: 'scaling: heap' },
    );
    const a = summarize(samples[names[0]]);
    const b = summarize(samples[names[1]]);
    return {
      small: { heapUsedMB: s.heapUsedMB, rssMB: s.rssMB, stats: a },
      large: { heapUsedMB: l.heapUsedMB, rssMB: l.rssMB, stats: b },
      dropped,
      ratio: ratio(b.p50, a.p50),
    };
  } finally {
    await Promise.all([small.stop(), large.stop()]);
  }
}
