// process.capabilities: names checked, then the sets held to what capset(2)
// will accept in the child (security/commoncap.c, cap_capset), so a config the
// kernel refuses is a ConfigError naming the capability, not EPERM at setup.
// The child drops the bounding set, changes uid (keeping caps), then calls
// capset with effective, permitted and inheritable, then raises ambient caps.
import { ConfigError } from '../errors.js';
import { capLast } from '../host/index.js';
import { CAPABILITIES } from '../kernel/abi.js';
import type { CallerFacts } from './caller.js';
import { optObject, strArray } from './check.js';
import { DEFAULT_CAPABILITIES } from './defaults.js';

export interface ResolvedCapabilities {
  bounding: string[];
  effective: string[];
  permitted: string[];
  inheritable: string[];
  ambient: string[];
}

function capList(v: unknown, field: string, fallback: readonly string[]): string[] {
  if (v === undefined) return [...fallback];
  return strArray(v, field).map((c, i) => {
    const name = c.toUpperCase().startsWith('CAP_') ? c.toUpperCase() : `CAP_${c.toUpperCase()}`;
    if (!(CAPABILITIES as readonly string[]).includes(name)) throw new ConfigError(`${field}[${i}]`, `unknown capability "${c}"`);
    return name;
  });
}

function requireSubset(list: string[], field: string, allowed: (cap: string) => boolean, why: string): void {
  list.forEach((c, i) => {
    if (!allowed(c)) throw new ConfigError(`${field}[${i}]`, `${c} ${why}`);
  });
}

export function normalizeCapabilities(raw: unknown, field: string, uid: number, caller: CallerFacts): ResolvedCapabilities {
  const caps = optObject(raw, field);
  const sets: ResolvedCapabilities = {
    // A capabilities object names every set it wants: one it leaves out is empty, as runc
    // reads it (Docker writes {} for --cap-drop ALL; a defaulted bounding set would hand a
    // root process those capabilities back at its next execve).
    bounding: capList(caps?.bounding, `${field}.bounding`, caps ? [] : DEFAULT_CAPABILITIES),
    effective: capList(caps?.effective, `${field}.effective`, caps ? [] : DEFAULT_CAPABILITIES),
    permitted: capList(caps?.permitted, `${field}.permitted`, caps ? [] : DEFAULT_CAPABILITIES),
    inheritable: capList(caps?.inheritable, `${field}.inheritable`, []),
    ambient: capList(caps?.ambient, `${field}.ambient`, []),
  };
  const host = caller.caps;
  // Dropping from the bounding set needs CAP_SETPCAP, and the child drops every
  // capability the list leaves out.
  if (!host.effective.has('CAP_SETPCAP') && CAPABILITIES.slice(0, capLast() + 1).some((c) => !sets.bounding.includes(c))) {
    throw new ConfigError(`${field}.bounding`, 'leaves out capabilities, and this process lacks CAP_SETPCAP to drop them');
  }
  // New permitted ⊆ old permitted: capset cannot grant what this process lacks.
  requireSubset(sets.permitted, `${field}.permitted`, (c) => host.permitted.has(c), 'is not in this process\'s permitted set, so the kernel cannot grant it');
  // New effective ⊆ new permitted.
  requireSubset(sets.effective, `${field}.effective`, (c) => sets.permitted.includes(c), 'is not in the permitted set (effective capabilities must be permitted)');
  // New inheritable ⊆ old inheritable ∪ the (already dropped) bounding set.
  requireSubset(
    sets.inheritable,
    `${field}.inheritable`,
    (c) => host.inheritable.has(c) || (sets.bounding.includes(c) && host.bounding.has(c)),
    'is not in the bounding set (the kernel refuses inheritable capabilities outside it)',
  );
  // Without CAP_SETPCAP in effect at capset (a non-zero uid has none left by then),
  // new inheritable ⊆ old inheritable ∪ old permitted as well.
  if (uid !== 0 || !host.effective.has('CAP_SETPCAP')) {
    requireSubset(sets.inheritable, `${field}.inheritable`, (c) => host.inheritable.has(c) || host.permitted.has(c), 'is neither inheritable nor permitted in this process');
  }
  // The kernel only raises an ambient capability that is also permitted and
  // inheritable; runc and crun skip the others (`runc spec` lists ambient caps
  // with no inheritable set), and so does berth.
  sets.ambient = sets.ambient.filter((c) => sets.permitted.includes(c) && sets.inheritable.includes(c));
  return sets;
}
