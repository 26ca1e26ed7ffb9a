// Host-fact parsers: kernel cpu/node lists and huge page size names.
import test from 'ava';
import { normalizePageSize, pageSizeName, parseCpuList } from '../../dist/lib/host/cgroup-info.js';

test('parseCpuList: singles, ranges, mixtures, the kernel\'s trailing newline', (t) => {
  t.deepEqual(parseCpuList('0'), [0]);
  t.deepEqual(parseCpuList('0-3'), [0, 1, 2, 3]);
  t.deepEqual(parseCpuList('0-1,4,6-7'), [0, 1, 4, 6, 7]);
  t.deepEqual(parseCpuList('0-1\n'), [0, 1]);
  t.deepEqual(parseCpuList('  2  '), [2]);
  t.deepEqual(parseCpuList('3-3'), [3]);
  t.deepEqual(parseCpuList(''), []);
  t.deepEqual(parseCpuList('\n'), []);
});

test('parseCpuList: malformed lists are null', (t) => {
  for (const s of ['-1', '1-', '3-1', '1,,2', ',1', '1,', 'a', '1 2', '1-2-3', '0x1', '1.5', '0-70000']) t.is(parseCpuList(s), null, JSON.stringify(s));
});

test('pageSizeName: kB from sysfs to the cgroup file name', (t) => {
  t.is(pageSizeName(2048), '2MB');
  t.is(pageSizeName(1048576), '1GB');
  t.is(pageSizeName(64), '64KB');
  t.is(pageSizeName(32768), '32MB');
  t.is(pageSizeName(16 * 1024 * 1024), '16GB');
  t.is(pageSizeName(1536), '1536KB');
});

test('normalizePageSize: OCI spellings to the canonical name, null otherwise', (t) => {
  t.is(normalizePageSize('2MB'), '2MB');
  t.is(normalizePageSize('2048KB'), '2MB');
  t.is(normalizePageSize('1024MB'), '1GB');
  t.is(normalizePageSize('1GB'), '1GB');
  t.is(normalizePageSize('64KB'), '64KB');
  for (const s of ['0MB', '2mb', '2 MB', '2M', 'MB', '-2MB', '2.5MB', '2TB', '']) t.is(normalizePageSize(s), null, JSON.stringify(s));
});
