// What state, list and ps print: runc's shapes, without berth's own fields of
// the state record (ownerPid, pidStartTime, cgroupPaths, …).
import type { ContainerState } from '../../types/api.js';
import { CliError } from './errors.js';

export interface StateView {
  ociVersion: string;
  id: string;
  status: string;
  pid: number;
  bundle: string;
  rootfs: string;
  created: string;
  annotations: Record<string, string>;
}

/** The OCI state (`berth state`): pid 0 once stopped, as runc says it. */
export function stateView(s: ContainerState): StateView {
  return {
    ociVersion: s.ociVersion,
    id: s.id,
    status: s.status,
    pid: s.status === 'stopped' ? 0 : (s.pid ?? 0),
    bundle: s.bundle ?? '',
    rootfs: s.rootfs,
    created: s.created,
    annotations: s.annotations ?? {},
  };
}

export interface ListItem {
  ociVersion: string;
  id: string;
  pid: number;
  status: string;
  bundle: string;
  rootfs: string;
  created: string;
  annotations?: Record<string, string>;
  owner: string;
}

export function listItem(s: ContainerState, owner: string): ListItem {
  const v = stateView(s);
  return {
    ociVersion: v.ociVersion,
    id: v.id,
    pid: v.pid,
    status: v.status,
    bundle: v.bundle,
    rootfs: v.rootfs,
    created: v.created,
    ...(s.annotations && Object.keys(s.annotations).length ? { annotations: s.annotations } : {}),
    owner,
  };
}

/**
 * Go's text/tabwriter as runc's list sets it up (minwidth 12, padding 3,
 * padded with spaces): every cell but a row's last is padded to its column's
 * width, max(12, widest cell + 3).
 */
export function tabwrite(rows: readonly (readonly string[])[], minWidth = 12, padding = 3): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.slice(0, -1).forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? minWidth, cell.length + padding);
    });
  }
  return rows.map((row) => row.map((cell, i) => (i < row.length - 1 ? cell.padEnd(widths[i]!) : cell)).join('') + '\n').join('');
}

export function listTable(items: readonly ListItem[]): string {
  const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'], ...items.map((c) => [c.id, String(c.pid), c.status, c.bundle, c.created, c.owner])];
  return tabwrite(rows);
}

/** runc ps: the header and the rows of `ps` output whose PID column is one of the container's. */
export function filterPsOutput(output: string, pids: Iterable<number>): string {
  const lines = output.split('\n');
  const header = lines[0] ?? '';
  const pidIndex = header.trim().split(/\s+/).indexOf('PID');
  if (pidIndex < 0) throw new CliError("couldn't find PID field in ps output");
  const wanted = new Set(pids);
  const kept = lines.slice(1).filter((line) => {
    const fields = line.trim().split(/\s+/);
    const pid = Number(fields[pidIndex]);
    return line.trim() !== '' && Number.isInteger(pid) && wanted.has(pid);
  });
  return [header, ...kept].join('\n') + '\n';
}

/** JSON with BigInt values (cgroup counters) as numbers where exact, strings beyond. */
export function toJson(value: unknown, indent?: number | string): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? (v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v), indent);
}
