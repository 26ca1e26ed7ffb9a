// cgroupSegments: where a container's cgroup lives below each mount root, and
// the paths that must not escape it.
import test from 'ava';
import { cgroupSegments, DEFAULT_PARENT } from '../../dist/lib/cgroups/paths.js';
import { rejectsField } from './helpers.js';

test('the default is berth/<id>', (t) => {
  t.is(DEFAULT_PARENT, 'berth');
  t.deepEqual(cgroupSegments('web1'), ['berth', 'web1']);
  t.deepEqual(cgroupSegments('web1', ''), ['berth', 'web1'], 'an empty cgroupsPath is no cgroupsPath');
});

test('cgroupsPath, absolute or relative, is taken below the mount root; empty segments collapse', (t) => {
  t.deepEqual(cgroupSegments('x', '/a/b'), ['a', 'b']);
  t.deepEqual(cgroupSegments('x', 'a/b'), ['a', 'b'], 'relative is not relative to the caller\'s cgroup');
  t.deepEqual(cgroupSegments('x', '//a///b/'), ['a', 'b']);
  t.deepEqual(cgroupSegments('x', '/system.slice/c-1.scope'), ['system.slice', 'c-1.scope']);
  t.deepEqual(cgroupSegments('x', '/a/..b/c..'), ['a', '..b', 'c..'], 'dots inside a name are fine');
});

test('ids that cannot name a cgroup directory', async (t) => {
  for (const id of ['', '.', '..', 'a/b', 'a\0b']) await rejectsField(t, () => cgroupSegments(id), 'id', /cannot name a cgroup/);
});

const bad = [
  ['the root itself', '/'],
  ['only slashes', '///'],
  ['a .. component', '/a/../b'],
  ['a leading ..', '../escape'],
  ['a . component', 'a/./b'],
  ['a NUL', '/a\0b'],
  ['a newline', '/a\nb'],
];
for (const [what, p] of bad) {
  test(`refused: ${what}`, async (t) => {
    await rejectsField(t, () => cgroupSegments('x', p), 'linux.cgroupsPath');
  });
}

test('a non-string path and a custom field name', async (t) => {
  await rejectsField(t, () => cgroupSegments('x', 5), 'linux.cgroupsPath', /string/);
  await rejectsField(t, () => cgroupSegments('x', '/..', 'cgroupsPath'), 'cgroupsPath');
});
