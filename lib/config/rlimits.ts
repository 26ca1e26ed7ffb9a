// process.rlimits: refused here when prlimit would refuse them in the child.
import { ConfigError } from '../errors.js';
import { RLIMITS } from '../kernel/abi.js';
import type { CallerFacts } from './caller.js';
import { lookup, optArray, optObject, str } from './check.js';
import { DEFAULT_RLIMITS } from './defaults.js';

export interface ResolvedRlimit {
  type: string;
  soft: number;
  hard: number;
}

// OCI limits are uint64; 18446744073709551615 (RLIM_INFINITY) reaches JS as
// the double 2^64. Values from 2^53 up mean "unlimited" to the plan.
const UINT64_AS_DOUBLE = 2 ** 64;

function limitValue(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new ConfigError(field, `must be a non-negative integer, got ${describeValue(v)}`);
  if (v > UINT64_AS_DOUBLE) throw new ConfigError(field, `must be at most 18446744073709551615 (2^64-1, unlimited), got ${v}`);
  return v;
}

function describeValue(v: unknown): string {
  return typeof v === 'bigint' ? `${v}n (a BigInt)` : String(JSON.stringify(v) ?? v);
}

/** What the kernel sees: RLIM_INFINITY for anything the plan turns into it. */
function effective(v: number): number {
  return v >= Number.MAX_SAFE_INTEGER ? Infinity : v;
}

export function normalizeRlimits(v: unknown, field: string, caller: CallerFacts): ResolvedRlimit[] {
  const list = optArray(v, field) ?? DEFAULT_RLIMITS;
  // A hard limit can only be raised with CAP_SYS_RESOURCE (EPERM otherwise);
  // entries apply in order, so each is held to the one before it.
  const mayRaise = caller.caps.effective.has('CAP_SYS_RESOURCE');
  const hardNow = new Map<string, number>();
  return list.map((r, i) => {
    const f = `${field}[${i}]`;
    const o = optObject(r, f) ?? {};
    const type = str(o.type, `${f}.type`);
    if (lookup(RLIMITS, type) === undefined) throw new ConfigError(`${f}.type`, `unknown rlimit "${type.slice(0, 64)}"`);
    const soft = limitValue(o.soft, `${f}.soft`);
    const hard = limitValue(o.hard, `${f}.hard`);
    if (effective(soft) > effective(hard)) throw new ConfigError(`${f}.soft`, `soft limit ${soft} exceeds hard limit ${hard}`);
    if (type === 'RLIMIT_NOFILE' && effective(hard) > caller.nrOpen) {
      throw new ConfigError(`${f}.hard`, `RLIMIT_NOFILE hard limit ${hard} is above fs.nr_open (${caller.nrOpen}); the kernel refuses it`);
    }
    if (!mayRaise) {
      const current = hardNow.get(type) ?? caller.rlimit(type).hard;
      if (effective(hard) > current) {
        throw new ConfigError(`${f}.hard`, `raises the hard limit of ${type} from ${current} to ${hard}, which needs CAP_SYS_RESOURCE (this process lacks it)`);
      }
    }
    hardNow.set(type, effective(hard));
    return { type, soft, hard };
  });
}
