// What the host offers, for validating resources before anything is created:
// online CPUs and memory nodes (cpusets), huge page sizes (hugetlb) and block
// devices (blkio/io throttles and weights).
import { readdir, readFile } from 'node:fs/promises';
import { type CgroupLayout, detectLayout } from './cgroup-layout.js';

export interface HostCgroupInfo {
  layout: CgroupLayout;
  cpus: Set<number>;
  mems: Set<number>;
  /** Canonical OCI page sizes the kernel has, e.g. ['2MB', '1GB']. */
  hugepageSizes: string[];
  /** "major:minor" of every block device. */
  blockDevices: Set<string>;
}

/** Parses a kernel cpu/node list ("0-3,8,10-11"); null when malformed. */
export function parseCpuList(text: string): number[] | null {
  const t = text.trim();
  if (t === '') return [];
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(t)) return null;
  const out: number[] = [];
  for (const part of t.split(',')) {
    const [a, b] = part.split('-').map(Number) as [number, number | undefined];
    const end = b ?? a;
    if (end < a || end - a > 65536) return null;
    for (let i = a; i <= end; i++) out.push(i);
  }
  return out;
}

/** "hugepages-2048kB" size in kB -> OCI/kernel cgroup name "2MB". */
export function pageSizeName(kb: number): string {
  if (kb % (1024 * 1024) === 0) return `${kb / (1024 * 1024)}GB`;
  if (kb % 1024 === 0) return `${kb / 1024}MB`;
  return `${kb}KB`;
}

/** OCI pageSize ("2MB", "2048KB", "1GB") -> canonical name, or null when not a size. */
export function normalizePageSize(s: string): string | null {
  const m = /^(\d+)(KB|MB|GB)$/.exec(s);
  if (!m) return null;
  const kb = Number(m[1]) * (m[2] === 'KB' ? 1 : m[2] === 'MB' ? 1024 : 1024 * 1024);
  return kb > 0 ? pageSizeName(kb) : null;
}

async function readList(path: string, fallback: string): Promise<number[]> {
  try {
    return parseCpuList(await readFile(path, 'utf8')) ?? [];
  } catch {
    return parseCpuList(fallback) ?? [];
  }
}

async function readHost(): Promise<HostCgroupInfo> {
  const [{ layout }, cpus, mems, huge, blocks] = await Promise.all([
    detectLayout(),
    readList('/sys/devices/system/cpu/online', '0'),
    // Without NUMA the node directory can be absent: there is exactly node 0.
    readList('/sys/devices/system/node/online', '0'),
    readdir('/sys/kernel/mm/hugepages').catch(() => [] as string[]),
    readdir('/sys/dev/block').catch(() => [] as string[]),
  ]);
  const hugepageSizes = huge
    .map((d) => /^hugepages-(\d+)kB$/.exec(d))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => pageSizeName(Number(m[1])));
  return { layout, cpus: new Set(cpus), mems: new Set(mems), hugepageSizes, blockDevices: new Set(blocks) };
}

let cached: Promise<HostCgroupInfo> | undefined;

/** Host facts, read once per process (CPUs can be hot-plugged, but not mid-validation in practice). */
export function readHostCgroupInfo(): Promise<HostCgroupInfo> {
  cached ??= readHost().catch((err) => {
    cached = undefined;
    throw err;
  });
  return cached;
}
