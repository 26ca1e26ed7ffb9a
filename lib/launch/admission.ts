// Admission control for container setups. A setup is CPU-bound kernel work in
// a process of its own (namespaces, mounts, cgroups) and in the worker thread
// that clones it; with a hundred of them runnable at once on a few cores, the
// Node thread gets a hundredth of a CPU and its event loop stalls for tens of
// milliseconds. One core is left to the event loop: at most cores - 1 setups
// (at least one) run at a time. Measured on 2 cores, 100 concurrent run()s,
// event-loop delay p99 / throughput: unlimited ~45 ms; cores + 1: 10-15 ms,
// ~180/s; cores: 6-8 ms, ~180/s; cores - 1: 4-5.5 ms, ~140/s.
import os from 'node:os';

const limit = Math.max(1, os.availableParallelism() - 1);
let active = 0;
const waiting: Array<() => void> = [];

/** Resolves with a release function once a setup slot is free. */
export async function setupSlot(): Promise<() => void> {
  if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
  active++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    active--;
    waiting.shift()?.();
  };
}
