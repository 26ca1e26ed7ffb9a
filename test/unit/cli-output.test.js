// What the CLI prints and logs: state, list, ps rows, spec, log records,
// errors → one line and exit code 1, and main's global behaviour.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BerthError, ConfigError, ContainerNotFoundError, InvalidStateError, SetupError } from '../../dist/lib/errors.js';
import { CliError, describeError, exitCodeOf, notExist, strerror } from '../../dist/lib/cli/errors.js';
import { filterPsOutput, listItem, listTable, stateView, tabwrite, toJson } from '../../dist/lib/cli/format.js';
import { Logger, formatRecord, parseLogFormat, rfc3339 } from '../../dist/lib/cli/log.js';
import { main } from '../../dist/lib/cli/main.js';
import { defaultSpec, toRootless } from '../../dist/lib/cli/spec-template.js';

const record = {
  ociVersion: '1.2.0',
  id: 'c1',
  status: 'running',
  pid: 1234,
  pidStartTime: 99,
  bundle: '/b',
  rootfs: '/b/rootfs',
  created: '2026-01-02T03:04:05.000Z',
  ownerPid: 77,
  cgroupPaths: ['/sys/fs/cgroup/berth/c1'],
};

test('state: the OCI fields only, pid 0 once stopped, annotations always', (t) => {
  t.deepEqual(stateView(record), { ociVersion: '1.2.0', id: 'c1', status: 'running', pid: 1234, bundle: '/b', rootfs: '/b/rootfs', created: '2026-01-02T03:04:05.000Z', annotations: {} });
  t.is(stateView({ ...record, status: 'stopped' }).pid, 0);
  t.deepEqual(stateView({ ...record, annotations: { a: 'b' } }).annotations, { a: 'b' });
  t.deepEqual(Object.keys(stateView(record)), ['ociVersion', 'id', 'status', 'pid', 'bundle', 'rootfs', 'created', 'annotations']);
});

test('list: runc\'s json items and tabwriter table', (t) => {
  const items = [listItem(record, 'root'), listItem({ ...record, id: 'a-much-longer-id', status: 'stopped' }, 'bob')];
  t.deepEqual(items[0], { ociVersion: '1.2.0', id: 'c1', pid: 1234, status: 'running', bundle: '/b', rootfs: '/b/rootfs', created: '2026-01-02T03:04:05.000Z', owner: 'root' });
  t.is(items[1].pid, 0);
  const lines = listTable(items).split('\n');
  t.is(lines[0], `ID                 PID         STATUS      BUNDLE      ${'CREATED'.padEnd(27)}OWNER`);
  t.is(lines[1], 'c1                 1234        running     /b          2026-01-02T03:04:05.000Z   root');
  t.is(lines[2], 'a-much-longer-id   0           stopped     /b          2026-01-02T03:04:05.000Z   bob');
  t.is(lines[3], '');
  t.is(tabwrite([['a', 'b']]), 'a           b\n');
});

test('ps: the header and the container\'s rows', (t) => {
  const out = ['UID          PID    PPID  C STIME TTY          TIME CMD', 'root           1       0  0 09:00 ?        00:00:01 /sbin/init', 'root        4242       1  0 09:01 ?        00:00:00 sleep 100', 'root        4243    4242  0 09:01 ?        00:00:00 sh -c x 4242', ''].join('\n');
  t.is(filterPsOutput(out, [4242, 4243]), [out.split('\n')[0], out.split('\n')[2], out.split('\n')[3]].join('\n') + '\n');
  t.is(filterPsOutput(out, []), out.split('\n')[0] + '\n');
  t.throws(() => filterPsOutput('NO HEADER\n1 2\n', [1]), { message: "couldn't find PID field in ps output" });
});

test('toJson: cgroup counters given as BigInt', (t) => {
  t.is(toJson({ a: 5n, b: 2n ** 64n }), '{"a":5,"b":"18446744073709551616"}');
});

test('log records as runc writes them (json one per line, logrus text)', (t) => {
  const at = new Date('2026-01-02T03:04:05Z');
  const json = JSON.parse(formatRecord('error', 'container "x" does not exist', at, 'json'));
  t.deepEqual(Object.keys(json), ['level', 'msg', 'time']);
  t.is(json.level, 'error');
  t.is(json.msg, 'container "x" does not exist');
  t.is(json.time, rfc3339(at));
  t.regex(json.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/);
  t.is(formatRecord('debug', 'plain', at, 'text'), `time="${rfc3339(at)}" level=debug msg=plain`);
  t.is(formatRecord('error', 'a "b"', at, 'text'), `time="${rfc3339(at)}" level=error msg="a \\"b\\""`);
  t.is(parseLogFormat(undefined), 'text');
  t.throws(() => parseLogFormat('xml'), { message: 'invalid log-format: xml' });
});

test('Logger: records appended to --log; errors only there; debug only with --debug', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-cli-log-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'log.json');
  fs.writeFileSync(file, '{"level":"info","msg":"before","time":"x"}\n');
  const log = new Logger({ file, format: 'json' });
  log.debug('hidden');
  log.warn('w');
  log.error('e1');
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.deepEqual(lines.map((l) => [l.level, l.msg]), [['info', 'before'], ['warning', 'w'], ['error', 'e1']]);
  const seen = [];
  const quiet = new Logger({ debug: true });
  quiet.stderr = (l) => seen.push(l);
  quiet.error('said by main instead');
  quiet.debug('d');
  t.is(seen.length, 1);
  t.regex(seen[0], /level=debug msg=d\n$/);
});

test('errors: one line, BerthError details not already in the message, exit 1', (t) => {
  t.is(describeError(notExist('x')), 'container "x" does not exist');
  t.is(describeError(new ConfigError('process.args[0]', 'must be a string')), 'invalid config at process.args[0]: must be a string (step: validate)');
  t.is(describeError(new SetupError('mounts', 'cannot mount /proc', { errno: 'EPERM', syscall: 'mount', path: '/proc' })), 'cannot mount /proc (step: mounts, errno: EPERM): operation not permitted');
  t.is(describeError(new SetupError('rootfs', 'cannot switch root', { errno: 'EINVAL', syscall: 'pivot_root', path: '/b/rootfs' })), 'cannot switch root (step: rootfs, syscall: pivot_root, path: /b/rootfs, errno: EINVAL): invalid argument');
  // The errno's text ends the line (podman maps it to 126/127), once, even when the message names the errno.
  t.is(describeError(new SetupError('exec', 'exec failed: execve /etc/passwd: EACCES', { errno: 'EACCES', syscall: 'execve' })), 'exec failed: execve /etc/passwd: EACCES: permission denied');
  t.is(describeError(new SetupError('exec', 'stat /x: no such file or directory', { errno: 'ENOENT' })), 'stat /x: no such file or directory (step: exec, errno: ENOENT)');
  t.is(strerror('ENOENT'), 'no such file or directory');
  t.is(strerror('ENOTANERRNO'), undefined);
  t.is(describeError(new InvalidStateError('kill', 'stopped', 'c')), 'cannot kill container "c": it is stopped');
  t.is(describeError(new BerthError('X', 'line one\nline two')), 'line one; line two');
  t.is(describeError(new Error('plain')), 'plain');
  t.is(describeError('str'), 'str');
  t.is(exitCodeOf(new CliError('x')), 1);
  t.is(exitCodeOf(new ContainerNotFoundError('c')), 1);
  t.is(exitCodeOf(new Error('x')), 1);
});

test('spec: runc\'s default, and its rootless variant', (t) => {
  const s = defaultSpec();
  t.deepEqual(s.process.args, ['sh']);
  t.true(s.process.terminal);
  t.is(s.root.path, 'rootfs');
  t.deepEqual(s.process.capabilities.bounding, ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']);
  t.deepEqual(s.linux.namespaces.map((n) => n.type), ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup']);
  t.true(s.linux.maskedPaths.includes('/proc/kcore'));
  t.true(s.linux.readonlyPaths.includes('/proc/sysrq-trigger'));
  t.deepEqual(s.mounts.map((m) => m.destination), ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup']);
  const r = toRootless(defaultSpec(), { uid: 1000, gid: 1001 });
  t.deepEqual(r.linux.namespaces.map((n) => n.type), ['pid', 'ipc', 'uts', 'mount', 'user']);
  t.deepEqual(r.linux.uidMappings, [{ containerID: 0, hostID: 1000, size: 1 }]);
  t.deepEqual(r.linux.gidMappings, [{ containerID: 0, hostID: 1001, size: 1 }]);
  t.is(r.linux.resources, undefined);
  t.deepEqual(r.mounts.find((m) => m.destination === '/sys'), { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] });
  t.false(r.mounts.find((m) => m.destination === '/dev/pts').options.some((o) => o.startsWith('gid=')));
  t.deepEqual(defaultSpec(), s, 'a fresh document each time');
});

async function cli(argv) {
  const out = [];
  const err = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join(''), err: err.join('') };
}

test('main: help, version, unknown command, refused flags and commands', async (t) => {
  const help = await cli(['--help']);
  t.is(help.code, 0);
  t.regex(help.out, /COMMANDS:[\s\S]*create[\s\S]*features/);
  t.regex((await cli([])).out, /USAGE/);
  t.regex((await cli(['help', 'exec'])).out, /berth exec/);
  t.regex((await cli(['exec', '--help'])).out, /--console-socket/);
  t.regex((await cli(['-v'])).out, /^berth version \d/);
  t.deepEqual(await cli(['frob']), { code: 1, out: '', err: 'berth: unknown command "frob" (berth --help lists them)\n' });
  t.deepEqual(await cli(['--systemd-cgroup', 'create', 'x']), { code: 1, out: '', err: 'berth: systemd cgroup driver is not supported\n' });
  t.is((await cli(['--rootless', 'maybe', 'list'])).code, 1);
  t.deepEqual(await cli(['checkpoint', 'x']), { code: 1, out: '', err: 'berth: checkpoint/restore is not supported by berth\n' });
  t.deepEqual(await cli(['restore', 'x']), { code: 1, out: '', err: 'berth: checkpoint/restore is not supported by berth\n' });
  t.deepEqual(await cli(['create', '--bundle', '/nonexistent']), { code: 1, out: '', err: 'berth: "create" requires exactly 1 argument(s)\n' });
  t.deepEqual(await cli(['kill', 'x', 'NOPE']), { code: 1, out: '', err: 'berth: unknown signal "NOPE"\n' });
});

test('main: a missing container, with --log in json; list and delete --force of an empty root', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-cli-root-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const log = path.join(dir, 'log');
  const root = path.join(dir, 'state');
  for (const cmd of [['state', 'nope'], ['start', 'nope'], ['kill', 'nope', 'KILL'], ['delete', 'nope'], ['pause', 'nope'], ['exec', 'nope', 'ls'], ['ps', 'nope']]) {
    const r = await cli(['--root', root, '--log', log, '--log-format', 'json', ...cmd]);
    t.is(r.code, 1, cmd.join(' '));
    t.is(r.err, 'berth: container "nope" does not exist\n', cmd.join(' '));
  }
  const last = JSON.parse(fs.readFileSync(log, 'utf8').trim().split('\n').at(-1));
  t.is(last.level, 'error');
  t.is(last.msg, 'container "nope" does not exist');
  t.is((await cli(['--root', root, 'delete', '--force', 'nope'])).code, 0);
  t.deepEqual(await cli(['--root', root, 'list', '--format', 'json']), { code: 0, out: '[]\n', err: '' });
  t.deepEqual(await cli(['--root', root, 'list', '-q']), { code: 0, out: '', err: '' });
  t.is((await cli(['--root', root, 'list'])).out, 'ID          PID         STATUS      BUNDLE      CREATED     OWNER\n');
});

test('main: spec writes config.json once', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-cli-spec-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  t.is((await cli(['spec', '--bundle', dir])).code, 0);
  const doc = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  t.deepEqual(doc, defaultSpec());
  t.deepEqual(await cli(['spec', '--bundle', dir]), { code: 1, out: '', err: 'berth: File config.json exists. Remove it first\n' });
  const rl = path.join(dir, 'rl');
  t.is((await cli(['spec', '--rootless', '-b', rl])).code, 0);
  t.true(JSON.parse(fs.readFileSync(path.join(rl, 'config.json'), 'utf8')).linux.namespaces.some((n) => n.type === 'user'));
});
