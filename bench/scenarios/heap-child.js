// A Node process with a chosen amount of LIVE heap that runs berth on request.
// Started by scaling.js with --max-old-space-size large enough; the point is to
// price whatever a runtime does that scales with the parent's memory (a fork()
// copies the page tables of every mapped page; CLONE_VM/vfork-style clones don't).
import { berthConfig, loadBerth, timeBerthRun } from '../berth.js';

const keep = []; // everything allocated stays reachable for the life of the process

function fillHeap(targetMB) {
  const target = targetMB * 1024 * 1024;
  const used = () => process.memoryUsage().heapUsed;
  // A quarter as small objects (a realistic, pointer-rich heap for the GC to
  // trace), the rest as large arrays of doubles (fast to allocate, all on the V8
  // heap, every page written so it is really resident).
  while (used() < target / 4) {
    const a = new Array(10000);
    for (let i = 0; i < a.length; i++) a[i] = { i, s: `o${i}`, next: null };
    keep.push(a);
  }
  while (used() < target) {
    for (let k = 0; k < 16; k++) keep.push(new Array(1 << 18).fill(Math.random())); // 2 MB each
  }
}

let berth;
let init;

process.on('message', async (msg) => {
  try {
    if (msg.type === 'init') {
      init = msg;
      ({ berth } = await loadBerth());
      fillHeap(msg.heapMB);
      const m = process.memoryUsage();
      process.send({ type: 'ready', heapUsedMB: Math.round(m.heapUsed / 2 ** 20), rssMB: Math.round(m.rss / 2 ** 20) });
    } else if (msg.type === 'run') {
      const ms = await timeBerthRun(berth, berthConfig(init.spec, init.stateRoot));
      process.send({ type: 'ms', ms });
    }
  } catch (err) {
    process.send({ type: 'error', message: err.message });
  }
});
process.on('disconnect', () => process.exit(0));
