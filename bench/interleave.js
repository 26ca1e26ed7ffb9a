// Round-robin sampling: every round runs each runner once, in a fresh random
// order, so drift on this shared, noisy machine (other tenants, kernel netns
// cleanup work, thermal) hits all runners alike and their ratios stay honest.
// A runner that keeps failing is dropped with its error, the others go on.

function shuffle(a) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Rejects after ms: one hung runtime call must not hang the whole bench (and skip its cleanup). */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer after ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * runners: [{ name, run: () => Promise<ms> }]. Warm-up rounds (page cache,
 * lazy binding, JIT) are run but not kept. order: 'random' (a fresh shuffle
 * each round) or 'rotate' (round i starts at runner i mod n, keeping the list's
 * cyclic order, so every runner follows every other equally often).
 * Returns { samples: {name: ms[]}, dropped: {name: reason} }.
 */
export async function interleave(runners, rounds, { warmup = 3, label = '', order = 'random' } = {}) {
  const samples = Object.fromEntries(runners.map((r) => [r.name, []]));
  const errors = Object.fromEntries(runners.map((r) => [r.name, 0]));
  const dropped = {};
  const tick = Math.max(1, Math.floor(rounds / 10));
  for (let i = -warmup; i < rounds; i++) {
    const live = runners.filter((x) => !dropped[x.name]);
    const k = live.length ? (((i + warmup) % live.length) + live.length) % live.length : 0;
    for (const r of order === 'rotate' ? [...live.slice(k), ...live.slice(0, k)] : shuffle(live)) {
      try {
        const ms = await withTimeout(r.run(), 30_000, r.name);
        if (i >= 0) samples[r.name].push(ms);
      } catch (err) {
        if (++errors[r.name] >= 3) {
          dropped[r.name] = err.message;
          console.error(`  ${label}: dropping ${r.name}: ${err.message}`);
        }
      }
    }
    if (i >= 0 && (i + 1) % tick === 0) process.stderr.write(`\r  ${label}: ${i + 1}/${rounds} rounds`);
  }
  process.stderr.write('\n');
  return { samples, dropped };
}
