// process.scheduler: sched_setattr(2)'s policy, nice, priority, flags and the
// SCHED_DEADLINE parameters. The kernel's own parameter checks are made here,
// so a value it would refuse is a ConfigError naming the field, not a failed setup.
import { ConfigError } from '../errors.js';
import { SCHED_FLAGS, SCHED_POLICIES } from '../kernel/task-attrs.js';
import { int, object, onlyKeys, optArray, str } from './check.js';

export type SchedulerPolicy = keyof typeof SCHED_POLICIES;
export type SchedulerFlag = keyof typeof SCHED_FLAGS;

export interface ResolvedScheduler {
  policy: SchedulerPolicy;
  nice: number;
  priority: number;
  flags: SchedulerFlag[];
  /** SCHED_DEADLINE, in ns (0 otherwise). */
  runtime: number;
  deadline: number;
  period: number;
}

const REAL_TIME: readonly string[] = ['SCHED_FIFO', 'SCHED_RR'];
// SCHED_DEADLINE's runtime is kept in units of 2^10 ns (DL_SCALE): less is refused.
const DL_MIN_RUNTIME = 1 << 10;
// The kernel refuses a deadline or period with bit 63 set; JSON numbers stop well below.
const NS_MAX = Number.MAX_SAFE_INTEGER;

export function normalizeScheduler(v: unknown, field: string): ResolvedScheduler | undefined {
  if (v === undefined || v === null) return undefined;
  const o = object(v, field);
  onlyKeys(o, field, ['policy', 'nice', 'priority', 'flags', 'runtime', 'deadline', 'period']);
  const policy = str(o.policy, `${field}.policy`);
  if (!(policy in SCHED_POLICIES)) throw new ConfigError(`${field}.policy`, `must be one of ${Object.keys(SCHED_POLICIES).join(', ')}, got "${policy}"`);
  if (policy === 'SCHED_ISO') throw new ConfigError(`${field}.policy`, 'SCHED_ISO is reserved; Linux has never implemented it');
  const nice = o.nice === undefined ? 0 : int(o.nice, `${field}.nice`, -20, 19);
  const realTime = REAL_TIME.includes(policy);
  const priority = o.priority === undefined ? 0 : int(o.priority, `${field}.priority`, realTime ? 1 : 0, realTime ? 99 : 0);
  if (realTime && priority === 0) throw new ConfigError(`${field}.priority`, `${policy} needs a priority between 1 and 99`);
  const flags = (optArray(o.flags, `${field}.flags`) ?? []).map((x, i) => {
    const flag = str(x, `${field}.flags[${i}]`);
    if (!(flag in SCHED_FLAGS)) throw new ConfigError(`${field}.flags[${i}]`, `unknown scheduler flag "${flag}" (expected one of: ${Object.keys(SCHED_FLAGS).join(', ')})`);
    return flag as SchedulerFlag;
  });
  const ns = (k: 'runtime' | 'deadline' | 'period') => (o[k] === undefined ? 0 : int(o[k], `${field}.${k}`, 0, NS_MAX));
  const runtime = ns('runtime');
  const deadline = ns('deadline');
  const period = ns('period');
  if (policy !== 'SCHED_DEADLINE') {
    for (const k of ['runtime', 'deadline', 'period'] as const) {
      if ((o[k] ?? 0) !== 0) throw new ConfigError(`${field}.${k}`, 'is only for SCHED_DEADLINE');
    }
  } else {
    // __checkparam_dl(): runtime <= deadline <= period (a period of 0 means the deadline).
    if (deadline === 0) throw new ConfigError(`${field}.deadline`, 'SCHED_DEADLINE needs a deadline (ns)');
    if (runtime < DL_MIN_RUNTIME) throw new ConfigError(`${field}.runtime`, `SCHED_DEADLINE needs a runtime of at least ${DL_MIN_RUNTIME} ns`);
    if (runtime > deadline) throw new ConfigError(`${field}.runtime`, `must not exceed the deadline (${deadline} ns)`);
    if (period !== 0 && period < deadline) throw new ConfigError(`${field}.period`, `must not be shorter than the deadline (${deadline} ns)`);
  }
  return { policy: policy as SchedulerPolicy, nice, priority, flags, runtime, deadline, period };
}
