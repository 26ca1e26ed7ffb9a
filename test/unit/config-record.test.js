// config.json of a detached container: the resolved config round-trips, BigInts included, the notify handler never.
import test from 'ava';
import { decodeConfig, encodeConfig } from '../../dist/lib/container/config-record.js';

test('BigInts survive, functions do not get in', (t) => {
  const config = { id: 'x', process: { rlimits: [{ type: 'RLIMIT_NOFILE', soft: 2n ** 63n - 1n, hard: 5n }] }, seccompNotify: { handler: () => ({ allow: true }) }, annotations: { $bigint: 'not one: two keys', other: 'y' } };
  const back = decodeConfig(encodeConfig(config));
  t.is(back.process.rlimits[0].soft, 2n ** 63n - 1n);
  t.is(back.process.rlimits[0].hard, 5n);
  t.false('seccompNotify' in back);
  t.deepEqual(back.annotations, { $bigint: 'not one: two keys', other: 'y' });
});
