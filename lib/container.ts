// Container: the OCI lifecycle (creating -> created -> running -> stopped) over
// one init process, its state directory, and everything else it owns.
// Every failure path removes what was made before it.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import type { ContainerConfig, ContainerStatus, ExitStatus } from '../types/api.js';
import { type ResolvedConfig, normalizeConfig } from './config/normalize.js';
import { BerthError, InvalidStateError, SetupError, errnoName } from './errors.js';
import { CLONE_NS } from './launch/constants.js';
import { SpawnedChild, expectReady, messageToError } from './launch/child.js';
import { containerPlan } from './launch/plan.js';
import { type PreparedStdio, prepareStdio } from './launch/stdio.js';
import { native } from './native.js';
import { ContainerProcess, signalNumber } from './process.js';
import { StateDir, processStartTime } from './state.js';

const OCI_VERSION = '1.2.0';

export interface ContainerEvents {
  exit: [status: ExitStatus];
}

export class Container extends EventEmitter<ContainerEvents> {
  readonly id: string;
  /** The validated configuration with every default filled in. */
  readonly config: ResolvedConfig;
  private status: ContainerStatus = 'creating';
  private readonly stateDir: StateDir;
  private readonly child: SpawnedChild;
  private readonly stdio: PreparedStdio;
  private readonly init: ContainerProcess;
  private readonly created = new Date().toISOString();
  private stateWrites: Promise<void> = Promise.resolve();
  private destroyed: Promise<void> | null = null;

  private constructor(config: ResolvedConfig, stateDir: StateDir, child: SpawnedChild, stdio: PreparedStdio) {
    super();
    this.id = config.id;
    this.config = config;
    this.stateDir = stateDir;
    this.child = child;
    this.stdio = stdio;
    this.init = new ContainerProcess(child, stdio.streams);
    this.init.on('exit', (s) => {
      this.status = 'stopped';
      this.persist();
      this.emit('exit', s);
    });
  }

  /** @internal use createContainer() */
  static async create(input: ContainerConfig): Promise<Container> {
    const config = await normalizeConfig(input);
    const stateDir = new StateDir(config.stateRoot, config.id);
    await stateDir.claim();
    let stdio: PreparedStdio | null = null;
    let child: SpawnedChild | null = null;
    const joinFds: number[] = [];
    try {
      stdio = prepareStdio(config.process.stdio);
      const joins = config.namespaces
        .filter((n) => n.path !== undefined)
        .map((n) => {
          const fd = openNamespace(n.path!, n.type);
          joinFds.push(fd);
          return { fd, nstype: CLONE_NS[n.type] };
        });
      const plan = containerPlan(config, { fds: stdio.childFds, joins });
      try {
        child = new SpawnedChild(native.spawn(plan));
      } catch (err) {
        const e = err as NodeJS.ErrnoException & { errno?: number };
        throw new SetupError('clone', `cannot create the container process: ${e.message}`, {
          ...(e.code ? { errno: e.code } : {}),
          syscall: 'clone3',
          cause: err,
        });
      } finally {
        for (const fd of joinFds.splice(0)) native.close(fd);
        stdio.closeChildEnds();
      }
      await expectReady(child);
      const c = new Container(config, stateDir, child, stdio);
      c.status = 'created';
      await c.persist();
      return c;
    } catch (err) {
      for (const fd of joinFds) native.close(fd);
      if (child) {
        child.signal(9);
        child.closeSync();
        await child.exited;
      }
      stdio?.destroyAll();
      await stateDir.remove();
      throw err;
    }
  }

  get state(): ContainerStatus {
    return this.status;
  }

  /** Host pid of the container's init process. */
  get pid(): number {
    return this.child.pid;
  }

  /** The init process (also returned by start()). */
  get process(): ContainerProcess {
    return this.init;
  }

  /** Lets the init exec. Resolves once execve succeeded; on failure the container is destroyed. */
  async start(): Promise<ContainerProcess> {
    if (this.status !== 'created') throw new InvalidStateError('start', this.status, this.id);
    const err = this.child.sendGo();
    if (err !== 0) {
      await this.destroy();
      throw new SetupError('start', `container init is gone: send failed`, { errno: errnoName(err), syscall: 'send' });
    }
    const m = await this.child.nextMessage();
    if (!m.eof) {
      const failure = messageToError(m, this.child);
      await this.destroy();
      throw failure;
    }
    if (this.status === 'created') this.status = 'running';
    await this.persist();
    return this.init;
  }

  /** Waits for the init to exit. */
  wait(): Promise<ExitStatus> {
    return this.init.wait();
  }

  /** Signals the init (in a new pid namespace its death ends every process in it). */
  async kill(signal: NodeJS.Signals | number = 'SIGTERM'): Promise<void> {
    if (this.status === 'stopped' || this.destroyed) throw new InvalidStateError('kill', this.status, this.id);
    this.child.signal(signalNumber(signal));
  }

  /** Kills what still runs and removes everything berth made. Idempotent. */
  destroy(): Promise<void> {
    this.destroyed ??= (async () => {
      this.child.signal(9);
      this.child.closeSync();
      await this.child.exited;
      this.status = 'stopped';
      // Streams the caller took are theirs to drain; ends nobody took are closed.
      this.stdio.streams.closeUnused();
      await this.stateWrites;
      await this.stateDir.remove();
    })();
    return this.destroyed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }

  private persist(): Promise<void> {
    const status = this.status;
    this.stateWrites = this.stateWrites.then(async () => {
      if (this.destroyed && status !== 'stopped') return;
      if (this.destroyed) return;
      await this.stateDir.write({
        ociVersion: OCI_VERSION,
        id: this.id,
        status,
        pid: this.child.pid,
        ...(this.startTime !== undefined ? { pidStartTime: this.startTime } : {}),
        ...(this.config.bundle ? { bundle: this.config.bundle } : {}),
        rootfs: this.config.rootfs,
        created: this.created,
        ownerPid: process.pid,
        annotations: this.config.annotations,
      }).catch(() => {});
    });
    return this.stateWrites;
  }

  private startTimeCache: number | undefined | null = null;
  private get startTime(): number | undefined {
    if (this.startTimeCache === null) this.startTimeCache = processStartTime(this.child.pid);
    return this.startTimeCache;
  }
}

function openNamespace(path: string, type: string): number {
  try {
    return fs.openSync(path, 'r');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new BerthError('SETUP_FAILED', `cannot open ${type} namespace ${path}: ${e.code}`, {
      step: 'setns',
      ...(e.code ? { errno: e.code } : {}),
      syscall: 'open',
      path,
    });
  }
}

export async function createContainer(config: ContainerConfig): Promise<Container> {
  return Container.create(config);
}
