// stateRecord: what state.json holds for a container (OCI state + berth's own).
import test from 'ava';
import { OCI_VERSION, stateRecord } from '../../dist/lib/container/state-record.js';

const config = { id: 'c1', rootfs: '/srv/rootfs', annotations: { a: 'b' }, bundle: '/srv/bundle' };

test('the OCI state fields and what berth needs to find the container again', (t) => {
  const r = stateRecord(config, 'running', 4242, { created: '2026-01-01T00:00:00.000Z', startTime: 123456 }, ['/sys/fs/cgroup/berth/c1']);
  t.deepEqual(r, {
    ociVersion: OCI_VERSION,
    id: 'c1',
    status: 'running',
    pid: 4242,
    pidStartTime: 123456,
    bundle: '/srv/bundle',
    rootfs: '/srv/rootfs',
    created: '2026-01-01T00:00:00.000Z',
    ownerPid: process.pid,
    ownerStartTime: r.ownerStartTime,
    annotations: { a: 'b' },
    cgroupPaths: ['/sys/fs/cgroup/berth/c1'],
  });
  t.true(Number.isInteger(r.ownerStartTime) && r.ownerStartTime > 0, 'the owner is identified by pid and start time');
  t.regex(OCI_VERSION, /^1\.\d+\.\d+$/);
});

test('no bundle and an unknown start time leave their fields out (not undefined in JSON)', (t) => {
  const r = stateRecord({ ...config, bundle: undefined }, 'created', 7, { created: 'now', startTime: undefined }, []);
  t.false('bundle' in r);
  t.false('pidStartTime' in r);
  t.deepEqual(JSON.parse(JSON.stringify(r)), r);
  t.is(r.status, 'created');
  t.deepEqual(r.cgroupPaths, []);
});

test('a start time of 0 is kept (it is a value, not absence)', (t) => {
  t.is(stateRecord(config, 'running', 1, { created: 'now', startTime: 0 }, []).pidStartTime, 0);
});
