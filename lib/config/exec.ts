// The process of an exec: what the caller gives, over the init's settings
// (env merged by key, the rest taken whole), validated like the init's.
import type { ProcessConfig } from '../../types/api.js';
import { ConfigError } from '../errors.js';
import { type CallerFacts, callerFacts } from './caller.js';
import { isObject, plainJson } from './check.js';
import type { ResolvedCpuAffinity } from './cpu-affinity.js';
import { type ResolvedProcess, normalizeEnv, normalizeProcess } from './process.js';

function envObject(env: string[]): Record<string, string> {
  const out: Record<string, string> = Object.create(null); // "__proto__" is a variable name like any other
  for (const e of env) {
    const i = e.indexOf('=');
    out[e.slice(0, i)] = e.slice(i + 1);
  }
  return out;
}

function cpuAffinityConfig(a: ResolvedCpuAffinity | undefined): ProcessConfig['execCPUAffinity'] {
  if (!a) return undefined;
  return { ...(a.initial ? { initial: a.initial.join(',') } : {}), ...(a.final ? { final: a.final.join(',') } : {}) };
}

export function resolveExecProcess(init: ResolvedProcess, given: ProcessConfig, caller: CallerFacts = callerFacts()): ResolvedProcess {
  if (!isObject(given)) throw new ConfigError('process', 'must be an object');
  const g = plainJson(given, 'process') as ProcessConfig;
  let env: Record<string, string> = envObject(init.env);
  if (g.env !== undefined) env = { ...env, ...envObject(normalizeEnv(g.env, 'process.env')) };
  return normalizeProcess(
    {
      args: g.args,
      env,
      cwd: g.cwd ?? init.cwd,
      user: g.user ?? { uid: init.uid, gid: init.gid, additionalGids: init.additionalGids, umask: init.umask },
      capabilities: g.capabilities ?? init.capabilities,
      rlimits: g.rlimits ?? init.rlimits,
      noNewPrivileges: g.noNewPrivileges ?? init.noNewPrivileges,
      ...(g.oomScoreAdj !== undefined ? { oomScoreAdj: g.oomScoreAdj } : {}),
      ...(g.ioPriority !== undefined ? { ioPriority: g.ioPriority } : {}),
      ...(g.terminal !== undefined ? { terminal: g.terminal } : {}),
      ...(g.consoleSize !== undefined ? { consoleSize: g.consoleSize } : {}),
      ...(g.stdio !== undefined ? { stdio: g.stdio } : {}),
      // Like runc's exec of the config's process: the init's confinement and
      // scheduling hold for every exec unless it brings its own.
      scheduler: g.scheduler ?? init.scheduler,
      execCPUAffinity: g.execCPUAffinity ?? cpuAffinityConfig(init.execCPUAffinity),
      apparmorProfile: g.apparmorProfile ?? init.apparmorProfile,
      selinuxLabel: g.selinuxLabel ?? init.selinuxLabel,
    } as ProcessConfig,
    'process',
    caller,
  );
}
