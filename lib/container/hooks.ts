// Where the six OCI hooks run in a container's life (runtime-spec 1.3):
// create: prestart and createRuntime on the host, then createContainer in the
// container, once it is set up and before create() resolves; start:
// startContainer in the container before the program execs, poststart on the
// host once it exec'd (a failure fails start and stops the container);
// destroy: poststop on the host once everything is gone (a failure is a
// warning). Every hook gets the OCI state on stdin. No hooks, no cost.
import type { ContainerState, ContainerStatus } from '../../types/api.js';
import type { ResolvedConfig } from '../config/normalize.js';
import { runHooks, runHooksCollectingErrors } from '../hooks/run.js';
import type { ExecTarget } from './exec.js';
import { runHooksInContainer } from './hooks-in-container.js';
import { OCI_VERSION } from './state-record.js';

type OciState = Pick<ContainerState, 'ociVersion' | 'id' | 'status' | 'pid' | 'bundle' | 'annotations'>;

export function hookState(config: ResolvedConfig, status: ContainerStatus, pid: number | undefined): OciState {
  return {
    ociVersion: OCI_VERSION,
    id: config.id,
    status,
    ...(pid !== undefined ? { pid } : {}),
    bundle: config.bundle ?? config.rootfs,
    annotations: config.annotations,
  };
}

const hooksOf = (config: ResolvedConfig) => config.hooks ?? { prestart: [], createRuntime: [], createContainer: [], startContainer: [], poststart: [], poststop: [] };

/** Whether create()/start() must stop between setup and exec (run()'s shortcut would skip these). */
export function hasSetupHooks(config: ResolvedConfig): boolean {
  const h = hooksOf(config);
  return h.prestart.length + h.createRuntime.length + h.createContainer.length + h.startContainer.length > 0;
}

const hostCwd = (config: ResolvedConfig) => ({ cwd: config.bundle ?? '/' });

/** prestart, createRuntime or createContainer hooks: the init stops for them before its pivot_root. */
export function hasCreateHooks(config: ResolvedConfig): boolean {
  const h = hooksOf(config);
  return h.prestart.length + h.createRuntime.length + h.createContainer.length > 0;
}

export async function runCreateHooks(target: ExecTarget, pid: number): Promise<void> {
  const { config } = target;
  const h = hooksOf(config);
  if (!hasCreateHooks(config)) return;
  const state = hookState(config, 'created', pid);
  await runHooks('prestart', h.prestart, state, hostCwd(config));
  await runHooks('createRuntime', h.createRuntime, state, hostCwd(config));
  await runHooksInContainer('createContainer', h.createContainer, state, target);
}

export async function runStartContainerHooks(target: ExecTarget, pid: number): Promise<void> {
  const h = hooksOf(target.config);
  if (h.startContainer.length === 0) return;
  await runHooksInContainer('startContainer', h.startContainer, hookState(target.config, 'created', pid), target);
}

export async function runPoststartHooks(config: ResolvedConfig, pid: number): Promise<void> {
  const h = hooksOf(config);
  if (h.poststart.length === 0) return;
  await runHooks('poststart', h.poststart, hookState(config, 'running', pid), hostCwd(config));
}

/** Failures are warnings (process 'warning' events; Node prints them on stderr). */
export async function runPoststopHooks(config: ResolvedConfig, pid: number | undefined): Promise<void> {
  const h = hooksOf(config);
  if (h.poststop.length === 0) return;
  for (const err of await runHooksCollectingErrors('poststop', h.poststop, hookState(config, 'stopped', pid), hostCwd(config))) {
    process.emitWarning(err.message, { type: 'BerthHookWarning', code: err.code });
  }
}
