// The container found by id, as the CLI drives it: the part of the library's
// ContainerRef the commands use (checked by the assignment in loadRef).
import fs from 'node:fs';
import path from 'node:path';
import type { ContainerState, ContainerStatus, ProcessConfig } from '../../types/api.js';
import type { LinuxResources } from '../../types/oci.js';
import type { CgroupStats } from '../cgroups/manager.js';
import type { Context } from './context.js';
import { rootOptions } from './context.js';
import { isNotFound, notExist } from './errors.js';

export interface ExitLike {
  exitCode: number | null;
  signal: string | null;
}

export interface ExecOptions {
  consoleSocket?: string;
}

/** A pty master (the library's Terminal): a Duplex with resize(). */
export interface TerminalLike extends NodeJS.ReadWriteStream {
  resize?(size: { width: number; height: number }): void;
}

export interface ExecResult {
  pid: number;
  wait(): Promise<ExitLike>;
  /** The pty master when the process has a terminal and no console socket took it. */
  terminal?: TerminalLike | null;
}

export interface CliContainerRef {
  readonly id: string;
  readonly status: ContainerStatus;
  state(): Promise<ContainerState>;
  start(): Promise<void>;
  exec(process: ProcessConfig, opts?: ExecOptions): Promise<ExecResult>;
  kill(signal?: NodeJS.Signals | number, opts?: { all?: boolean }): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  update(resources: LinuxResources): Promise<void>;
  processes(): Promise<number[]>;
  stats(): Promise<CgroupStats>;
  wait(): Promise<ExitLike>;
  destroy(opts?: { force?: boolean }): Promise<void>;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/**
 * True when the id has no directory in the state root: said without loading
 * the library's container code (engines ask `state`/`delete --force` of gone
 * containers often). Anything else (an odd id, a directory there) is the library's to judge.
 */
async function surelyMissing(ctx: Context, id: string): Promise<boolean> {
  if (!ID.test(id)) return false;
  const root = ctx.stateRoot ?? (await import('../state/state-dir.js')).defaultStateRoot();
  try {
    fs.lstatSync(path.join(root, id));
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** loadContainer(id), a missing id said as runc says it: `container "<id>" does not exist`. */
export async function loadRef(ctx: Context, id: string): Promise<CliContainerRef> {
  if (await surelyMissing(ctx, id)) throw notExist(id);
  const { loadContainer } = await import('../container/registry.js');
  try {
    const ref: CliContainerRef = await loadContainer(id, rootOptions(ctx));
    return ref;
  } catch (err) {
    if (isNotFound(err)) throw notExist(id);
    throw err;
  }
}
