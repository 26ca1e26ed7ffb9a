// runHooks / runHooksCollectingErrors (lib/hooks/run.ts) against real
// /bin/sh hooks in a scratch directory: no root, no containers.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { HookError } from '../../dist/lib/errors.js';
import { runHooks, runHooksCollectingErrors } from '../../dist/lib/hooks/run.js';
import { removeDir, scratchDir } from './helpers.js';

let root;
let n = 0;
const leftovers = [];
test.before(() => {
  root = scratchDir('hooks-run');
});
test.after.always(() => {
  for (const pid of leftovers) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  removeDir(root);
});

/** A fresh directory and a `/bin/sh -c <script>` hook (argv[0] "sh") running in it. */
function setup() {
  const dir = path.join(root, String(n++));
  fs.mkdirSync(dir);
  const sh = (script, extra = {}) => ({ path: '/bin/sh', args: ['sh', '-c', `cd ${dir} || exit 99\n${script}`], env: [], ...extra });
  const read = (f) => fs.readFileSync(path.join(dir, f), 'utf8');
  return { dir, sh, read };
}

const state = { ociVersion: '1.2.0', id: 'c1', status: 'created', pid: 4242, bundle: '/srv/bundle', annotations: { a: 'b' } };
/**
 * Dead: ESRCH, or a zombie. An orphaned member of a killed group is init's to
 * reap, and some inits (this VM's) reap it seconds later; until then
 * kill(pid, 0) still succeeds, though nothing runs.
 */
const gone = (pid) => {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return e.code === 'ESRCH';
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true; // reaped between the two looks
  }
};

test('the state JSON arrives on stdin, then EOF', async (t) => {
  const { sh, read } = setup();
  await runHooks('createRuntime', [sh('cat > state.json')], state);
  t.deepEqual(JSON.parse(read('state.json')), state);
});

test('the environment is exactly the hook\'s env (none of ours; empty when absent)', async (t) => {
  const { dir, sh, read } = setup();
  const environ = 'tr "\\0" "\\n" < /proc/$$/environ';
  await runHooks('prestart', [sh(`${environ} > given`, { env: ['A=1', 'B=x=y'] }), { path: '/bin/sh', args: ['sh', '-c', `${environ} > ${dir}/none`] }], state);
  t.deepEqual(read('given').split('\n').filter(Boolean), ['A=1', 'B=x=y']);
  t.is(read('none'), '');
});

test('args are execv\'s argv: args[0] is argv[0], the rest follow', async (t) => {
  const { dir, read } = setup();
  const script = `tr "\\0" " " < /proc/$$/cmdline > ${dir}/argv`;
  await runHooks('poststart', [{ path: '/bin/sh', args: ['my-hook', '-c', script, 'zero', 'one two'], env: [] }], state);
  t.is(read('argv'), `my-hook -c ${script} zero one two `);
});

test('opts.cwd is the hook\'s working directory', async (t) => {
  const { dir } = setup();
  await runHooks('poststart', [{ path: '/bin/sh', args: ['sh', '-c', 'pwd > where'], env: [] }], state, { cwd: dir });
  t.is(fs.readFileSync(path.join(dir, 'where'), 'utf8').trim(), dir);
});

test('hooks run in order, and the first failure stops the rest', async (t) => {
  const { sh, read } = setup();
  await runHooks('poststart', [sh('echo a >> log'), sh('sleep 0.05; echo b >> log'), sh('echo c >> log')], state);
  t.is(read('log'), 'a\nb\nc\n');
  await t.throwsAsync(runHooks('prestart', [sh('echo d >> log'), sh('exit 1'), sh('echo e >> log')], state), { instanceOf: HookError });
  t.is(read('log'), 'a\nb\nc\nd\n');
});

test('a non-zero exit rejects with HOOK_FAILED naming the kind, index, path, code and stderr', async (t) => {
  const { sh } = setup();
  const err = await t.throwsAsync(runHooks('createContainer', [sh('true'), sh('echo "no network for you" >&2; exit 3')], state), { instanceOf: HookError });
  t.is(err.code, 'HOOK_FAILED');
  t.is(err.step, 'hook:createContainer[1]');
  t.is(err.hook, 'createContainer');
  t.is(err.index, 1);
  t.is(err.path, '/bin/sh');
  t.is(err.exitCode, 3);
  t.is(err.stderr, 'no network for you');
  t.regex(err.message, /hook:createContainer\[1\] .*code 3.*no network for you/);
});

test('a hook killed by a signal rejects with the signal', async (t) => {
  const { sh } = setup();
  const err = await t.throwsAsync(runHooks('poststart', [sh('kill -TERM $$')], state), { instanceOf: HookError });
  t.is(err.code, 'HOOK_FAILED');
  t.is(err.signal, 'SIGTERM');
  t.is(err.exitCode, undefined);
});

test('a hook that cannot be run (ENOENT, EACCES) is HOOK_FAILED with the errno', async (t) => {
  const { dir } = setup();
  const noExec = path.join(dir, 'not-executable');
  fs.writeFileSync(noExec, '#!/bin/sh\nexit 0\n', { mode: 0o644 });
  const missing = await t.throwsAsync(runHooks('prestart', [{ path: path.join(dir, 'missing'), args: ['missing'], env: [] }], state), { instanceOf: HookError });
  t.is(missing.code, 'HOOK_FAILED');
  t.is(missing.errno, 'ENOENT');
  t.is(missing.step, 'hook:prestart[0]');
  const denied = await t.throwsAsync(runHooks('prestart', [{ path: noExec, args: [noExec], env: [] }], state), { instanceOf: HookError });
  t.is(denied.errno, 'EACCES');
});

test('a hook past its timeout is HOOK_TIMEOUT within ~1.5 s, its whole process group killed and gone', async (t) => {
  const { sh, read } = setup();
  const started = Date.now();
  const hook = sh('sleep 100 & echo $! > bg; echo $$ > me; echo waiting >&2; sleep 100', { timeout: 1 });
  const err = await t.throwsAsync(runHooks('poststart', [hook], state), { instanceOf: HookError });
  const took = Date.now() - started;
  const [me, bg] = [Number(read('me')), Number(read('bg'))];
  leftovers.push(me, bg);
  t.is(err.code, 'HOOK_TIMEOUT');
  t.is(err.step, 'hook:poststart[0]');
  t.is(err.signal, 'SIGKILL');
  t.regex(err.message, /timeout of 1 s.*waiting/);
  t.true(took >= 950 && took < 1800, `took ${took} ms`);
  t.true(gone(me), 'the hook is gone');
  t.true(gone(bg), 'its background child is gone');
});

test('a hook that does not read a large state still succeeds (no EPIPE)', async (t) => {
  const { sh } = setup();
  const big = { ...state, annotations: { blob: 'x'.repeat(4 * 1024 * 1024) } };
  await t.notThrowsAsync(runHooks('poststart', [sh('exit 0'), sh('exec 0<&-; sleep 0.05')], big));
});

test('stderr is bounded to 4 KiB, and a chatty hook is drained rather than blocked', async (t) => {
  const { sh } = setup();
  const err = await t.throwsAsync(runHooks('poststop', [sh('head -c 1000000 /dev/zero | tr "\\0" e >&2; exit 1')], state), { instanceOf: HookError });
  t.is(err.stderr, 'e'.repeat(4096));
});

test('a daemon left holding stderr does not keep the hook from finishing', async (t) => {
  const { sh, read } = setup();
  const started = Date.now();
  await runHooks('poststart', [sh('sleep 30 & echo $! > d1')], state);
  const err = await t.throwsAsync(runHooks('poststart', [sh('sleep 30 & echo $! > d2; echo bad >&2; exit 2')], state), { instanceOf: HookError });
  leftovers.push(Number(read('d1')), Number(read('d2')));
  t.is(err.stderr, 'bad');
  t.true(Date.now() - started < 1500, `took ${Date.now() - started} ms`);
});

test('an abort kills the running hook\'s group and rejects with ABORTED; later hooks do not run', async (t) => {
  const { sh, read, dir } = setup();
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 200);
  const err = await t.throwsAsync(runHooks('prestart', [sh('echo $$ > me; sleep 100'), sh('touch later')], state, { signal: ac.signal }));
  leftovers.push(Number(read('me')));
  t.is(err.code, 'ABORTED');
  t.is(err.step, 'hook:prestart[0]');
  t.true(gone(Number(read('me'))));
  t.false(fs.existsSync(path.join(dir, 'later')));
  await t.throwsAsync(runHooks('prestart', [sh('touch later')], state, { signal: ac.signal }), { message: /aborted/ });
  t.false(fs.existsSync(path.join(dir, 'later')));
});

test('runHooksCollectingErrors runs every hook and returns the failures in order', async (t) => {
  const { sh, read } = setup();
  const errors = await runHooksCollectingErrors('poststop', [sh('echo one >> log; exit 4'), sh('echo two >> log'), { path: '/nonexistent/hook', args: ['x'], env: [] }, sh('echo four >> log')], state);
  t.is(read('log'), 'one\ntwo\nfour\n');
  t.deepEqual(errors.map((e) => [e.step, e.code]), [['hook:poststop[0]', 'HOOK_FAILED'], ['hook:poststop[2]', 'HOOK_FAILED']]);
  t.is(errors[0].exitCode, 4);
  t.is(errors[1].errno, 'ENOENT');
  t.deepEqual(await runHooksCollectingErrors('poststop', [], state), []);
});
