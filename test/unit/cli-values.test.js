// Values the CLI converts: signals, sizes, durations, exit codes, exec's
// process, update's resources, create's options, the pid file.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from '../../dist/lib/cli/args.js';
import { CREATE_FLAGS, createConfig } from '../../dist/lib/cli/cmd-lifecycle.js';
import { EXEC_FLAGS } from '../../dist/lib/cli/cmd-exec.js';
import { buildExecProcess, checkTerminal, parseUser, processFromFile } from '../../dist/lib/cli/exec-process.js';
import { writePidFile } from '../../dist/lib/cli/pidfile.js';
import { UPDATE_FLAGS, buildResources, resourcesFromJson } from '../../dist/lib/cli/resources.js';
import { exitStatusCode, parseSignal } from '../../dist/lib/cli/signals.js';
import { parseDuration, parseSize } from '../../dist/lib/cli/units.js';

test('signals: TERM, SIGTERM, term, 15, KILL, USR1, real-time', (t) => {
  for (const s of ['TERM', 'SIGTERM', 'term', '15']) t.is(parseSignal(s), 'SIGTERM', s);
  t.is(parseSignal('KILL'), 'SIGKILL');
  t.is(parseSignal('9'), 'SIGKILL');
  t.is(parseSignal('USR1'), 'SIGUSR1');
  t.is(parseSignal('0'), 0);
  t.is(parseSignal('RTMIN+3'), 37);
  t.is(parseSignal('SIGRTMAX'), 64);
  t.is(parseSignal('40'), 40);
  t.throws(() => parseSignal('FOO'), { message: 'unknown signal "FOO"' });
  t.throws(() => parseSignal('99'), { message: 'unknown signal "99"' });
});

test('exit codes: the code, or 128 + the signal', (t) => {
  t.is(exitStatusCode({ exitCode: 3, signal: null }), 3);
  t.is(exitStatusCode({ exitCode: 0, signal: null }), 0);
  t.is(exitStatusCode({ exitCode: null, signal: 'SIGKILL' }), 137);
  t.is(exitStatusCode({ exitCode: null, signal: 'SIGTERM' }), 143);
});

test('sizes as runc takes them (binary multiples, -1 unlimited)', (t) => {
  t.is(parseSize('100m'), 100 * 1024 * 1024);
  t.is(parseSize('1g'), 2 ** 30);
  t.is(parseSize('1GiB'), 2 ** 30);
  t.is(parseSize('512k'), 512 * 1024);
  t.is(parseSize('512KB'), 512 * 1024);
  t.is(parseSize('1.5g'), 1.5 * 2 ** 30);
  t.is(parseSize('4096'), 4096);
  t.is(parseSize('-1'), -1);
  t.throws(() => parseSize('lots', 'memory'), { message: "invalid value for memory: invalid size: 'lots'" });
});

test('durations as Go writes them, in ms', (t) => {
  t.is(parseDuration('5s'), 5000);
  t.is(parseDuration('100ms'), 100);
  t.is(parseDuration('1m30s'), 90_000);
  t.is(parseDuration('1h'), 3_600_000);
  t.throws(() => parseDuration('5'), { message: /invalid duration/ });
  t.throws(() => parseDuration('soon'), { message: /invalid duration/ });
});

const execArgs = (argv) => {
  const p = parseArgs(argv, { flags: EXEC_FLAGS, stopAfter: 1 });
  return [p, p.positionals.slice(1)];
};

test('exec: flags over the container\'s process, env appended, caps added', (t) => {
  const base = {
    args: ['init'],
    env: ['PATH=/bin', 'A=0'],
    cwd: '/',
    user: { uid: 0, gid: 0 },
    capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] },
    noNewPrivileges: false,
    terminal: true,
  };
  const [p, args] = execArgs(['--env', 'A=1', '--cwd', '/tmp', '-u', '1000:1001', '-g', '5', '--cap', 'net_admin', '--no-new-privs', '--apparmor', 'prof', '--process-label', 'lbl', 'c', 'sh', '-c', 'x']);
  const proc = buildExecProcess(p, args, { base });
  t.deepEqual(proc.args, ['sh', '-c', 'x']);
  t.deepEqual(proc.env, ['PATH=/bin', 'A=0', 'A=1']);
  t.is(proc.cwd, '/tmp');
  t.deepEqual(proc.user, { uid: 1000, gid: 1001, additionalGids: [5] });
  t.deepEqual(proc.capabilities, { bounding: ['CAP_KILL', 'CAP_NET_ADMIN'], effective: ['CAP_KILL', 'CAP_NET_ADMIN'], permitted: ['CAP_KILL', 'CAP_NET_ADMIN'] });
  t.true(proc.noNewPrivileges);
  t.false(proc.terminal, 'terminal only with -t, as runc');
  t.is(proc.apparmorProfile, 'prof');
  t.is(proc.selinuxLabel, 'lbl');
  t.deepEqual(proc.stdio, ['inherit', 'inherit', 'inherit']);
  t.deepEqual(base.env, ['PATH=/bin', 'A=0'], 'the base is not changed');
});

test('exec: with no base only what was given; ambient only beside inheritable', (t) => {
  const [p, args] = execArgs(['-t', 'c', 'ls']);
  t.deepEqual(buildExecProcess(p, args), { args: ['ls'], terminal: true, stdio: ['inherit', 'inherit', 'inherit'] });
  const [p2, a2] = execArgs(['--cap', 'CAP_SYS_PTRACE', 'c', 'ls']);
  const caps = buildExecProcess(p2, a2, { base: { capabilities: { bounding: [], inheritable: [] } } }).capabilities;
  t.deepEqual(caps.ambient, ['CAP_SYS_PTRACE']);
  t.deepEqual(caps.inheritable, ['CAP_SYS_PTRACE']);
});

test('exec -p: the process file as it is; no args is an error', (t) => {
  const file = processFromFile('{"args":["top"],"terminal":true,"cwd":"/"}', 'f.json');
  const [p, args] = execArgs(['-p', 'f.json', '--env', 'IGNORED=1', 'c']);
  t.deepEqual(buildExecProcess(p, args, { file }), { args: ['top'], terminal: true, cwd: '/', stdio: ['inherit', 'inherit', 'inherit'] });
  t.throws(() => processFromFile('[1]', 'f.json'), { message: /not a JSON object/ });
  t.throws(() => processFromFile('{', 'f.json'), { message: /cannot parse process file f.json/ });
  const [p3, a3] = execArgs(['c']);
  t.throws(() => buildExecProcess(p3, a3), { message: /process args must not be empty/ });
  t.deepEqual(parseUser('7'), { uid: 7 });
  t.throws(() => parseUser('bob'), { message: /not an integer/ });
});

test('terminal and console socket rules (runc\'s)', (t) => {
  t.throws(() => checkTerminal(true, true, undefined), { message: /cannot allocate tty if berth will detach without setting console socket/ });
  t.throws(() => checkTerminal(false, true, '/s'), { message: /cannot use console socket/ });
  t.notThrows(() => checkTerminal(true, true, '/s'));
  t.notThrows(() => checkTerminal(true, false, undefined));
  t.notThrows(() => checkTerminal(false, true, undefined));
});

test('update: runc\'s flags into an OCI LinuxResources, over -r\'s', (t) => {
  const p = parseArgs(
    ['--memory', '100m', '--memory-swap', '-1', '--memory-reservation', '50m', '--cpu-share', '512', '--cpu-period', '100000', '--cpu-quota', '-1', '--cpuset-cpus', '0-1', '--cpuset-mems', '0', '--pids-limit', '64', '--blkio-weight', '300', '--cpu-rt-period', '1000', '--cpu-rt-runtime', '500', 'c'],
    { flags: UPDATE_FLAGS },
  );
  t.deepEqual(buildResources(p), {
    memory: { limit: 100 * 2 ** 20, swap: -1, reservation: 50 * 2 ** 20 },
    cpu: { shares: 512, period: 100000, quota: -1, realtimePeriod: 1000, realtimeRuntime: 500, cpus: '0-1', mems: '0' },
    pids: { limit: 64 },
    blockIO: { weight: 300 },
  });
  const base = resourcesFromJson('{"memory":{"limit":1,"swap":2},"pids":{"limit":5}}', 'r.json');
  t.deepEqual(buildResources(parseArgs(['--memory', '1k', 'c'], { flags: UPDATE_FLAGS }), base), { memory: { limit: 1024, swap: 2 }, pids: { limit: 5 } });
  t.deepEqual(buildResources(parseArgs(['c'], { flags: UPDATE_FLAGS })), {});
  t.throws(() => buildResources(parseArgs(['--blkio-weight', '5', 'c'], { flags: UPDATE_FLAGS })), { message: /10-1000/ });
  t.throws(() => buildResources(parseArgs(['--cpu-share', 'lots', 'c'], { flags: UPDATE_FLAGS })), { message: /not an integer/ });
  t.throws(() => resourcesFromJson('null', 'stdin'), { message: /not a JSON object/ });
});

test('create: the library\'s options from the flags', (t) => {
  const p = parseArgs(['--bundle', 'b', '--console-socket', 's.sock', '--preserve-fds', '2', '--pid-file', 'p', 'id1'], { flags: CREATE_FLAGS });
  t.deepEqual(createConfig(p, 'id1', { stateRoot: '/r' }, true, '/work'), {
    id: 'id1',
    bundle: '/work/b',
    detached: true,
    // --preserve-fds 2: the CLI's fds 3 and 4 at 3 and 4 in the container
    process: { stdio: ['inherit', 'inherit', 'inherit', 3, 4] },
    stateRoot: '/r',
    consoleSocket: '/work/s.sock',
  });
  // Accepted (podman passes it with keyring = false), and changes nothing: the container still gets its own keyring.
  t.deepEqual(createConfig(parseArgs(['--no-new-keyring', 'x'], { flags: CREATE_FLAGS }), 'x', { stateRoot: undefined }, true, '/here'), { id: 'x', bundle: '/here', detached: true, process: { stdio: ['inherit', 'inherit', 'inherit'] } });
  const bare = createConfig(parseArgs(['id2'], { flags: CREATE_FLAGS }), 'id2', { stateRoot: undefined }, false, '/here');
  t.deepEqual(bare, { id: 'id2', bundle: '/here', detached: false, process: { stdio: ['inherit', 'inherit', 'inherit'] } });
  t.throws(() => createConfig(parseArgs(['--no-pivot', 'x'], { flags: CREATE_FLAGS }), 'x', { stateRoot: undefined }, true), { message: /--no-pivot is not supported/ });
});

test('pid file: the decimal pid, no newline, nothing else left in the directory', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-cli-pid-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'pid');
  writePidFile(file, 4242);
  t.is(fs.readFileSync(file, 'utf8'), '4242');
  writePidFile(file, 7);
  t.is(fs.readFileSync(file, 'utf8'), '7');
  t.deepEqual(fs.readdirSync(dir), ['pid']);
  t.throws(() => writePidFile(path.join(dir, 'missing', 'pid'), 1));
});
