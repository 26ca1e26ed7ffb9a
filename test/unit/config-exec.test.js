// resolveExecProcess: an exec's process is the caller's fields over the init's,
// env merged by key, validated like the init's (same JSON paths).
import test from 'ava';
import { resolveExecProcess } from '../../dist/lib/config/exec.js';
import { normalizeProcess } from '../../dist/lib/config/process.js';
import { DEFAULT_PATH } from '../../dist/lib/config/defaults.js';
import { fakeCaller, rejectsField } from './helpers.js';

/** Exec resolution as a root caller with every capability would see it. */
const resolve = (initProcess, given) => resolveExecProcess(initProcess, given, fakeCaller());

const init = normalizeProcess(
  {
    args: ['/sbin/init'],
    env: ['PATH=/bin:/usr/bin', 'HOME=/root', 'LANG=C'],
    cwd: '/srv',
    user: { uid: 1000, gid: 1000, additionalGids: [10], umask: 0o077 },
    capabilities: { bounding: ['CAP_KILL', 'CAP_CHOWN'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'], inheritable: ['CAP_KILL'], ambient: ['CAP_KILL'] },
    rlimits: [{ type: 'RLIMIT_NOFILE', soft: 64, hard: 128 }],
    noNewPrivileges: false,
    oomScoreAdj: 100,
    ioPriority: { class: 'IOPRIO_CLASS_BE', priority: 1 },
    terminal: true,
    consoleSize: { width: 100, height: 30 },
    stdio: ['pipe', 'pipe', 'pipe', 3],
  },
  'process',
  fakeCaller(),
);

test('the init fixture is what the exec inherits from', (t) => {
  t.deepEqual(init.env, ['PATH=/bin:/usr/bin', 'HOME=/root', 'LANG=C', 'TERM=xterm']);
  t.true(init.terminal);
});

test('only args given: cwd, user, capabilities, rlimits, noNewPrivileges and env come from the init', (t) => {
  const p = resolve(init, { args: ['/bin/ps'] });
  t.deepEqual(p.args, ['/bin/ps']);
  t.deepEqual(p.env, init.env);
  t.is(p.cwd, '/srv');
  t.is(p.uid, 1000);
  t.is(p.gid, 1000);
  t.deepEqual(p.additionalGids, [10]);
  t.is(p.umask, 0o077);
  t.deepEqual(p.capabilities, init.capabilities);
  t.deepEqual(p.rlimits, init.rlimits);
  t.false(p.noNewPrivileges);
});

test('terminal, consoleSize, stdio, oomScoreAdj and ioPriority are the exec\'s own, not the init\'s', (t) => {
  const p = resolve(init, { args: ['/bin/ps'] });
  t.false(p.terminal);
  t.is(p.consoleSize, undefined);
  t.deepEqual(p.stdio, ['pipe', 'pipe', 'pipe']);
  t.is(p.oomScoreAdj, undefined);
  t.is(p.ioPriority, undefined);
});

test('env is merged by key: the caller overrides in place and adds at the end, in both forms', (t) => {
  t.deepEqual(resolve(init, { args: ['/bin/sh'], env: ['LANG=en_US.UTF-8', 'NEW=1'] }).env, [
    'PATH=/bin:/usr/bin', 'HOME=/root', 'LANG=en_US.UTF-8', 'TERM=xterm', 'NEW=1',
  ]);
  t.deepEqual(resolve(init, { args: ['/bin/sh'], env: { HOME: '/tmp', X: 'a=b' } }).env, [
    'PATH=/bin:/usr/bin', 'HOME=/tmp', 'LANG=C', 'TERM=xterm', 'X=a=b',
  ]);
});

test('an init without PATH still gives the exec the default PATH', (t) => {
  const bare = normalizeProcess({ args: ['/init'], env: ['A=1'] }, 'process', fakeCaller());
  t.deepEqual(resolve(bare, { args: ['/bin/true'] }).env, [`PATH=${DEFAULT_PATH}`, 'A=1']);
});

test('fields the caller gives replace the init\'s whole (user, capabilities, rlimits, cwd)', (t) => {
  const p = resolve(init, {
    args: ['/bin/id'],
    cwd: '/',
    user: { uid: 0 },
    capabilities: { bounding: ['CAP_SYS_ADMIN'] },
    rlimits: [],
    noNewPrivileges: true,
    terminal: true,
    consoleSize: { width: 10, height: 5 },
    oomScoreAdj: -5,
    stdio: 'inherit',
  });
  t.is(p.cwd, '/');
  t.is(p.uid, 0);
  t.is(p.gid, 0, 'a user object is taken whole, not merged with the init\'s');
  t.deepEqual(p.additionalGids, []);
  t.is(p.umask, 0o022);
  t.deepEqual(p.capabilities, { bounding: ['CAP_SYS_ADMIN'], effective: [], permitted: [], inheritable: [], ambient: [] });
  t.deepEqual(p.rlimits, []);
  t.true(p.noNewPrivileges);
  t.true(p.terminal);
  t.deepEqual(p.consoleSize, { width: 10, height: 5 });
  t.deepEqual(p.stdio, ['ignore', 'ignore', 'ignore']);
  t.is(p.oomScoreAdj, -5);
});

test('the init is not changed by an exec', (t) => {
  const before = structuredClone(init);
  resolve(init, { args: ['/bin/sh'], env: ['HOME=/x'], capabilities: { bounding: [] } });
  t.deepEqual(init, before);
});

const rejections = [
  ['not an object', 'ps', 'process'],
  ['null', null, 'process'],
  ['no args', {}, 'process.args'],
  ['an empty program', { args: [''] }, 'process.args[0]'],
  ['a bad env entry', { args: ['/bin/sh'], env: ['NOEQUALS'] }, 'process.env[0]'],
  ['a bad env object value', { args: ['/bin/sh'], env: { A: 1 } }, 'process.env.A'],
  ['a relative cwd', { args: ['/bin/sh'], cwd: 'tmp' }, 'process.cwd'],
  ['an unknown capability', { args: ['/bin/sh'], capabilities: { effective: ['CAP_X'] } }, 'process.capabilities.effective[0]'],
  ['consoleSize without a terminal', { args: ['/bin/sh'], consoleSize: { width: 1, height: 1 } }, 'process.consoleSize'],
  ['a username', { args: ['/bin/sh'], user: { username: 'x' } }, 'process.user.username'],
  ['a bad stdio', { args: ['/bin/sh'], stdio: ['pipe', 'pipe', 'pipe', 'pipe'] }, 'process.stdio[3]'],
];

for (const [what, given, field] of rejections) {
  test(`rejected: ${what} -> ${field}`, async (t) => {
    await rejectsField(t, () => resolve(init, given), field);
  });
}
