// process.execCPUAffinity: the CPUs an exec'd process runs on while berth-init
// joins the container (`initial`) and from its execve on (`final`, set after
// the move into the container's cgroup, whose cpuset may have reset it). The
// runtime-spec makes it an exec setting: the init's own copy is the default
// for every exec, and the init itself keeps what the kernel gives it.
import { ConfigError } from '../errors.js';
import { parseCpuList, possibleCpus } from '../host/index.js';
import { MASK_BITS } from '../kernel/task-attrs.js';
import { object, onlyKeys, str } from './check.js';

export interface ResolvedCpuAffinity {
  initial?: number[];
  final?: number[];
}

/** A kernel list ("0-3,7") of ids in `allowed`; `what` names them in messages. */
export function idList(v: unknown, field: string, allowed: Set<number>, what: string): number[] {
  const text = str(v, field);
  const ids = parseCpuList(text);
  if (ids === null) throw new ConfigError(field, `"${text}" is not a list like "0-3,7"`);
  for (const id of ids) {
    if (id >= MASK_BITS) throw new ConfigError(field, `${what} ${id}: at most ${MASK_BITS} can be named`);
    if (!allowed.has(id)) throw new ConfigError(field, `this host has no ${what} ${id} (it has ${[...allowed].join(',')})`);
  }
  return [...new Set(ids)].sort((a, b) => a - b);
}

export function normalizeCpuAffinity(v: unknown, field: string): ResolvedCpuAffinity | undefined {
  if (v === undefined || v === null) return undefined;
  const o = object(v, field);
  onlyKeys(o, field, ['initial', 'final']);
  const out: ResolvedCpuAffinity = {};
  for (const k of ['initial', 'final'] as const) {
    // "If omitted or empty, runtime SHOULD NOT change process' CPU affinity."
    if (o[k] === undefined || o[k] === '') continue;
    out[k] = idList(o[k], `${field}.${k}`, possibleCpus(), 'CPU');
  }
  return out.initial || out.final ? out : undefined;
}
