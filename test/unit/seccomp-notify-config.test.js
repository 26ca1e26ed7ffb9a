// seccompNotify (lib/config/seccomp-notify.ts) and the one-supervisor rule: a
// NOTIFY profile is answered by the handler or by the agent at listenerPath,
// never by neither or both; each bad input a ConfigError naming its path.
import test from 'ava';
import { checkNotifySupervisor, normalizeSeccompNotify } from '../../dist/lib/config/seccomp-notify.js';
import { normalizeSeccomp } from '../../dist/lib/config/seccomp.js';
import { ConfigError } from '../../dist/lib/index.js';

const handler = () => ({ allow: true });
const notifying = (extra = {}) => normalizeSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', ...extra, syscalls: [{ names: ['getppid'], action: 'SCMP_ACT_LOG' }, { names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }, 'linux.seccomp');

function refused(t, fn, field, message) {
  const err = t.throws(fn, { instanceOf: ConfigError });
  t.is(err?.field, field, err?.message);
  if (message) t.regex(err?.message ?? '', message);
}

test('seccompNotify: a handler, a timeout (default 10 s) and the errno a late answer gets (default EPERM)', (t) => {
  t.is(normalizeSeccompNotify(undefined, 'seccompNotify'), undefined);
  const d = normalizeSeccompNotify({ handler }, 'seccompNotify');
  t.is(d.handler, handler);
  t.is(d.timeoutMs, 10_000);
  t.is(d.timeoutErrno, 1);
  const n = normalizeSeccompNotify({ handler, timeoutMs: 250, timeoutErrno: 'EACCES' }, 'seccompNotify');
  t.is(n.timeoutMs, 250);
  t.is(n.timeoutErrno, 13);
  t.is(normalizeSeccompNotify({ handler, timeoutErrno: 38 }, 'seccompNotify').timeoutErrno, 38);
  t.true(Object.isFrozen(n));
});

test('seccompNotify: bad inputs name their field', (t) => {
  refused(t, () => normalizeSeccompNotify(handler, 'seccompNotify'), 'seccompNotify');
  refused(t, () => normalizeSeccompNotify({}, 'seccompNotify'), 'seccompNotify.handler', /function/);
  refused(t, () => normalizeSeccompNotify({ handler: 'allow' }, 'seccompNotify'), 'seccompNotify.handler');
  refused(t, () => normalizeSeccompNotify({ handler, timeoutMs: 0 }, 'seccompNotify'), 'seccompNotify.timeoutMs');
  refused(t, () => normalizeSeccompNotify({ handler, timeoutMs: 2 ** 31 }, 'seccompNotify'), 'seccompNotify.timeoutMs');
  refused(t, () => normalizeSeccompNotify({ handler, timeoutMs: 1.5 }, 'seccompNotify'), 'seccompNotify.timeoutMs');
  refused(t, () => normalizeSeccompNotify({ handler, timeoutErrno: 'ENOTANERRNO' }, 'seccompNotify'), 'seccompNotify.timeoutErrno');
  refused(t, () => normalizeSeccompNotify({ handler, timeoutErrno: 0 }, 'seccompNotify'), 'seccompNotify.timeoutErrno');
  refused(t, () => normalizeSeccompNotify({ handler, timeout: 5 }, 'seccompNotify'), 'seccompNotify.timeout', /unknown field/);
});

test('a NOTIFY profile needs exactly one supervisor: the handler or the agent at listenerPath', (t) => {
  const notify = normalizeSeccompNotify({ handler }, 'seccompNotify');
  refused(t, () => checkNotifySupervisor(notifying(), undefined, 'linux.seccomp', 'seccompNotify'), 'linux.seccomp.syscalls[1].action', /needs someone to answer/);
  refused(t, () => checkNotifySupervisor(notifying({ listenerPath: '/run/a.sock' }), notify, 'linux.seccomp', 'seccompNotify'), 'linux.seccomp.listenerPath', /not both/);
  t.notThrows(() => checkNotifySupervisor(notifying(), notify, 'linux.seccomp', 'seccompNotify'));
  t.notThrows(() => checkNotifySupervisor(notifying({ listenerPath: '/run/a.sock' }), undefined, 'linux.seccomp', 'seccompNotify'));
  // No NOTIFY rule: no listener, nothing to check (a handler given anyway is harmless).
  t.notThrows(() => checkNotifySupervisor(null, undefined, 'linux.seccomp', 'seccompNotify'));
  t.notThrows(() => checkNotifySupervisor(normalizeSeccomp({ defaultAction: 'SCMP_ACT_ALLOW' }, 'linux.seccomp'), notify, 'linux.seccomp', 'seccompNotify'));
});
