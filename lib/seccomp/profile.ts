// A seccomp profile after validation (lib/config/seccomp.ts) or resolution
// (default-profile.ts): the OCI linux.seccomp shape with every name checked
// and every optional list present. Frozen, so a compiled program can be
// cached by the object itself (compile.ts).

export interface SeccompArg {
  /** 0–5. */
  index: number;
  /** uint64: a number up to 2^53, a BigInt above. MASKED_EQ: the mask. */
  value: number | bigint;
  /** MASKED_EQ: what the masked argument must equal; 0 otherwise. */
  valueTwo: number | bigint;
  op: string;
}

export interface SeccompRule {
  names: readonly string[];
  action: string;
  /** ERRNO and TRACE only. */
  errnoRet?: number;
  args: readonly SeccompArg[];
}

export interface ResolvedSeccomp {
  defaultAction: string;
  /** ERRNO and TRACE only; EPERM when absent. */
  defaultErrnoRet?: number;
  /** Besides the native one, which every filter has. */
  architectures: readonly string[];
  flags: readonly string[];
  syscalls: readonly SeccompRule[];
  /** The unix socket of an OCI agent that gets the notify listener (and the state JSON). */
  listenerPath?: string;
  /** Passed to that agent as the state's metadata. */
  listenerMetadata?: string;
}

/** A NOTIFY rule makes the filter hand out a listener someone must answer. */
export function notifies(profile: ResolvedSeccomp | null | undefined): boolean {
  return !!profile && profile.syscalls.some((r) => r.action === 'SCMP_ACT_NOTIFY');
}

export function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}
