// The typed errors: each one's code/step/field/errno/path, errnoName and
// fromSystemError.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import {
  AbortError,
  BerthError,
  CgroupError,
  ConfigError,
  ContainerExistsError,
  ContainerNotFoundError,
  ExecutableNotFoundError,
  InvalidStateError,
  SetupError,
  errnoName,
  fromSystemError,
} from '../../dist/lib/errors.js';
import * as api from '../../dist/lib/index.js';

const own = (err) => Object.fromEntries(['code', 'step', 'errno', 'syscall', 'path', 'field', 'state'].filter((k) => err[k] !== undefined).map((k) => [k, err[k]]));

test('every error is a BerthError and an Error, named after its class', (t) => {
  const errors = [
    new ConfigError('a.b', 'x'),
    new ContainerExistsError('c', '/run/berth/c'),
    new ContainerNotFoundError('c'),
    new InvalidStateError('start', 'running', 'c'),
    new ExecutableNotFoundError('/bin/x'),
    new SetupError('mount', 'm'),
    new CgroupError({ step: 'create', message: 'm' }),
    new AbortError('wait'),
  ];
  for (const e of errors) {
    t.true(e instanceof BerthError, e.name);
    t.true(e instanceof Error, e.name);
    t.is(e.name, e.constructor.name);
    t.is(typeof e.code, 'string');
    t.regex(String(e.stack), new RegExp(`^${e.name}`));
  }
});

test('ConfigError: INVALID_CONFIG at the validate step, the JSON path in field and message', (t) => {
  const e = new ConfigError('process.args[0]', 'must not be empty');
  t.deepEqual(own(e), { code: 'INVALID_CONFIG', step: 'validate', field: 'process.args[0]' });
  t.is(e.message, 'invalid config at process.args[0]: must not be empty');
});

test('ContainerExistsError and ContainerNotFoundError: the state step, EEXIST/ENOENT, the path when known', (t) => {
  const ex = new ContainerExistsError('web', '/run/berth/web');
  t.deepEqual(own(ex), { code: 'CONTAINER_EXISTS', step: 'state', errno: 'EEXIST', path: '/run/berth/web' });
  t.is(ex.message, 'a container with id "web" already exists');
  const nf = new ContainerNotFoundError('web', '/run/berth/web/state.json');
  t.deepEqual(own(nf), { code: 'CONTAINER_NOT_FOUND', step: 'state', errno: 'ENOENT', path: '/run/berth/web/state.json' });
  t.is(nf.message, 'no container with id "web"');
  t.is(new ContainerNotFoundError('web').path, undefined);
});

test('InvalidStateError: the operation is the step, the state is kept', (t) => {
  const e = new InvalidStateError('exec in', 'stopped', 'web');
  t.deepEqual(own(e), { code: 'INVALID_STATE', step: 'exec in', state: 'stopped' });
  t.is(e.message, 'cannot exec in container "web": it is stopped');
});

test('ExecutableNotFoundError: execve, the exec step, ENOENT by default', (t) => {
  t.deepEqual(own(new ExecutableNotFoundError('/bin/bash')), { code: 'EXECUTABLE_NOT_FOUND', step: 'exec', errno: 'ENOENT', syscall: 'execve', path: '/bin/bash' });
  t.is(new ExecutableNotFoundError('/bin/bash').message, 'executable not found in container: /bin/bash');
  t.is(new ExecutableNotFoundError('/x', 'EACCES').errno, 'EACCES');
});

test('SetupError: the step given wins over a step in the detail; the cause is kept', (t) => {
  const cause = new Error('inner');
  const e = new SetupError('pivot_root', 'pivot failed', { step: 'other', errno: 'EINVAL', syscall: 'pivot_root', path: '/r', cause });
  t.deepEqual(own(e), { code: 'SETUP_FAILED', step: 'pivot_root', errno: 'EINVAL', syscall: 'pivot_root', path: '/r' });
  t.is(e.cause, cause);
  t.false('cause' in new SetupError('x', 'y'), 'no cause, no cause property');
  t.is(new SetupError('x', 'y').errno, undefined);
});

test('CgroupError and AbortError', (t) => {
  const c = new CgroupError({ step: 'write', path: '/sys/fs/cgroup/x/memory.max', errno: 'EBUSY', syscall: 'write', message: 'cannot write memory.max' });
  t.deepEqual(own(c), { code: 'CGROUP_FAILED', step: 'write', errno: 'EBUSY', syscall: 'write', path: '/sys/fs/cgroup/x/memory.max' });
  t.is(c.message, 'cannot write memory.max');
  const reason = new Error('timeout');
  const a = new AbortError('wait', reason);
  t.deepEqual(own(a), { code: 'ABORTED', step: 'wait' });
  t.is(a.message, 'wait was aborted');
  t.is(a.cause, reason);
});

test('errnoName: numbers to names from Node\'s table; unknown numbers stay readable', (t) => {
  t.is(errnoName(os.constants.errno.ENOENT), 'ENOENT');
  t.is(errnoName(1), 'EPERM');
  t.is(errnoName(13), 'EACCES');
  t.is(errnoName(17), 'EEXIST');
  t.is(errnoName(16), 'EBUSY');
  t.is(errnoName(22), 'EINVAL');
  t.is(errnoName(11), 'EAGAIN', 'EAGAIN, not its alias EWOULDBLOCK');
  t.is(errnoName(99999), 'E99999');
});

test('fromSystemError: a Node fs error becomes a SetupError keeping errno, syscall and path', (t) => {
  let fsErr;
  try {
    fs.readFileSync('/nonexistent/berth-unit/file');
  } catch (e) {
    fsErr = e;
  }
  const e = fromSystemError(fsErr, 'state');
  t.true(e instanceof SetupError);
  t.deepEqual(own(e), { code: 'SETUP_FAILED', step: 'state', errno: 'ENOENT', syscall: 'open', path: '/nonexistent/berth-unit/file' });
  t.regex(e.message, /^state failed: ENOENT/);
  t.is(e.cause, fsErr);
});

test('fromSystemError: BerthErrors pass through, the fallback path fills in, non-errors are described', (t) => {
  const berth = new ConfigError('x', 'y');
  t.is(fromSystemError(berth, 'state'), berth);
  const noPath = Object.assign(new Error('busy'), { code: 'EBUSY', syscall: 'rmdir' });
  t.deepEqual(own(fromSystemError(noPath, 'cgroup', '/sys/fs/cgroup/x')), { code: 'SETUP_FAILED', step: 'cgroup', errno: 'EBUSY', syscall: 'rmdir', path: '/sys/fs/cgroup/x' });
  const withPath = Object.assign(new Error('x'), { code: 'EIO', path: '/a' });
  t.is(fromSystemError(withPath, 's', '/fallback').path, '/a', 'the error\'s own path wins');
  const s = fromSystemError('plain string', 'step');
  t.is(s.message, 'step failed: plain string');
  t.deepEqual(own(s), { code: 'SETUP_FAILED', step: 'step' });
  t.is(fromSystemError(undefined, 'step').message, 'step failed: undefined');
});

test('the public API exports the same error classes', (t) => {
  for (const name of ['BerthError', 'ConfigError', 'ContainerExistsError', 'ContainerNotFoundError', 'InvalidStateError', 'ExecutableNotFoundError', 'SetupError', 'CgroupError', 'AbortError']) {
    t.is(typeof api[name], 'function', name);
  }
  t.is(api.ConfigError, ConfigError);
});
