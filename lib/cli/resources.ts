// update's LinuxResources: from -r/--resources FILE (`-`: stdin) and/or
// runc's flags over it (sizes as runc takes them: 100m, 1g, -1).
import type { LinuxResources } from '../../types/oci.js';
import { type FlagDef, type Parsed, parseInteger, str } from './args.js';
import { CliError } from './errors.js';
import { parseSize } from './units.js';

export const UPDATE_FLAGS: FlagDef[] = [
  { name: 'resources', short: 'r', kind: 'string' },
  { name: 'memory', kind: 'string' },
  { name: 'memory-swap', kind: 'string' },
  { name: 'memory-reservation', kind: 'string' },
  { name: 'kernel-memory', kind: 'string' },
  { name: 'kernel-memory-tcp', kind: 'string' },
  { name: 'cpu-share', kind: 'string', aliases: ['cpu-shares'] },
  { name: 'cpu-period', kind: 'string' },
  { name: 'cpu-quota', kind: 'string' },
  { name: 'cpu-burst', kind: 'string' },
  { name: 'cpu-rt-period', kind: 'string' },
  { name: 'cpu-rt-runtime', kind: 'string' },
  { name: 'cpu-idle', kind: 'string' },
  { name: 'cpuset-cpus', kind: 'string' },
  { name: 'cpuset-mems', kind: 'string' },
  { name: 'pids-limit', kind: 'string' },
  { name: 'blkio-weight', kind: 'string' },
];

export function resourcesFromJson(text: string, source: string): LinuxResources {
  let r: unknown;
  try {
    r = JSON.parse(text);
  } catch (err) {
    throw new CliError(`cannot parse resources from ${source}: ${(err as Error).message}`);
  }
  if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new CliError(`resources from ${source} are not a JSON object`);
  return r as LinuxResources;
}

export function buildResources(p: Parsed, base: LinuxResources = {}): LinuxResources {
  const r: LinuxResources = { ...base };
  const size = (flag: string): number | undefined => {
    const v = str(p, flag);
    return v === undefined ? undefined : parseSize(v, flag);
  };
  const num = (flag: string, min?: number): number | undefined => {
    const v = str(p, flag);
    return v === undefined ? undefined : parseInteger(v, `--${flag}`, min === undefined ? {} : { min });
  };
  const memory = {
    limit: size('memory'),
    swap: size('memory-swap'),
    reservation: size('memory-reservation'),
    kernel: size('kernel-memory'),
    kernelTCP: size('kernel-memory-tcp'),
  };
  const cpu = {
    shares: num('cpu-share', 0),
    period: num('cpu-period', 0),
    quota: num('cpu-quota'),
    burst: num('cpu-burst', 0),
    realtimePeriod: num('cpu-rt-period', 0),
    realtimeRuntime: num('cpu-rt-runtime'),
    idle: num('cpu-idle'),
    cpus: str(p, 'cpuset-cpus'),
    mems: str(p, 'cpuset-mems'),
  };
  const defined = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
  const mem = defined(memory);
  if (Object.keys(mem).length) r.memory = { ...r.memory, ...mem };
  const c = defined(cpu);
  if (Object.keys(c).length) r.cpu = { ...r.cpu, ...c };
  const pids = num('pids-limit');
  if (pids !== undefined) r.pids = { limit: pids };
  const weight = num('blkio-weight', 0);
  if (weight !== undefined) {
    if (weight !== 0 && (weight < 10 || weight > 1000)) throw new CliError(`invalid value "${weight}" for --blkio-weight: must be 10-1000 (0: unchanged)`);
    if (weight !== 0) r.blockIO = { ...r.blockIO, weight };
  }
  return r;
}
