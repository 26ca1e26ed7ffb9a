// linux.memoryPolicy (runtime-spec 1.3): set_mempolicy(2)'s mode, nodes and
// flags for every process of the container. The rules set_mempolicy applies
// are checked here, so what it would refuse is a ConfigError naming the field.
import { ConfigError } from '../errors.js';
import { kernelHasWeightedInterleave, possibleNodes } from '../host/index.js';
import { MASK_BITS, MPOL_FLAGS, MPOL_MODES } from '../kernel/task-attrs.js';
import { object, onlyKeys, optArray, str } from './check.js';
import { idList } from './cpu-affinity.js';

export type MemoryPolicyMode = keyof typeof MPOL_MODES;
export type MemoryPolicyFlag = keyof typeof MPOL_FLAGS;

export interface ResolvedMemoryPolicy {
  mode: MemoryPolicyMode;
  nodes: number[];
  flags: MemoryPolicyFlag[];
}

const NO_NODES: readonly string[] = ['MPOL_DEFAULT', 'MPOL_LOCAL'];
// MPOL_PREFERRED alone may be empty (it then means local allocation).
const OPTIONAL_NODES: readonly string[] = ['MPOL_PREFERRED'];
const NUMA_BALANCING_MODES: readonly string[] = ['MPOL_BIND', 'MPOL_PREFERRED_MANY'];

/** The modes this kernel's set_mempolicy knows. */
export function memoryPolicyModes(): MemoryPolicyMode[] {
  return (Object.keys(MPOL_MODES) as MemoryPolicyMode[]).filter((m) => m !== 'MPOL_WEIGHTED_INTERLEAVE' || kernelHasWeightedInterleave());
}

export function normalizeMemoryPolicy(v: unknown, field: string): ResolvedMemoryPolicy | undefined {
  if (v === undefined || v === null) return undefined;
  const o = object(v, field);
  onlyKeys(o, field, ['mode', 'nodes', 'flags']);
  const mode = str(o.mode, `${field}.mode`);
  if (!(mode in MPOL_MODES)) throw new ConfigError(`${field}.mode`, `must be one of ${Object.keys(MPOL_MODES).join(', ')}, got "${mode}"`);
  if (!memoryPolicyModes().includes(mode as MemoryPolicyMode)) throw new ConfigError(`${field}.mode`, `${mode} needs Linux 6.9 or later`);
  const flags = (optArray(o.flags, `${field}.flags`) ?? []).map((x, i) => {
    const flag = str(x, `${field}.flags[${i}]`);
    if (!(flag in MPOL_FLAGS)) throw new ConfigError(`${field}.flags[${i}]`, `unknown memory policy flag "${flag}" (expected one of: ${Object.keys(MPOL_FLAGS).join(', ')})`);
    if (flag === 'MPOL_F_NUMA_BALANCING' && !NUMA_BALANCING_MODES.includes(mode)) {
      throw new ConfigError(`${field}.flags[${i}]`, `MPOL_F_NUMA_BALANCING works only with ${NUMA_BALANCING_MODES.join(' or ')}`);
    }
    return flag as MemoryPolicyFlag;
  });
  const relative = flags.includes('MPOL_F_RELATIVE_NODES');
  if (relative && flags.includes('MPOL_F_STATIC_NODES')) throw new ConfigError(`${field}.flags`, 'MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other');
  const given = o.nodes === undefined || o.nodes === '' ? undefined : o.nodes;
  // Relative node ids are positions in the allowed set, not node ids.
  const allowed = relative ? new Set(Array.from({ length: MASK_BITS }, (_, i) => i)) : possibleNodes();
  const nodes = given === undefined ? [] : idList(given, `${field}.nodes`, allowed, 'NUMA node');
  if (NO_NODES.includes(mode) && nodes.length > 0) throw new ConfigError(`${field}.nodes`, `${mode} takes no nodes`);
  if (!NO_NODES.includes(mode) && nodes.length === 0 && !(OPTIONAL_NODES.includes(mode) && flags.length === 0)) {
    throw new ConfigError(`${field}.nodes`, `${mode}${flags.length ? ' with flags' : ''} needs at least one node`);
  }
  if (NO_NODES.includes(mode) && flags.length > 0) throw new ConfigError(`${field}.flags`, `${mode} takes no flags`);
  return { mode: mode as MemoryPolicyMode, nodes, flags };
}
