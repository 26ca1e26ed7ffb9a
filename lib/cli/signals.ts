// Signal names as runc's kill takes them (TERM, SIGTERM, term, 15, RTMIN+3) and
// the exit code of a process a signal ended (128 + its number, as a shell says it).
import os from 'node:os';
import { CliError } from './errors.js';

const SIGNALS = os.constants.signals as Record<string, number>;
const SIGRTMIN = 34;
const SIGRTMAX = 64;

/** A signal name Node knows ('SIGTERM'), or a number (real-time signals, numeric input). */
export function parseSignal(raw: string): NodeJS.Signals | number {
  const s = raw.trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n > SIGRTMAX) throw new CliError(`unknown signal "${raw}"`);
    const name = Object.keys(SIGNALS).find((k) => SIGNALS[k] === n);
    return name ? (name as NodeJS.Signals) : n;
  }
  let name = s.toUpperCase();
  if (!name.startsWith('SIG')) name = `SIG${name}`;
  if (name in SIGNALS) return name as NodeJS.Signals;
  const rt = /^SIGRT(MIN|MAX)(?:([+-])(\d+))?$/.exec(name);
  if (rt) {
    const base = rt[1] === 'MIN' ? SIGRTMIN : SIGRTMAX;
    const n = base + (rt[2] === '-' ? -1 : 1) * Number(rt[3] ?? 0);
    if (n >= SIGRTMIN && n <= SIGRTMAX) return n;
  }
  throw new CliError(`unknown signal "${raw}"`);
}

export function signalNumberOf(sig: string | number): number | undefined {
  return typeof sig === 'number' ? sig : SIGNALS[sig];
}

/** The exit code the CLI exits with for a process's end: its code, or 128 + the signal. */
export function exitStatusCode(st: { exitCode: number | null; signal: string | null }): number {
  if (st.exitCode !== null && st.exitCode !== undefined) return st.exitCode;
  if (st.signal) return 128 + (signalNumberOf(st.signal) ?? 0);
  return 255;
}
