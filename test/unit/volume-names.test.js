// Volume names (Docker's rule), labels and anonymous names: pure checks.
import test from 'ava';
import { anonymousVolumeName, labelsProblem, sameLabels, volumeNameProblem } from '../../dist/lib/volume/names.js';

test('volume names: [a-zA-Z0-9][a-zA-Z0-9_.-]*, one directory name at most', (t) => {
  for (const ok of ['a', 'data', 'my-vol_1.2', '0', 'A.b-C_d', 'x'.repeat(255)]) t.is(volumeNameProblem(ok), undefined, ok);
  for (const [bad, re] of [
    ['', /empty/],
    ['-x', /only/],
    ['.hidden', /only/],
    ['_x', /only/],
    ['..', /only/],
    ['a/b', /only/],
    ['a b', /only/],
    ['a\0b', /only/],
    ['é', /only/],
    ['x'.repeat(256), /255 bytes/],
    [5, /string/],
    [null, /not null/],
  ]) {
    t.regex(volumeNameProblem(bad) ?? '', re, String(bad));
  }
});

test('labels: an object of strings with non-empty keys', (t) => {
  t.is(labelsProblem(undefined), undefined);
  t.is(labelsProblem({ a: 'b', 'org.x/y': '' }), undefined);
  t.regex(labelsProblem([]), /object/);
  t.regex(labelsProblem(null), /object/);
  t.regex(labelsProblem({ a: 1 }), /"a" is not a string/);
  t.regex(labelsProblem({ '': 'x' }), /empty/);
  t.true(sameLabels({ a: '1', b: '2' }, { b: '2', a: '1' }));
  t.false(sameLabels({ a: '1' }, { a: '2' }));
  t.false(sameLabels({ a: '1' }, { a: '1', b: '' }));
});

test('an anonymous volume is named by 64 hex digits, different each time', (t) => {
  const a = anonymousVolumeName();
  t.regex(a, /^[0-9a-f]{64}$/);
  t.is(volumeNameProblem(a), undefined);
  t.not(anonymousVolumeName(), a);
});

test('a mount of type volume resolves to a bind of the volume in the config\'s store; a bad name is refused naming the field', async (t) => {
  const { normalizeConfig } = await import('../../dist/lib/config/normalize.js');
  const { fakeCaller, fakeCgroupInfo } = await import('./helpers.js');
  const rootfs = new URL('../fixtures/rootfs', import.meta.url).pathname;
  const cfg = await normalizeConfig({ rootfs, store: '/srv/store', process: { args: ['true'] }, mounts: [{ type: 'volume', source: 'data', destination: '/data' }] }, fakeCgroupInfo(), fakeCaller());
  t.is(cfg.volumeStore, '/srv/store');
  t.is(cfg.mounts[0].source, '/srv/store/volumes/data/_data');
  t.deepEqual(cfg.mounts[0].volume, { name: 'data', anonymous: false, copyUp: true });
  const err = await t.throwsAsync(
    normalizeConfig({ rootfs, process: { args: ['true'] }, mounts: [{ type: 'volume', source: 'a/b', destination: '/data' }] }, fakeCgroupInfo(), fakeCaller()),
  );
  t.is(err.code, 'INVALID_CONFIG');
  t.is(err.field, 'mounts[0].source');
});
