// Which cgroup layout the host has, read from /proc/self/mountinfo:
//   v2     — only cgroup2 is mounted (normally at /sys/fs/cgroup)
//   hybrid — v1 controllers under /sys/fs/cgroup/<controller> AND a cgroup2 tree
//            (usually /sys/fs/cgroup/unified) that holds whatever v1 does not
//   v1     — only v1 controllers
// mountinfo rather than statfs(/sys/fs/cgroup) because hybrid hosts differ in
// where they mount things, and we need each controller's mount point anyway.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { CgroupError } from '../errors.js';

export type CgroupLayout = 'v2' | 'hybrid' | 'v1';

/** The v1 controllers berth knows how to use or must join so a container is fully placed. */
export const V1_CONTROLLERS = [
  'cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids',
  'hugetlb', 'net_cls', 'net_prio', 'perf_event', 'rdma', 'misc',
] as const;

export interface CgroupHierarchies {
  layout: CgroupLayout;
  /** Mount point of the cgroup2 tree (null on pure v1). */
  unifiedMount: string | null;
  /** v1 controller name -> mount point. Co-mounted controllers (cpu,cpuacct) share one. */
  v1: Record<string, string>;
  /**
   * Those of the mount points above that are mounted read-only (per-mount
   * option `ro`): a job container that was not given a writable cgroup tree.
   * Absent means none is.
   */
  readOnly?: string[];
}

// mountinfo escapes space, tab, newline and backslash as octal.
function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function parseMountinfo(text: string): CgroupHierarchies {
  const v1: Record<string, string> = {};
  const unified: string[] = [];
  // The last mount at a point is the one paths resolve to (mountinfo lists in mount order).
  const ro = new Map<string, boolean>();
  const known = new Set<string>(V1_CONTROLLERS);
  for (const line of text.split('\n')) {
    if (!line) continue;
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const pre = line.slice(0, dash).split(' ');
    const post = line.slice(dash + 3).split(' ');
    const mountPoint = unescapeMountField(pre[4] ?? '');
    const fstype = post[0];
    if (fstype === 'cgroup2' || fstype === 'cgroup') ro.set(mountPoint, (pre[5] ?? '').split(',').includes('ro'));
    if (fstype === 'cgroup2') {
      unified.push(mountPoint);
    } else if (fstype === 'cgroup') {
      // Super options carry the controllers ("rw,cpu,cpuacct"); named hierarchies
      // (name=systemd) have no controllers and are not berth's to manage.
      for (const opt of (post[2] ?? '').split(',')) {
        if (known.has(opt) && v1[opt] === undefined) v1[opt] = mountPoint;
      }
    }
  }
  // Prefer the conventional places when several cgroup2 mounts exist (bind mounts, containers).
  unified.sort((a, b) => a.length - b.length);
  const unifiedMount = unified.find((m) => m === '/sys/fs/cgroup' || m === '/sys/fs/cgroup/unified') ?? unified[0] ?? null;
  const hasV1 = Object.keys(v1).length > 0;
  let layout: CgroupLayout;
  if (hasV1) layout = unifiedMount ? 'hybrid' : 'v1';
  else if (unifiedMount) layout = 'v2';
  else {
    throw new CgroupError({ step: 'detect', path: '/proc/self/mountinfo', errno: 'ENOENT', message: 'no cgroup hierarchy is mounted' });
  }
  const used = new Set([...Object.values(v1), ...(unifiedMount ? [unifiedMount] : [])]);
  const readOnly = [...used].filter((m) => ro.get(m) === true);
  return { layout, unifiedMount, v1, ...(readOnly.length > 0 ? { readOnly } : {}) };
}

export async function readHierarchies(mountinfo = '/proc/self/mountinfo'): Promise<CgroupHierarchies> {
  return parseMountinfo(await readFile(mountinfo, 'utf8'));
}

/** Synchronous variant for the one-time detection behind createCgroupManager(), which is sync by contract. */
export function readHierarchiesSync(mountinfo = '/proc/self/mountinfo'): CgroupHierarchies {
  return parseMountinfo(readFileSync(mountinfo, 'utf8'));
}

// Detected once per process: the layout is fixed at boot and mountinfo parsing is not free.
let cached: CgroupHierarchies | undefined;

/** The host's cgroup hierarchies, detected once per process. */
export async function detectLayout(): Promise<CgroupHierarchies> {
  cached ??= await readHierarchies();
  return cached;
}

export function detectLayoutSync(): CgroupHierarchies {
  cached ??= readHierarchiesSync();
  return cached;
}
