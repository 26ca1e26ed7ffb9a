// The CLI's argument parser: runc's (urfave/cli) forms, root-free.
import test from 'ava';
import { expectArgs, int, list, parseArgs, str } from '../../dist/lib/cli/args.js';
import { CliError } from '../../dist/lib/cli/errors.js';
import { CREATE_FLAGS, RUN_FLAGS } from '../../dist/lib/cli/cmd-lifecycle.js';
import { EXEC_FLAGS } from '../../dist/lib/cli/cmd-exec.js';
import { GLOBAL_FLAGS } from '../../dist/lib/cli/main.js';
import { UPDATE_FLAGS } from '../../dist/lib/cli/resources.js';

test('--flag value, --flag=value, -f value, -flag value (Go single-dash long)', (t) => {
  for (const argv of [
    ['--bundle', '/b', 'id'],
    ['--bundle=/b', 'id'],
    ['-b', '/b', 'id'],
    ['-bundle', '/b', 'id'],
    ['-b=/b', 'id'],
  ]) {
    const p = parseArgs(argv, { flags: CREATE_FLAGS });
    t.is(str(p, 'bundle'), '/b', argv.join(' '));
    t.deepEqual(p.positionals, ['id']);
  }
});

test('flags before or after the positional argument', (t) => {
  const p = parseArgs(['id', '--pid-file', 'P', '--bundle', 'B'], { flags: CREATE_FLAGS });
  t.deepEqual(p.positionals, ['id']);
  t.is(str(p, 'pid-file'), 'P');
  t.is(str(p, 'bundle'), 'B');
});

test('bool flags: bare, =true/=false, bundled one-letter', (t) => {
  t.true(parseArgs(['-d', 'x'], { flags: RUN_FLAGS }).flags.detach);
  t.false(parseArgs(['--detach=false', 'x'], { flags: RUN_FLAGS }).flags.detach);
  const p = parseArgs(['-dt', 'x', 'sh'], { flags: EXEC_FLAGS, stopAfter: 1 });
  t.true(p.flags.detach);
  t.true(p.flags.tty);
  t.throws(() => parseArgs(['--detach=maybe'], { flags: RUN_FLAGS }), { instanceOf: CliError, message: /invalid boolean/ });
});

test('repeated flags are collected in order', (t) => {
  const p = parseArgs(['--env', 'A=1', '-e', 'B=2', '--env=C=3', '--cap', 'CAP_SYS_ADMIN', 'id', 'sh'], { flags: EXEC_FLAGS, stopAfter: 1 });
  t.deepEqual(list(p, 'env'), ['A=1', 'B=2', 'C=3']);
  t.deepEqual(list(p, 'cap'), ['CAP_SYS_ADMIN']);
  t.deepEqual(p.positionals, ['id', 'sh']);
});

test('exec: after the id, everything is the process argv (its own -c, -h, --env)', (t) => {
  const p = parseArgs(['-t', 'ctr', 'sh', '-c', 'echo --env x', '-h'], { flags: EXEC_FLAGS, stopAfter: 1 });
  t.deepEqual(p.positionals, ['ctr', 'sh', '-c', 'echo --env x', '-h']);
  t.is(p.flags.help, undefined);
  t.true(p.flags.tty);
});

test('exec: podman/conmon long forms --process and --detach, --preserve-fds N', (t) => {
  const p = parseArgs(['--pid-file', '/p', '--process', '/f.json', '--detach', '--tty', '--console-socket', '/s', '--preserve-fds', '2', 'ctr'], { flags: EXEC_FLAGS, stopAfter: 1 });
  t.is(str(p, 'process'), '/f.json');
  t.is(str(p, 'console-socket'), '/s');
  t.is(int(p, 'preserve-fds'), 2);
  t.true(p.flags.detach);
  t.deepEqual(p.positionals, ['ctr']);
});

test('update: -r and --resources are one flag; --cpu-shares is --cpu-share', (t) => {
  t.is(str(parseArgs(['--resources', '/r.json', 'c'], { flags: UPDATE_FLAGS }), 'resources'), '/r.json');
  t.is(str(parseArgs(['-r', '-', 'c'], { flags: UPDATE_FLAGS }), 'resources'), '-');
  t.is(str(parseArgs(['--cpu-shares', '512', 'c'], { flags: UPDATE_FLAGS }), 'cpu-share'), '512');
  t.is(str(parseArgs(['--memory', '-1', 'c'], { flags: UPDATE_FLAGS }), 'memory'), '-1');
});

test('global flags end at the command name', (t) => {
  const p = parseArgs(['--root', '/r', '--log', '/l', '--log-format', 'json', '--systemd-cgroup', 'create', '--bundle', 'B', 'id'], { flags: GLOBAL_FLAGS, stopAfter: 1 });
  t.is(str(p, 'root'), '/r');
  t.is(str(p, 'log-format'), 'json');
  t.true(p.flags['systemd-cgroup']);
  t.deepEqual(p.positionals, ['create', '--bundle', 'B', 'id']);
  const h = parseArgs(['--help'], { flags: GLOBAL_FLAGS, stopAfter: 1 });
  t.true(h.flags.help);
  t.deepEqual(h.positionals, []);
});

test('-- ends the flags; a lone - is an argument', (t) => {
  t.deepEqual(parseArgs(['--', '--bundle'], { flags: CREATE_FLAGS }).positionals, ['--bundle']);
  t.deepEqual(parseArgs(['-'], { flags: CREATE_FLAGS }).positionals, ['-']);
});

test('unknown flags and missing values are usage errors', (t) => {
  t.throws(() => parseArgs(['--nope', 'x'], { flags: CREATE_FLAGS }), { instanceOf: CliError, message: 'flag provided but not defined: --nope' });
  t.throws(() => parseArgs(['-z'], { flags: CREATE_FLAGS }), { message: 'flag provided but not defined: -z' });
  t.throws(() => parseArgs(['id', '--bundle'], { flags: CREATE_FLAGS }), { message: 'flag needs an argument: --bundle' });
});

test('runc\'s argument counts', (t) => {
  const p = (argv) => parseArgs(argv, { flags: CREATE_FLAGS });
  t.throws(() => expectArgs(p([]), 'create', 1), { message: '"create" requires exactly 1 argument(s)' });
  t.throws(() => expectArgs(p(['a', 'b', 'c']), 'kill', 1, 2), { message: '"kill" requires a maximum of 2 argument(s)' });
  t.notThrows(() => expectArgs(p(['a', 'b']), 'kill', 1, 2));
  t.throws(() => int(parseArgs(['--preserve-fds', 'x'], { flags: CREATE_FLAGS }), 'preserve-fds'), { message: /not an integer/ });
  t.throws(() => int(parseArgs(['--preserve-fds', '-1'], { flags: CREATE_FLAGS }), 'preserve-fds', { min: 0 }), { message: /at least 0/ });
});
