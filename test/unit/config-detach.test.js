// detached / consoleSocket: what a container that outlives its creator may ask for.
import test from 'ava';
import { normalizeDetach } from '../../dist/lib/config/detach.js';
import { ConfigError } from '../../dist/lib/errors.js';

const plain = { terminal: false, notifyHandler: false };

test('detached: no parent-death signal; otherwise dieWithParent defaults to true', (t) => {
  t.deepEqual(normalizeDetach({ detached: true }, plain), { detached: true, dieWithParent: false });
  t.deepEqual(normalizeDetach({}, plain), { detached: false, dieWithParent: true });
  t.deepEqual(normalizeDetach({ dieWithParent: false }, plain), { detached: false, dieWithParent: false });
});

test('refused with the field named: dieWithParent true, a notify handler, a console socket without a terminal, not booleans', (t) => {
  const field = (fn) => {
    const err = t.throws(fn);
    t.true(err instanceof ConfigError);
    return err.field;
  };
  t.is(field(() => normalizeDetach({ detached: true, dieWithParent: true }, plain)), 'dieWithParent');
  t.is(field(() => normalizeDetach({ detached: true }, { terminal: false, notifyHandler: true })), 'seccompNotify');
  t.is(field(() => normalizeDetach({ consoleSocket: '/run/x.sock' }, plain)), 'consoleSocket');
  t.is(field(() => normalizeDetach({ detached: 'yes' }, plain)), 'detached');
  t.is(field(() => normalizeDetach({ consoleSocket: 5 }, { terminal: true, notifyHandler: false })), 'consoleSocket');
});

test('consoleSocket: kept with a terminal, made absolute', (t) => {
  t.deepEqual(normalizeDetach({ detached: true, consoleSocket: '/run/c.sock' }, { terminal: true, notifyHandler: false }), { detached: true, dieWithParent: false, consoleSocket: '/run/c.sock' });
  t.true(normalizeDetach({ consoleSocket: 'rel.sock' }, { terminal: true, notifyHandler: false }).consoleSocket.startsWith('/'));
});
