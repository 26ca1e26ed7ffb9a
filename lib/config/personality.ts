// linux.personality: the execution domain of the container's processes
// (personality(2)). The runtime-spec allows LINUX and LINUX32 and, so far, no
// flags: the others are obsolete or weaken security (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC).
import { ConfigError } from '../errors.js';
import { PERSONALITY_DOMAINS } from '../kernel/task-attrs.js';
import { object, onlyKeys, optArray, str } from './check.js';

export interface ResolvedPersonality {
  domain: keyof typeof PERSONALITY_DOMAINS;
  flags: string[];
}

export function normalizePersonality(v: unknown, field: string): ResolvedPersonality | undefined {
  if (v === undefined || v === null) return undefined;
  const o = object(v, field);
  onlyKeys(o, field, ['domain', 'flags']);
  const domain = str(o.domain, `${field}.domain`);
  if (!(domain in PERSONALITY_DOMAINS)) throw new ConfigError(`${field}.domain`, `must be one of ${Object.keys(PERSONALITY_DOMAINS).join(', ')}, got "${domain}"`);
  const flags = optArray(o.flags, `${field}.flags`) ?? [];
  if (flags.length > 0) throw new ConfigError(`${field}.flags[0]`, 'the runtime-spec defines no personality flags yet');
  return { domain: domain as ResolvedPersonality['domain'], flags: [] };
}

export function personalityValue(p: ResolvedPersonality): number {
  return PERSONALITY_DOMAINS[p.domain];
}
