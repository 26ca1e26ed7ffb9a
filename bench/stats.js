// Summary statistics for latency samples (milliseconds). Percentiles use linear
// interpolation between closest ranks, so p99 of 200 samples is not just "the
// 2nd largest" and small runs (--quick) still give stable-ish numbers.

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

/** { n, min, p50, p90, p99, max, mean } of samples in ms, rounded to µs. */
export function summarize(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const r = (x) => Math.round(x * 1000) / 1000;
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  return {
    n: s.length,
    min: r(s[0] ?? NaN),
    p50: r(percentile(s, 50)),
    p90: r(percentile(s, 90)),
    p99: r(percentile(s, 99)),
    max: r(s[s.length - 1] ?? NaN),
    mean: r(mean),
  };
}

/** a / b rounded to 3 digits; null when either side is missing (a runtime was skipped). */
export function ratio(a, b) {
  if (a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return Math.round((a / b) * 1000) / 1000;
}

/** A target line for the results file: what was compared, the limit and the verdict. */
export function target(name, value, limit, { lessThan = false } = {}) {
  if (value == null) return { name, value: null, limit, pass: null, note: 'not measured' };
  const pass = lessThan ? value < limit : value <= limit;
  return { name, value, limit, op: lessThan ? '<' : '<=', pass };
}
