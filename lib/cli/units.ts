// Sizes and durations as runc's flags take them: go-units RAMInBytes (100m,
// 1g, 512k, 1.5GiB: binary multiples) and Go's time.ParseDuration (5s, 100ms, 1m30s).
import { CliError } from './errors.js';

const SIZE_UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

/** Bytes; `-1` (unlimited) passes as -1. */
export function parseSize(raw: string, what = 'size'): number {
  if (raw.trim() === '-1') return -1;
  const m = /^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(raw.trim());
  if (!m) throw new CliError(`invalid value for ${what}: invalid size: '${raw}'`);
  const n = Math.floor(Number(m[1]) * SIZE_UNITS[(m[2] ?? '').toLowerCase()]!);
  if (!Number.isSafeInteger(n)) throw new CliError(`invalid value for ${what}: size out of range: '${raw}'`);
  return n;
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds. */
export function parseDuration(raw: string, what = 'duration'): number {
  const s = raw.trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let at = 0;
  while (at < s.length) {
    re.lastIndex = at;
    const m = re.exec(s);
    if (!m) throw new CliError(`invalid value for ${what}: invalid duration "${raw}"`);
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    at = re.lastIndex;
  }
  if (s.length === 0) throw new CliError(`invalid value for ${what}: invalid duration "${raw}"`);
  return total;
}
