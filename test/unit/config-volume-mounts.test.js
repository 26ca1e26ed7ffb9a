// Mounts of type 'volume' and the image's Volumes, resolved before anything exists (root-free).
import test from 'ava';
import { resolveVolumeMount, withImageVolumes } from '../../dist/lib/config/volume-mounts.js';
import { resolveMount } from '../../dist/lib/config/mounts.js';
import { MOUNT_ATTR } from '../../dist/lib/kernel/abi.js';

const STORE = '/var/lib/berth-test';

test('a named volume is a recursive bind of its data directory, with the bind options it was given', (t) => {
  const m = resolveVolumeMount({ destination: '/data', source: 'db', options: ['ro', 'nosuid'] }, 'mounts[3]', STORE);
  t.is(m.source, `${STORE}/volumes/db/_data`);
  t.true(m.bind);
  t.true(m.recursive);
  t.is(m.destination, '/data');
  t.false(m.destIsFile);
  t.deepEqual(m.volume, { name: 'db', anonymous: false, copyUp: true });
  t.is(m.attrSet & MOUNT_ATTR.RDONLY, MOUNT_ATTR.RDONLY);
  t.is(m.attrSet & MOUNT_ATTR.NOSUID, MOUNT_ATTR.NOSUID);
});

test('without a source it is an anonymous volume of its own; nocopy turns copy-up off', (t) => {
  const a = resolveVolumeMount({ destination: '/cache', options: ['nocopy'] }, 'mounts[0]', STORE);
  const b = resolveVolumeMount({ destination: '/cache' }, 'mounts[0]', STORE);
  t.true(a.volume.anonymous);
  t.regex(a.volume.name, /^[0-9a-f]{64}$/);
  t.not(a.volume.name, b.volume.name);
  t.false(a.volume.copyUp);
  t.true(b.volume.copyUp);
  t.is(a.source, `${STORE}/volumes/${a.volume.name}/_data`);
});

test('bad input names the JSON path: a source that is not a volume name, an unknown option at its own index, a relative destination', (t) => {
  const e1 = t.throws(() => resolveVolumeMount({ destination: '/d', source: '/srv/data' }, 'mounts[2]', STORE));
  t.is(e1.field, 'mounts[2].source');
  t.regex(e1.message, /volume's name/);
  const e2 = t.throws(() => resolveVolumeMount({ destination: '/d', source: 'v', options: ['ro', 'size=1m'] }, 'mounts[1]', STORE));
  t.is(e2.field, 'mounts[1].options[1]');
  const e3 = t.throws(() => resolveVolumeMount({ destination: 'd', source: 'v' }, 'mounts[0]', STORE));
  t.is(e3.field, 'mounts[0].destination');
  const e4 = t.throws(() => resolveVolumeMount({ destination: '/d', source: 'v', options: 'ro' }, 'mounts[0]', STORE));
  t.is(e4.field, 'mounts[0].options');
});

test("resolveMount never takes 'volume' as a filesystem type", (t) => {
  const e = t.throws(() => resolveMount({ destination: '/d', type: 'volume', source: 'v' }, 'mounts[0]', undefined));
  t.is(e.field, 'mounts[0].type');
});

test("the image's Volumes become anonymous volumes, before a mount below them, and not where a mount already is", (t) => {
  const proc = resolveMount({ destination: '/proc', type: 'proc', source: 'proc' }, 'mounts[0]', undefined);
  const sub = resolveVolumeMount({ destination: '/var/lib/db/conf', source: 'conf' }, 'mounts[1]', STORE);
  const given = resolveVolumeMount({ destination: '/logs', source: 'logs' }, 'mounts[2]', STORE);
  const out = withImageVolumes([proc, sub, given], ['/var/lib/db', '/logs', '/cache/'], STORE);
  t.deepEqual(
    out.map((m) => [m.destination, m.volume?.anonymous ?? null]),
    [
      ['/proc', null],
      ['/var/lib/db', true],
      ['/var/lib/db/conf', false],
      ['/logs', false],
      ['/cache', true],
    ],
  );
});
