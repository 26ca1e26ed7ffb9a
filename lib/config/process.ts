// process: args, env, cwd, user, capabilities, rlimits, terminal, stdio, for
// the init and (through exec.ts) for every exec'd process.
import type { StdioOption } from '../../types/api.js';
import { ConfigError } from '../errors.js';
import type { CallerFacts } from './caller.js';
import { type ResolvedCapabilities, normalizeCapabilities } from './capabilities.js';
import { UINT32_ID_MAX, containerPath, int, lookup, isObject, optArray, optBool, optInt, optObject, str, strArray } from './check.js';
import { DEFAULT_PATH } from './defaults.js';
import { checkExecveTotal, execString } from './execve-limits.js';
import { type ResolvedRlimit, normalizeRlimits } from './rlimits.js';
import { type ResolvedCpuAffinity, normalizeCpuAffinity } from './cpu-affinity.js';
import { lsmSetting } from './lsm.js';
import { type ResolvedScheduler, normalizeScheduler } from './scheduler.js';

export type { ResolvedCapabilities } from './capabilities.js';

export interface ResolvedProcess {
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  additionalGids: number[];
  umask: number;
  capabilities: ResolvedCapabilities;
  rlimits: ResolvedRlimit[];
  noNewPrivileges: boolean;
  oomScoreAdj?: number;
  /** ioprio_set value: class << 13 | level. */
  ioPriority?: number;
  terminal: boolean;
  consoleSize?: { width: number; height: number };
  stdio: StdioOption[];
  scheduler?: ResolvedScheduler;
  /** Applies to exec'd processes only (runtime-spec); the init's is their default. */
  execCPUAffinity?: ResolvedCpuAffinity;
  apparmorProfile?: string;
  selinuxLabel?: string;
}

const IOPRIO_CLASSES: Record<string, number> = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 };

export function normalizeEnv(v: unknown, field: string): string[] {
  if (v === undefined) return [];
  if (Array.isArray(v)) {
    return v.map((e, i) => {
      const s = str(e, `${field}[${i}]`);
      if (!s.includes('=') || s.startsWith('=')) throw new ConfigError(`${field}[${i}]`, `"${s.slice(0, 64)}" is not KEY=VALUE`);
      execString(s, `${field}[${i}]`);
      return s;
    });
  }
  if (!isObject(v)) throw new ConfigError(field, 'must be an array of KEY=VALUE strings or an object');
  return Object.entries(v).map(([k, val]) => {
    if (k === '' || k.includes('=') || k.includes('\0')) throw new ConfigError(`${field}.${k}`, 'is not a valid variable name');
    const s = `${k}=${str(val, `${field}.${k}`)}`;
    execString(s, `${field}.${k}`);
    return s;
  });
}

function normalizeStdio(v: unknown, field: string): StdioOption[] {
  const one = (x: unknown, f: string): StdioOption => {
    if (x === 'pipe' || x === 'inherit' || x === 'ignore') return x;
    if (typeof x === 'number' && Number.isInteger(x) && x >= 0) return x;
    throw new ConfigError(f, "must be 'pipe', 'inherit', 'ignore' or a file descriptor");
  };
  if (v === undefined) return ['pipe', 'pipe', 'pipe'];
  if (!Array.isArray(v)) {
    const s = one(v, field);
    return [s, s, s];
  }
  if (v.length > 64) throw new ConfigError(field, 'at most 64 entries');
  const out = v.map((x, i) => {
    const s = one(x, `${field}[${i}]`);
    if (s === 'pipe' && i > 2) throw new ConfigError(`${field}[${i}]`, "'pipe' is only available for 0, 1 and 2 (pass an fd)");
    return s;
  });
  while (out.length < 3) out.push('pipe');
  return out;
}

// setgroups(2) refuses more than NGROUPS_MAX groups (EINVAL).
const NGROUPS_MAX = 65536;

function additionalGids(v: unknown, field: string): number[] {
  const list = optArray(v, field) ?? [];
  if (list.length > NGROUPS_MAX) throw new ConfigError(field, `has ${list.length} groups; the kernel takes at most ${NGROUPS_MAX} (NGROUPS_MAX)`);
  return list.map((g, i) => int(g, `${field}[${i}]`, 0, UINT32_ID_MAX));
}

/** literal: an OCI bundle's process, taken as the spec reads it (no berth defaults such as no_new_privs). */
export function normalizeProcess(raw: unknown, field: string, caller: CallerFacts, { literal = false }: { literal?: boolean } = {}): ResolvedProcess {
  if (raw === undefined) throw new ConfigError(field, 'is required: process.args names the program to run');
  const p = optObject(raw, field) ?? {};
  const args = strArray(p.args, `${field}.args`);
  if (args.length === 0) throw new ConfigError(`${field}.args`, 'must name the program to run');
  if (args[0] === '') throw new ConfigError(`${field}.args[0]`, 'must not be empty');
  args.forEach((a, i) => execString(a, `${field}.args[${i}]`));
  const env = normalizeEnv(p.env, `${field}.env`);
  if (!env.some((e) => e.startsWith('PATH='))) env.unshift(`PATH=${DEFAULT_PATH}`);
  const terminal = optBool(p.terminal, `${field}.terminal`) ?? false;
  const size = optObject(p.consoleSize, `${field}.consoleSize`);
  const consoleSize = size && {
    width: int(size.width, `${field}.consoleSize.width`, 1, 0xffff),
    height: int(size.height, `${field}.consoleSize.height`, 1, 0xffff),
  };
  if (consoleSize && !terminal) throw new ConfigError(`${field}.consoleSize`, 'needs terminal: true');
  const stdio = normalizeStdio((p as { stdio?: unknown }).stdio, `${field}.stdio`);
  // The terminal becomes 0-2; extra fds (3+) still pass through.
  if (terminal) stdio.splice(0, 3, 'ignore', 'ignore', 'ignore');
  if (terminal && !env.some((e) => e.startsWith('TERM='))) env.push('TERM=xterm');
  const user = optObject(p.user, `${field}.user`) ?? {};
  if (user.username !== undefined) throw new ConfigError(`${field}.user.username`, 'is not supported (use numeric uid/gid)');
  const uid = optInt(user.uid, `${field}.user.uid`, 0, UINT32_ID_MAX) ?? 0;
  const capabilities = normalizeCapabilities(p.capabilities, `${field}.capabilities`, uid, caller);
  const rlimits = normalizeRlimits(p.rlimits, `${field}.rlimits`, caller);
  // The stack limit execve measures args and env against is the container's
  // own RLIMIT_STACK when it sets one (applied before execve), else this process's.
  const stack = rlimits.filter((r) => r.type === 'RLIMIT_STACK').pop();
  checkExecveTotal(args, env, { args: `${field}.args`, env: `${field}.env` }, () =>
    stack ? (stack.soft >= Number.MAX_SAFE_INTEGER ? Infinity : stack.soft) : caller.rlimit('RLIMIT_STACK').soft,
  );
  const cwd = p.cwd === undefined ? '/' : containerPath(p.cwd, `${field}.cwd`);
  const oomScoreAdj = optInt(p.oomScoreAdj, `${field}.oomScoreAdj`, -1000, 1000);
  const io = optObject(p.ioPriority, `${field}.ioPriority`);
  let ioPriority: number | undefined;
  if (io) {
    const cls = lookup(IOPRIO_CLASSES, str(io.class, `${field}.ioPriority.class`));
    if (cls === undefined) throw new ConfigError(`${field}.ioPriority.class`, `must be one of ${Object.keys(IOPRIO_CLASSES).join(', ')}`);
    ioPriority = (cls << 13) | int(io.priority, `${field}.ioPriority.priority`, 0, 7);
  }
  const scheduler = normalizeScheduler(p.scheduler, `${field}.scheduler`);
  const execCPUAffinity = normalizeCpuAffinity(p.execCPUAffinity, `${field}.execCPUAffinity`);
  const apparmorProfile = lsmSetting(p.apparmorProfile, `${field}.apparmorProfile`, 'apparmor');
  const selinuxLabel = lsmSetting(p.selinuxLabel, `${field}.selinuxLabel`, 'selinux');
  return {
    args,
    env,
    cwd,
    uid,
    gid: optInt(user.gid, `${field}.user.gid`, 0, UINT32_ID_MAX) ?? 0,
    additionalGids: additionalGids(user.additionalGids, `${field}.user.additionalGids`),
    umask: optInt(user.umask, `${field}.user.umask`, 0, 0o777) ?? 0o022,
    capabilities,
    rlimits,
    noNewPrivileges: optBool(p.noNewPrivileges, `${field}.noNewPrivileges`) ?? !literal,
    ...(oomScoreAdj !== undefined ? { oomScoreAdj } : {}),
    ...(ioPriority !== undefined ? { ioPriority } : {}),
    terminal,
    ...(consoleSize ? { consoleSize } : {}),
    stdio,
    ...(scheduler ? { scheduler } : {}),
    ...(execCPUAffinity ? { execCPUAffinity } : {}),
    ...(apparmorProfile !== undefined ? { apparmorProfile } : {}),
    ...(selinuxLabel !== undefined ? { selinuxLabel } : {}),
  };
}

