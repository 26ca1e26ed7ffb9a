// Admission control for container setups. A setup is CPU-bound kernel work in
// a process of its own (namespaces, mounts, cgroups); with a hundred of them
// runnable at once on a few cores, the Node thread gets a hundredth of a CPU
// and its event loop stalls for tens of milliseconds. Letting a few run at a
// time (one per core, plus one) keeps the loop responsive at the same
// throughput (measured on 2 cores: 100 concurrent run()s, event-loop delay p99
// ~45 ms unlimited, ~17 ms at 2 per core, ~11 ms at cores + 1; same wall time).
import os from 'node:os';

const limit = os.availableParallelism() + 1;
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
