// A state root shared with another runtime (Docker and containerd hand runc and
// berth roots side by side; an operator may point both at one): what is not
// berth's is not listed, loaded, or taken for a leftover berth container.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listContainers, loadContainer } from '../../dist/lib/index.js';

function root(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-foreign-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// What runc 1.1 writes to <root>/<id>/state.json (abridged): no ociVersion, no status.
const RUNC_STATE = { id: 'runc1', init_process_pid: 4242, init_process_start: 123, created: '2026-12-03T10:00:00Z', config: { rootfs: '/x' }, rootless: false, cgroup_paths: {} };

test('a runc container dir (its state.json, its exec.fifo) is neither listed nor loadable', async (t) => {
  const r = root(t);
  fs.mkdirSync(path.join(r, 'runc1'));
  fs.writeFileSync(path.join(r, 'runc1', 'state.json'), JSON.stringify(RUNC_STATE));
  fs.writeFileSync(path.join(r, 'runc1', 'exec.fifo'), '');
  // A dir with only someone else's files, and a state.json that is not JSON.
  fs.mkdirSync(path.join(r, 'other'));
  fs.writeFileSync(path.join(r, 'other', 'exec.fifo'), '');
  fs.mkdirSync(path.join(r, 'garbled'));
  fs.writeFileSync(path.join(r, 'garbled', 'state.json'), '{not json');
  t.deepEqual(await listContainers({ stateRoot: r }), []);
  for (const id of ['runc1', 'other', 'garbled']) {
    const err = await t.throwsAsync(loadContainer(id, { stateRoot: r }));
    t.is(err.code, 'CONTAINER_NOT_FOUND', id);
  }
  t.true(fs.existsSync(path.join(r, 'runc1', 'state.json')), 'nothing of runc is touched');
});

test('what a crash mid-removal leaves (berth files only, or nothing) is still a stopped leftover', async (t) => {
  const r = root(t);
  fs.mkdirSync(path.join(r, 'empty'));
  fs.mkdirSync(path.join(r, 'half'));
  fs.writeFileSync(path.join(r, 'half', 'config.json'), '{}');
  fs.writeFileSync(path.join(r, 'half', 'state.json.77.tmp'), '');
  const list = await listContainers({ stateRoot: r });
  t.deepEqual(list.map((s) => [s.id, s.status]), [['empty', 'stopped'], ['half', 'stopped']]);
});
