// linux.timeOffsets: the monotonic and boot-time clock offsets of a new time
// namespace. The kernel takes them only before the namespace's first process
// exists (berth-init writes them between its unshare and its setns), so they
// need a namespace berth makes, not one it joins.
import { ConfigError } from '../errors.js';
import { int, object, onlyKeys, optInt } from './check.js';
import { type ResolvedNamespace, ownsNamespace } from './namespaces.js';

export interface ResolvedTimeOffset {
  secs: number;
  nanosecs: number;
}

export type ResolvedTimeOffsets = Partial<Record<'monotonic' | 'boottime', ResolvedTimeOffset>>;

const CLOCKS = ['monotonic', 'boottime'] as const;
// The kernel keeps a clock plus its offset below KTIME_SEC_MAX / 2 (and not
// negative), so no offset beyond that can ever be written.
const MAX_OFFSET_SECS = 4611686018;

export function normalizeTimeOffsets(v: unknown, field: string, namespaces: ResolvedNamespace[]): ResolvedTimeOffsets | undefined {
  if (v === undefined || v === null) return undefined;
  const o = object(v, field);
  onlyKeys(o, field, CLOCKS);
  const out: ResolvedTimeOffsets = {};
  for (const clock of CLOCKS) {
    if (o[clock] === undefined) continue;
    const at = `${field}.${clock}`;
    const offset = object(o[clock], at);
    onlyKeys(offset, at, ['secs', 'nanosecs']);
    out[clock] = {
      secs: optInt(offset.secs, `${at}.secs`, -MAX_OFFSET_SECS, MAX_OFFSET_SECS) ?? 0,
      nanosecs: offset.nanosecs === undefined ? 0 : int(offset.nanosecs, `${at}.nanosecs`, 0, 999999999),
    };
  }
  if (Object.keys(out).length === 0) return undefined;
  if (!ownsNamespace(namespaces, 'time')) {
    const joined = namespaces.some((n) => n.type === 'time');
    throw new ConfigError(field, joined
      ? 'needs a new time namespace: the offsets of a joined one are fixed once a process is in it'
      : 'needs a new time namespace (linux.namespaces: { type: "time" })');
  }
  return out;
}

/** What berth-init writes to /proc/self/timens_offsets: one "<clock> <secs> <nanosecs>" line each. */
export function timensOffsetsText(offsets: ResolvedTimeOffsets): string {
  return CLOCKS.filter((c) => offsets[c]).map((c) => `${c} ${offsets[c]!.secs} ${offsets[c]!.nanosecs}\n`).join('');
}
