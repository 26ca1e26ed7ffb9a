// check.ts, the one validation vocabulary: each helper names the field it refuses.
import test from 'ava';
import { absPath, describe, int, onlyKeys, optLimit, strArray, UINT32_ID_MAX } from '../../dist/lib/config/check.js';
import { rejectsField } from './helpers.js';

test('absPath: absolute, no NUL, shorter than PATH_MAX', async (t) => {
  t.is(absPath('/a', 'f'), '/a');
  await rejectsField(t, () => absPath('a', 'f'), 'f', /absolute path, got "a"/);
  await rejectsField(t, () => absPath('/a\0', 'f'), 'f', /NUL/);
  await rejectsField(t, () => absPath(`/${'a/'.repeat(2047)}a`, 'f'), 'f', /PATH_MAX/);
  t.is(absPath(`/${'a/'.repeat(2046)}a`, 'f').length, 4094);
  await rejectsField(t, () => absPath(`/${'a'.repeat(256)}`, 'f'), 'f', /NAME_MAX/);
});

test('int: integers in range only, with the value in the message', async (t) => {
  t.is(int(5, 'f', 0, 5), 5);
  await rejectsField(t, () => int(6, 'f', 0, 5), 'f', /between 0 and 5, got 6/);
  await rejectsField(t, () => int('5', 'f', 0, 5), 'f', /integer, got "5"/);
  await rejectsField(t, () => int(NaN, 'f', 0, 5), 'f');
  await rejectsField(t, () => int(0.5, 'f', 0, 5), 'f');
});

test('strArray names the bad element', async (t) => {
  t.deepEqual(strArray(undefined, 'f'), []);
  await rejectsField(t, () => strArray(['a', 2], 'f'), 'f[1]');
  await rejectsField(t, () => strArray('a', 'f'), 'f');
});

test('onlyKeys names the unknown key and lists the allowed ones', async (t) => {
  t.notThrows(() => onlyKeys({ a: 1 }, 'x', ['a', 'b']));
  await rejectsField(t, () => onlyKeys({ a: 1, c: 2 }, 'x', ['a', 'b']), 'x.c', /expected one of: a, b/);
});

test('optLimit: null is absent, -1 only where unlimited, min and max, safe integers', async (t) => {
  t.notThrows(() => optLimit({ k: null }, 'k', 'o', { min: 1 }));
  t.notThrows(() => optLimit({}, 'k', 'o', { min: 1 }));
  t.notThrows(() => optLimit({ k: -1 }, 'k', 'o', { min: 1, unlimited: true }));
  await rejectsField(t, () => optLimit({ k: -1 }, 'k', 'o', { min: 1 }), 'o.k', /must be >= 1, got -1/);
  await rejectsField(t, () => optLimit({ k: 0 }, 'k', 'o', { min: 1, unlimited: true }), 'o.k', /or -1 for unlimited/);
  await rejectsField(t, () => optLimit({ k: 11 }, 'k', 'o', { min: 1, max: 10 }), 'o.k', /<= 10/);
  await rejectsField(t, () => optLimit({ k: 2 ** 53 }, 'k', 'o', { min: 0 }), 'o.k', /integer/);
});

test('describe: JSON where it can, BigInt and cycles without throwing', (t) => {
  t.is(describe('a'), '"a"');
  t.is(describe(undefined), 'undefined');
  t.is(describe(3n), '3n (a BigInt)');
  const cyc = {};
  cyc.self = cyc;
  t.is(describe(cyc), '[object Object]');
});

test('UINT32_ID_MAX leaves (uid_t)-1 out', (t) => {
  t.is(UINT32_ID_MAX, 2 ** 32 - 2);
});
