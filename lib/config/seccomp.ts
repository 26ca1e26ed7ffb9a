// linux.seccomp: every field of the OCI profile checked (a ConfigError names
// the JSON path of the first bad one, before anything exists), or berth's
// default profile when a createContainer() config says nothing. An OCI
// bundle's config.json is taken literally, as the runtime-spec says: no
// profile there, no filter (engines pass their own).
import os from 'node:os';
import { ConfigError } from '../errors.js';
import { PROFILE_CAPABILITIES, defaultProfile } from '../seccomp/default-profile.js';
import { type ResolvedSeccomp, type SeccompArg, type SeccompRule, deepFreeze } from '../seccomp/profile.js';
import { ACTIONS, ARCHITECTURES, FLAGS, OPERATORS, nativeArchitecture } from '../seccomp/vocabulary.js';
import { absPath, array, describe, int, object, onlyKeys, str } from './check.js';

// What berth-init and its supervisor need after the filter is on: the
// listener goes to the parent with sendmsg, a failed exec is reported with
// send. A NOTIFY rule on them would wait for a supervisor that never got the
// listener (runc refuses NOTIFY on write for the same reason).
const SUPERVISOR_SYSCALLS = new Set(['write', 'writev', 'pwrite64', 'pwritev', 'pwritev2', 'send', 'sendto', 'sendmsg', 'sendmmsg', 'socketcall']);
const SUN_PATH_MAX = 107; // sizeof(sockaddr_un.sun_path) - 1
const MAX_ERRNO = 4095; // the kernel's MAX_ERRNO: a larger SECCOMP_RET_DATA is not an errno
const UINT64_MAX = 2n ** 64n - 1n;
// Syscall names are C identifiers; anything else is a typo, not a syscall this
// kernel lacks (those are skipped when the filter is compiled).
const SYSCALL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** OCI writers emit null for absent optional fields. */
const given = (v: unknown) => v !== undefined && v !== null;

function action(v: unknown, field: string): string {
  const a = str(v, field);
  if (!(a in ACTIONS)) throw new ConfigError(field, `unknown action "${a}" (expected one of: ${Object.keys(ACTIONS).join(', ')})`);
  return a;
}

function errnoRet(v: unknown, field: string, forAction: string): number | undefined {
  if (!given(v)) return undefined;
  if (!ACTIONS[forAction]!.takesErrno) throw new ConfigError(field, `only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return an errno, not ${forAction}`);
  return int(v, field, 0, MAX_ERRNO);
}

function uint64(v: unknown, field: string): number | bigint {
  if (typeof v === 'bigint') {
    if (v < 0n || v > UINT64_MAX) throw new ConfigError(field, `must be an unsigned 64-bit integer, got ${describe(v)}`);
    return v;
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new ConfigError(field, `must be an unsigned 64-bit integer, got ${describe(v)}`);
  // JSON.parse has already rounded such a number: the filter would compare against another value.
  if (!Number.isSafeInteger(v)) throw new ConfigError(field, `${v} is above 2^53, where a JS number is not exact: give it as a BigInt`);
  return v;
}

function arg(v: unknown, field: string): SeccompArg {
  const o = object(v, field);
  onlyKeys(o, field, ['index', 'value', 'valueTwo', 'op']);
  const index = int(o.index, `${field}.index`, 0, 5);
  const op = str(o.op, `${field}.op`);
  if (!OPERATORS.includes(op)) throw new ConfigError(`${field}.op`, `unknown operator "${op}" (expected one of: ${OPERATORS.join(', ')})`);
  return { index, value: uint64(o.value, `${field}.value`), valueTwo: given(o.valueTwo) ? uint64(o.valueTwo, `${field}.valueTwo`) : 0, op };
}

function rule(v: unknown, field: string): SeccompRule {
  const o = object(v, field);
  onlyKeys(o, field, ['names', 'action', 'errnoRet', 'args']);
  const names = array(o.names, `${field}.names`).map((n, i) => {
    const name = str(n, `${field}.names[${i}]`);
    if (!SYSCALL_NAME.test(name)) throw new ConfigError(`${field}.names[${i}]`, `"${name}" is not a syscall name`);
    return name;
  });
  if (names.length === 0) throw new ConfigError(`${field}.names`, 'must name at least one syscall');
  const act = action(o.action, `${field}.action`);
  if (act === 'SCMP_ACT_NOTIFY') {
    const i = names.findIndex((n) => SUPERVISOR_SYSCALLS.has(n));
    if (i >= 0) throw new ConfigError(`${field}.names[${i}]`, `SCMP_ACT_NOTIFY cannot be used for ${names[i]}: berth-init hands the notify listener over with it`);
  }
  const errno = errnoRet(o.errnoRet, `${field}.errnoRet`, act);
  const args = given(o.args) ? array(o.args, `${field}.args`).map((a, i) => arg(a, `${field}.args[${i}]`)) : [];
  return { names, action: act, ...(errno !== undefined ? { errnoRet: errno } : {}), args };
}

/** A profile as the caller wrote it (null: no filter), validated and frozen. */
export function normalizeSeccomp(v: unknown, field: string): ResolvedSeccomp | null {
  if (v === null) return null;
  const o = object(v, field);
  onlyKeys(o, field, ['defaultAction', 'defaultErrnoRet', 'architectures', 'flags', 'listenerPath', 'listenerMetadata', 'syscalls']);
  const defaultAction = action(o.defaultAction, `${field}.defaultAction`);
  // Every syscall, berth-init's sendmsg of the listener included, would wait for a supervisor that cannot have it yet.
  if (defaultAction === 'SCMP_ACT_NOTIFY') throw new ConfigError(`${field}.defaultAction`, 'SCMP_ACT_NOTIFY cannot be the default action (the listener could never be handed over)');
  const defaultErrnoRet = errnoRet(o.defaultErrnoRet, `${field}.defaultErrnoRet`, defaultAction);
  const architectures = given(o.architectures)
    ? array(o.architectures, `${field}.architectures`).map((a, i) => {
        const arch = str(a, `${field}.architectures[${i}]`);
        if (!(arch in ARCHITECTURES)) throw new ConfigError(`${field}.architectures[${i}]`, `unknown architecture "${arch}" (expected one of: ${Object.keys(ARCHITECTURES).join(', ')})`);
        return arch;
      })
    : [];
  const flags = given(o.flags)
    ? array(o.flags, `${field}.flags`).map((f, i) => {
        const flag = str(f, `${field}.flags[${i}]`);
        if (!(flag in FLAGS)) throw new ConfigError(`${field}.flags[${i}]`, `unknown flag "${flag}" (expected one of: ${Object.keys(FLAGS).join(', ')})`);
        return flag;
      })
    : [];
  const listenerPath = given(o.listenerPath) ? absPath(o.listenerPath, `${field}.listenerPath`) : undefined;
  if (listenerPath !== undefined && Buffer.byteLength(listenerPath) > SUN_PATH_MAX) {
    throw new ConfigError(`${field}.listenerPath`, `is ${Buffer.byteLength(listenerPath)} bytes; a unix socket path holds at most ${SUN_PATH_MAX}`);
  }
  const listenerMetadata = given(o.listenerMetadata) ? str(o.listenerMetadata, `${field}.listenerMetadata`) : undefined;
  if (listenerMetadata !== undefined && listenerPath === undefined) {
    throw new ConfigError(`${field}.listenerMetadata`, 'is sent to the agent at listenerPath, and there is none');
  }
  const syscalls = given(o.syscalls) ? array(o.syscalls, `${field}.syscalls`).map((r, i) => rule(r, `${field}.syscalls[${i}]`)) : [];
  return deepFreeze({
    ...(listenerPath !== undefined ? { listenerPath } : {}),
    ...(listenerMetadata !== undefined ? { listenerMetadata } : {}),
    defaultAction,
    ...(defaultErrnoRet !== undefined ? { defaultErrnoRet } : {}),
    architectures: [...new Set(architectures)],
    flags: [...new Set(flags)],
    syscalls,
  });
}

let kernel: [number, number] | undefined;
/** [major, minor] of the running kernel (what the default profile's minKernel compares). */
function kernelVersion(): [number, number] {
  if (!kernel) {
    const m = /^(\d+)\.(\d+)/.exec(os.release());
    kernel = m ? [Number(m[1]), Number(m[2])] : [0, 0];
  }
  return kernel;
}

// One frozen default per set of profile-relevant capabilities, so containers
// alike share the object (and compile.ts its program) without even a lookup key.
const defaults = new Map<string, ResolvedSeccomp>();

function defaultFor(bounding: readonly string[], field: string): ResolvedSeccomp {
  const arch = nativeArchitecture();
  // Secure by default means no silent "no filter": the caller says null.
  if (!arch) throw new ConfigError(field, `berth has no seccomp profile for this architecture (${process.arch}): give one, or null for none`);
  const relevant = PROFILE_CAPABILITIES.filter((c) => bounding.includes(c));
  const key = relevant.join(',');
  let profile = defaults.get(key);
  if (!profile) {
    profile = defaultProfile({ bounding: relevant, arch, kernel: kernelVersion() });
    defaults.set(key, profile);
  }
  return profile;
}

export interface SeccompContext {
  /** The config came from an OCI bundle: taken literally. */
  fromBundle: boolean;
  /** The process's bounding set, which the default profile follows (as Docker's does). */
  bounding: readonly string[];
}

/** linux.seccomp as given; absent: the default profile, or none for a bundle. */
export function resolveSeccomp(v: unknown, field: string, ctx: SeccompContext): ResolvedSeccomp | null {
  if (v === undefined) return ctx.fromBundle ? null : defaultFor(ctx.bounding, field);
  return normalizeSeccomp(v, field);
}
