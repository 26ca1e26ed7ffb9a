// Typed errors. `code` is the stable string programs switch on; `step` names the
// setup step that failed; errno/syscall/path say what the kernel refused, and where.
import os from 'node:os';

export interface ErrorDetail {
  step?: string;
  errno?: string;
  syscall?: string;
  path?: string;
  cause?: unknown;
}

export class BerthError extends Error {
  readonly code: string;
  readonly step?: string;
  readonly errno?: string;
  readonly syscall?: string;
  readonly path?: string;

  constructor(code: string, message: string, detail: ErrorDetail = {}) {
    super(message, detail.cause === undefined ? undefined : { cause: detail.cause });
    this.name = new.target.name;
    this.code = code;
    if (detail.step !== undefined) this.step = detail.step;
    if (detail.errno !== undefined) this.errno = detail.errno;
    if (detail.syscall !== undefined) this.syscall = detail.syscall;
    if (detail.path !== undefined) this.path = detail.path;
  }
}

/** Bad input, found before anything was created. `field` is the JSON path (`process.args[0]`). */
export class ConfigError extends BerthError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('INVALID_CONFIG', `invalid config at ${field}: ${message}`, { step: 'validate' });
    this.field = field;
  }
}

export class ContainerExistsError extends BerthError {
  constructor(id: string, path: string) {
    super('CONTAINER_EXISTS', `a container with id "${id}" already exists`, { step: 'state', errno: 'EEXIST', path });
  }
}

export class ContainerNotFoundError extends BerthError {
  constructor(id: string, path?: string) {
    super('CONTAINER_NOT_FOUND', `no container with id "${id}"`, { step: 'state', errno: 'ENOENT', ...(path ? { path } : {}) });
  }
}

/** The container is not in a state that allows the operation (start twice, exec when stopped, …). */
export class InvalidStateError extends BerthError {
  readonly state: string;
  constructor(operation: string, state: string, id: string) {
    super('INVALID_STATE', `cannot ${operation} container "${id}": it is ${state}`, { step: operation });
    this.state = state;
  }
}

export class ExecutableNotFoundError extends BerthError {
  constructor(path: string, errno = 'ENOENT') {
    super('EXECUTABLE_NOT_FOUND', `executable not found in container: ${path}`, { step: 'exec', errno, syscall: 'execve', path });
  }
}

/** A setup step inside the new process (or the kernel call that creates it) failed. */
export class SetupError extends BerthError {
  constructor(step: string, message: string, detail: ErrorDetail = {}) {
    super('SETUP_FAILED', message, { ...detail, step });
  }
}

export class CgroupError extends BerthError {
  constructor(detail: { step: string; path?: string; errno?: string; syscall?: string; message: string; cause?: unknown }) {
    super('CGROUP_FAILED', detail.message, detail);
  }
}

/**
 * An OCI hook failed (HOOK_FAILED: it could not be spawned, exited non-zero
 * or was killed by a signal) or outran its timeout (HOOK_TIMEOUT: its process
 * group was SIGKILLed). `step` is `hook:<kind>[<index>]`, `path` the hook's
 * binary; the first 4 KiB of its stderr are in `stderr` and the message.
 */
export class HookError extends BerthError {
  readonly hook: string;
  readonly index: number;
  readonly exitCode?: number;
  readonly signal?: string;
  readonly stderr: string;
  constructor(
    code: 'HOOK_FAILED' | 'HOOK_TIMEOUT',
    message: string,
    detail: ErrorDetail & { hook: string; index: number; path: string; exitCode?: number; signal?: string; stderr?: string },
  ) {
    super(code, message, { ...detail, step: `hook:${detail.hook}[${detail.index}]` });
    this.hook = detail.hook;
    this.index = detail.index;
    if (detail.exitCode !== undefined) this.exitCode = detail.exitCode;
    if (detail.signal !== undefined) this.signal = detail.signal;
    this.stderr = detail.stderr ?? '';
  }
}

export class AbortError extends BerthError {
  constructor(step: string, cause?: unknown) {
    super('ABORTED', `${step} was aborted`, { step, cause });
  }
}

/**
 * An image or volume store operation failed: `code` says how (IMAGE_INVALID: the archive is
 * malformed, hostile or does not match its digests; IMAGE_NOT_FOUND; IMAGE_IN_USE; IMAGE_FAILED:
 * the kernel refused, errno/syscall/path say what), `image` names the source or reference and
 * `blob` the digest or archive member.
 */
export class ImageError extends BerthError {
  readonly image?: string;
  readonly blob?: string;
  /** The JSON path of the image config's bad field (`config.User`), when one is to blame. */
  readonly field?: string;
  constructor(code: string, message: string, detail: ErrorDetail & { image?: string; blob?: string; field?: string } = {}) {
    super(code, message, detail);
    if (detail.image !== undefined) this.image = detail.image;
    if (detail.blob !== undefined) this.blob = detail.blob;
    if (detail.field !== undefined) this.field = detail.field;
  }
}

/**
 * A volume operation failed: VOLUME_INVALID (a bad name, labels or container id), VOLUME_NOT_FOUND,
 * VOLUME_EXISTS (the name is taken with other labels), VOLUME_IN_USE (containers hold it: `users`),
 * VOLUME_FAILED (the kernel refused: errno/syscall/path say what). `volume` names it.
 */
export class VolumeError extends BerthError {
  readonly volume?: string;
  readonly users?: string[];
  constructor(code: string, message: string, detail: ErrorDetail & { volume?: string; users?: string[] } = {}) {
    super(code, message, detail);
    if (detail.volume !== undefined) this.volume = detail.volume;
    if (detail.users !== undefined) this.users = detail.users;
  }
}

/**
 * copyIn/copyOut: COPY_NOT_FOUND (nothing at that path in the container),
 * COPY_INVALID (a path or source that cannot be copied: errno says why),
 * COPY_FAILED (the kernel refused). `containerPath` is the path inside the
 * container the failure is about; `path` the same, for uniformity.
 */
export class CopyError extends BerthError {
  readonly containerPath: string;
  constructor(code: string, message: string, containerPath: string, detail: ErrorDetail = {}) {
    super(code, message, { ...detail, path: containerPath });
    this.containerPath = containerPath;
  }
}

/** errno number -> symbolic name (EACCES), from Node's own table. */
export function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(os.constants.errno)) {
    if (value === errno) return name;
  }
  return `E${errno}`;
}

/** Wraps a failed fs/syscall error from Node into a BerthError subclass, keeping code/syscall/path. */
export function fromSystemError(err: unknown, step: string, fallbackPath?: string): BerthError {
  if (err instanceof BerthError) return err;
  const e = err as NodeJS.ErrnoException;
  const path = e?.path ?? fallbackPath;
  return new SetupError(step, `${step} failed: ${e?.message ?? String(err)}`, {
    ...(e?.code ? { errno: e.code } : {}),
    ...(e?.syscall ? { syscall: e.syscall } : {}),
    ...(path ? { path } : {}),
    cause: err,
  });
}
