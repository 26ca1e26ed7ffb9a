// The process section through normalizeConfig: env forms, stdio forms, the
// terminal rules, user, capabilities, rlimits, and the JSON path of each refusal.
import test from 'ava';
import path from 'node:path';
import fs from 'node:fs';
import { normalizeConfig } from '../../dist/lib/config/normalize.js';
import { DEFAULT_PATH } from '../../dist/lib/config/defaults.js';
import { fakeCaller, fakeCgroupInfo, rejectsField, removeDir, scratchDir } from './helpers.js';

let dir;
test.before(() => {
  dir = scratchDir('process');
});
test.after.always(() => removeDir(dir));

const proc = async (p) => (await normalizeConfig({ rootfs: dir, process: { args: ['/bin/true'], ...p } }, fakeCgroupInfo(), fakeCaller())).process;
const rejects = (t, p, field, message) => rejectsField(t, () => proc(p), field, message);

test('env as KEY=VALUE strings keeps order; PATH is added first when missing', async (t) => {
  t.deepEqual((await proc({ env: ['A=1', 'B=x=y', 'C='] })).env, [`PATH=${DEFAULT_PATH}`, 'A=1', 'B=x=y', 'C=']);
});

test('env as an object becomes KEY=VALUE strings', async (t) => {
  t.deepEqual((await proc({ env: { A: '1', B: '' } })).env, [`PATH=${DEFAULT_PATH}`, 'A=1', 'B=']);
});

test('an env that sets PATH keeps it and gets no default', async (t) => {
  t.deepEqual((await proc({ env: ['PATH=/bin', 'A=1'] })).env, ['PATH=/bin', 'A=1']);
  t.deepEqual((await proc({ env: { A: '1', PATH: '/x' } })).env, ['A=1', 'PATH=/x']);
});

test('stdio forms: default pipes, one value for all three, a short list padded with pipes, fds beyond 2', async (t) => {
  t.deepEqual((await proc({})).stdio, ['pipe', 'pipe', 'pipe']);
  t.deepEqual((await proc({ stdio: 'inherit' })).stdio, ['inherit', 'inherit', 'inherit']);
  t.deepEqual((await proc({ stdio: 'ignore' })).stdio, ['ignore', 'ignore', 'ignore']);
  t.deepEqual((await proc({ stdio: 5 })).stdio, [5, 5, 5]);
  t.deepEqual((await proc({ stdio: ['ignore'] })).stdio, ['ignore', 'pipe', 'pipe']);
  t.deepEqual((await proc({ stdio: [] })).stdio, ['pipe', 'pipe', 'pipe']);
  t.deepEqual((await proc({ stdio: ['pipe', 'inherit', 2, 7, 'ignore'] })).stdio, ['pipe', 'inherit', 2, 7, 'ignore']);
});

test('terminal: 0-2 become the terminal, extra fds pass, TERM defaults to xterm unless set', async (t) => {
  const p = await proc({ terminal: true, stdio: ['pipe', 'pipe', 'pipe', 9] });
  t.true(p.terminal);
  t.deepEqual(p.stdio, ['ignore', 'ignore', 'ignore', 9]);
  t.deepEqual(p.env, [`PATH=${DEFAULT_PATH}`, 'TERM=xterm']);
  t.deepEqual((await proc({ terminal: true, env: ['TERM=vt100'] })).env, [`PATH=${DEFAULT_PATH}`, 'TERM=vt100']);
  t.false((await proc({ terminal: false })).env.some((e) => e.startsWith('TERM=')), 'no TERM without a terminal');
});

test('consoleSize needs terminal: true and is kept with it', async (t) => {
  t.deepEqual((await proc({ terminal: true, consoleSize: { width: 120, height: 40 } })).consoleSize, { width: 120, height: 40 });
  t.is((await proc({ terminal: true })).consoleSize, undefined);
  await rejects(t, { consoleSize: { width: 80, height: 24 } }, 'process.consoleSize', /needs terminal: true/);
  await rejects(t, { terminal: true, consoleSize: { width: 0, height: 24 } }, 'process.consoleSize.width');
  await rejects(t, { terminal: true, consoleSize: { width: 80, height: 0x10000 } }, 'process.consoleSize.height');
  await rejects(t, { terminal: true, consoleSize: [80, 24] }, 'process.consoleSize');
});

test('user, umask, cwd, oomScoreAdj, ioPriority, noNewPrivileges', async (t) => {
  const p = await proc({
    user: { uid: 1000, gid: 100, additionalGids: [5, 6], umask: 0o077 },
    cwd: '/srv',
    oomScoreAdj: -500,
    ioPriority: { class: 'IOPRIO_CLASS_BE', priority: 4 },
    noNewPrivileges: false,
  });
  t.is(p.uid, 1000);
  t.is(p.gid, 100);
  t.deepEqual(p.additionalGids, [5, 6]);
  t.is(p.umask, 0o077);
  t.is(p.cwd, '/srv');
  t.is(p.oomScoreAdj, -500);
  t.is(p.ioPriority, (2 << 13) | 4);
  t.false(p.noNewPrivileges);
  t.is((await proc({ ioPriority: { class: 'IOPRIO_CLASS_IDLE', priority: 0 } })).ioPriority, 3 << 13);
  t.is((await proc({ user: { uid: 0xfffffffe } })).uid, 0xfffffffe);
});

test('capabilities: names with or without CAP_, any case; a given object empties what it omits, bounding too (as runc)', async (t) => {
  const p = await proc({ capabilities: { effective: ['kill', 'CAP_chown'], permitted: ['KILL', 'CHOWN'] } });
  t.deepEqual(p.capabilities, {
    bounding: [],
    effective: ['CAP_KILL', 'CAP_CHOWN'],
    permitted: ['CAP_KILL', 'CAP_CHOWN'],
    inheritable: [],
    ambient: [],
  });
});

test('an ambient capability is kept only when permitted and inheritable (runc, crun)', async (t) => {
  const p = await proc({
    capabilities: { bounding: ['CAP_KILL', 'CAP_CHOWN', 'CAP_SYS_ADMIN'], permitted: ['CAP_KILL', 'CAP_CHOWN'], inheritable: ['CAP_KILL', 'CAP_SYS_ADMIN'], ambient: ['CAP_KILL', 'CAP_CHOWN', 'CAP_SYS_ADMIN'] },
  });
  t.deepEqual(p.capabilities.ambient, ['CAP_KILL']);
});

test('rlimits: the given list replaces the default', async (t) => {
  const p = await proc({ rlimits: [{ type: 'RLIMIT_NPROC', soft: 10, hard: 20 }, { type: 'RLIMIT_CORE', soft: 0, hard: 0 }] });
  t.deepEqual(p.rlimits, [{ type: 'RLIMIT_NPROC', soft: 10, hard: 20 }, { type: 'RLIMIT_CORE', soft: 0, hard: 0 }]);
  t.deepEqual((await proc({ rlimits: [] })).rlimits, []);
  const max = Number.MAX_SAFE_INTEGER;
  t.deepEqual((await proc({ rlimits: [{ type: 'RLIMIT_CORE', soft: max, hard: max }] })).rlimits[0], { type: 'RLIMIT_CORE', soft: max, hard: max });
});

// OCI rlimits are uint64, and RLIM_INFINITY is 2^64-1 (18446744073709551615, what
// `ulimit unlimited` is in a config.json); JSON.parse gives 18446744073709552000.
test('an OCI rlimit of 2^64-1 (RLIM_INFINITY) is accepted', async (t) => {
  const inf = JSON.parse('18446744073709551615');
  const p = await proc({ rlimits: [{ type: 'RLIMIT_CORE', soft: inf, hard: inf }] });
  t.is(p.rlimits[0].hard >= Number.MAX_SAFE_INTEGER, true);
});

const rejections = [
  ['no args', { args: undefined }, 'process.args'],
  ['empty args', { args: [] }, 'process.args'],
  ['an empty program', { args: [''] }, 'process.args[0]'],
  ['a non-string arg', { args: ['/bin/echo', 1] }, 'process.args[1]'],
  ['an arg with a NUL', { args: ['/bin/echo', 'a\0b'] }, 'process.args[1]'],
  ['args not an array', { args: '/bin/true' }, 'process.args'],
  ['an env entry without =', { env: ['A=1', 'B'] }, 'process.env[1]'],
  ['an env entry starting with =', { env: ['=x'] }, 'process.env[0]'],
  ['a non-string env entry', { env: [1] }, 'process.env[0]'],
  ['an env object value that is not a string', { env: { A: 1 } }, 'process.env.A'],
  ['an env object key with =', { env: { 'A=B': 'x' } }, 'process.env.A=B'],
  ['an env that is a string', { env: 'A=1' }, 'process.env'],
  ['stdio nonsense', { stdio: 'file' }, 'process.stdio'],
  ['a negative stdio fd', { stdio: [-1] }, 'process.stdio[0]'],
  ['a fractional stdio fd', { stdio: ['pipe', 1.5] }, 'process.stdio[1]'],
  ['pipe beyond fd 2', { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] }, 'process.stdio[3]'],
  ['more than 64 stdio entries', { stdio: new Array(65).fill('ignore') }, 'process.stdio'],
  ['terminal not a boolean', { terminal: 'yes' }, 'process.terminal'],
  ['a relative cwd', { cwd: 'srv' }, 'process.cwd'],
  ['a username', { user: { username: 'root' } }, 'process.user.username'],
  ['a negative uid', { user: { uid: -1 } }, 'process.user.uid'],
  ['uid (uid_t)-1', { user: { uid: 0xffffffff } }, 'process.user.uid'],
  ['a string gid', { user: { gid: '0' } }, 'process.user.gid'],
  ['a bad additional gid', { user: { additionalGids: [1, 'x'] } }, 'process.user.additionalGids[1]'],
  ['a umask above 0777', { user: { umask: 0o1000 } }, 'process.user.umask'],
  ['user not an object', { user: 0 }, 'process.user'],
  ['an unknown capability', { capabilities: { bounding: ['CAP_FLY'] } }, 'process.capabilities.bounding[0]'],
  ['an unknown ambient capability', { capabilities: { ambient: ['CAP_KILL', 'NOPE'] } }, 'process.capabilities.ambient[1]'],
  ['capabilities not an object', { capabilities: ['CAP_KILL'] }, 'process.capabilities'],
  ['an unknown rlimit', { rlimits: [{ type: 'RLIMIT_FOO', soft: 1, hard: 1 }] }, 'process.rlimits[0].type'],
  ['an rlimit soft above hard', { rlimits: [{ type: 'RLIMIT_NOFILE', soft: 2048, hard: 1024 }] }, 'process.rlimits[0].soft'],
  ['an rlimit without hard', { rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1 }] }, 'process.rlimits[0].hard'],
  ['a negative rlimit', { rlimits: [{ type: 'RLIMIT_NOFILE', soft: -1, hard: 1 }] }, 'process.rlimits[0].soft'],
  ['rlimits not an array', { rlimits: {} }, 'process.rlimits'],
  ['an oomScoreAdj out of range', { oomScoreAdj: 1001 }, 'process.oomScoreAdj'],
  ['an unknown io class', { ioPriority: { class: 'IOPRIO_CLASS_FAST', priority: 0 } }, 'process.ioPriority.class'],
  ['an io priority above 7', { ioPriority: { class: 'IOPRIO_CLASS_BE', priority: 8 } }, 'process.ioPriority.priority'],
  ['noNewPrivileges not a boolean', { noNewPrivileges: 'true' }, 'process.noNewPrivileges'],
];

for (const [what, p, field] of rejections) {
  test(`rejected: ${what} -> ${field}`, async (t) => {
    await rejects(t, p, field);
  });
}

test('a process that is not an object is a ConfigError at process', async (t) => {
  await rejectsField(t, () => normalizeConfig({ rootfs: dir, process: ['/bin/true'] }, fakeCgroupInfo(), fakeCaller()), 'process');
  await rejectsField(t, () => normalizeConfig({ rootfs: dir }, fakeCgroupInfo(), fakeCaller()), 'process');
});

test('the scratch rootfs is still a plain directory (normalize made nothing in it)', (t) => {
  t.deepEqual(fs.readdirSync(dir), []);
  t.true(path.isAbsolute(dir));
});
