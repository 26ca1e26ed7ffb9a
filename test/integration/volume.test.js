// Named volumes in the store: create (idempotent, as Docker), list, inspect,
// remove; refused while a live container holds one, not when its holder
// crashed or is another process with a recycled pid; safe across processes.
// Each store is a fresh directory under /tmp, removed after the test.
import test from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { VolumeError, acquireVolume, createVolume, inspectVolume, listVolumes, releaseVolume, removeVolume } from '../../dist/lib/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const LIB = path.join(here, '..', '..', 'dist', 'lib', 'index.js');

function scratch(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-volume-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return { dir, store: path.join(dir, 'store') };
}

const tmpIn = (store) => fs.readdirSync(path.join(store, 'tmp'));

async function rejected(t, promise, code, extra = {}) {
  const err = await t.throwsAsync(promise, { instanceOf: VolumeError });
  t.is(err.code, code, err.message);
  for (const [k, v] of Object.entries(extra)) t.deepEqual(err[k], v, k);
  return err;
}

/** A child node process running `body` (with `b` = berth's exports); resolves { code, out, err }. */
function child(body) {
  const script = `import(${JSON.stringify(LIB)}).then(async (b) => { ${body} }).catch((e) => { console.error(e.code ?? '', e.message); process.exit(1); })`;
  const p = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (err += d));
  const done = new Promise((resolve) => p.on('close', (code, signal) => resolve({ code, signal, out: out.trim(), err })));
  return { p, done, firstLine: () => new Promise((resolve) => p.stdout.once('data', (d) => resolve(String(d).trim()))) };
}

test('create, inspect, list, remove; names checked before anything is written', async (t) => {
  const { store } = scratch(t);
  for (const bad of ['', '-x', '.x', 'a/b', '..', 'a b', 'x'.repeat(256)]) {
    await rejected(t, createVolume({ name: bad, store }), 'VOLUME_INVALID');
  }
  await rejected(t, createVolume({ name: 'ok', labels: { a: 1 }, store }), 'VOLUME_INVALID');
  t.false(fs.existsSync(store), 'a refused name touched nothing');

  const v = await createVolume({ name: 'data', labels: { team: 'a' }, store });
  t.is(v.name, 'data');
  t.is(v.mountpoint, path.join(store, 'volumes', 'data', '_data'));
  t.true(fs.statSync(v.mountpoint).isDirectory());
  t.deepEqual(v.labels, { team: 'a' });
  t.deepEqual(v.users, []);
  fs.writeFileSync(path.join(v.mountpoint, 'kept'), 'k');

  const again = await createVolume({ name: 'data', store });
  t.deepEqual(again, v, 'creating an existing name returns it (Docker), data untouched');
  t.deepEqual(await createVolume({ name: 'data', labels: { team: 'a' }, store }), v, 'the same labels too');
  await rejected(t, createVolume({ name: 'data', labels: { team: 'b' }, store }), 'VOLUME_EXISTS', { volume: 'data' });
  t.is(fs.readFileSync(path.join(v.mountpoint, 'kept'), 'utf8'), 'k');

  const anon = await createVolume({ store });
  t.regex(anon.name, /^[0-9a-f]{64}$/);
  await createVolume({ name: 'A-first', store });
  t.deepEqual((await listVolumes({ store })).map((x) => x.name), ['A-first', anon.name, 'data'].sort());
  t.deepEqual(await inspectVolume('data', { store }), v);
  await rejected(t, inspectVolume('nope', { store }), 'VOLUME_NOT_FOUND', { volume: 'nope' });
  await rejected(t, inspectVolume('../x', { store }), 'VOLUME_INVALID');

  await removeVolume('data', { store });
  t.false(fs.existsSync(path.join(store, 'volumes', 'data')), 'the volume and its data are gone');
  await rejected(t, removeVolume('data', { store }), 'VOLUME_NOT_FOUND');
  await removeVolume('data', { store, force: true });
  t.deepEqual((await listVolumes({ store })).map((x) => x.name), ['A-first', anon.name].sort());
  t.deepEqual(tmpIn(store), [], 'nothing left in tmp/');
});

test('a held volume is refused removal (VOLUME_IN_USE naming its users) until released; force removes it anyway', async (t) => {
  const { store } = scratch(t);
  await createVolume({ name: 'shared', store });
  t.deepEqual((await acquireVolume('shared', 'c1', { store })).users, ['c1']);
  t.deepEqual((await acquireVolume('shared', 'c2', { store })).users, ['c1', 'c2'], 'two containers share a volume');
  t.deepEqual((await acquireVolume('shared', 'c1', { store })).users, ['c1', 'c2'], 'acquiring again is one hold');
  const busy = await rejected(t, removeVolume('shared', { store }), 'VOLUME_IN_USE', { users: ['c1', 'c2'], errno: 'EBUSY' });
  t.regex(busy.message, /in use by containers c1, c2/);
  await releaseVolume('shared', 'c1', { store });
  await releaseVolume('shared', 'c1', { store }); // twice: no error
  await rejected(t, removeVolume('shared', { store }), 'VOLUME_IN_USE', { users: ['c2'] });
  await removeVolume('shared', { store, force: true });
  await rejected(t, inspectVolume('shared', { store }), 'VOLUME_NOT_FOUND');

  await rejected(t, acquireVolume('shared', 'c1', { store }), 'VOLUME_NOT_FOUND');
  await createVolume({ name: 'v', store });
  await rejected(t, acquireVolume('v', '../escape', { store }), 'VOLUME_INVALID');
  await rejected(t, acquireVolume('v', 'c1', { store, pid: 2 ** 22 + 12345 }), 'VOLUME_INVALID');
  await releaseVolume('gone-volume', 'c1', { store }); // nothing to release: no error
  t.deepEqual(tmpIn(store), []);
});

test('a crashed holder, or a recycled pid, does not keep a volume', async (t) => {
  const { store } = scratch(t);
  await createVolume({ name: 'v', store });
  const c = child(`await b.acquireVolume(${JSON.stringify('v')}, 'crashy', { store: ${JSON.stringify(store)} }); console.log('held'); setInterval(() => {}, 1000);`);
  t.is(await c.firstLine(), 'held');
  t.deepEqual((await inspectVolume('v', { store })).users, ['crashy']);
  await rejected(t, removeVolume('v', { store }), 'VOLUME_IN_USE', { users: ['crashy'] });
  c.p.kill('SIGKILL');
  await c.done;
  t.deepEqual((await inspectVolume('v', { store })).users, [], 'the dead holder is not counted');

  // This process's pid with another start time: a recycled pid.
  fs.writeFileSync(path.join(store, 'volumes', 'v', 'users', 'recycled'), JSON.stringify({ containerId: 'recycled', pid: process.pid, startTime: 1, since: new Date().toISOString() }));
  t.deepEqual((await inspectVolume('v', { store })).users, []);
  await removeVolume('v', { store });
  t.deepEqual(tmpIn(store), []);
});

test('processes creating one volume at once all get it; acquire and remove racing never both win', async (t) => {
  const { store } = scratch(t);
  const racers = Array.from({ length: 4 }, () => child(`const v = await b.createVolume({ name: 'race', labels: { x: '1' }, store: ${JSON.stringify(store)} }); console.log(v.created);`));
  const results = await Promise.all(racers.map((r) => r.done));
  for (const r of results) t.is(r.code, 0, r.err);
  t.is(new Set(results.map((r) => r.out)).size, 1, 'one volume, the same creation time for all');
  t.deepEqual((await listVolumes({ store })).map((v) => v.name), ['race']);

  for (let i = 0; i < 10; i++) {
    const name = `r${i}`;
    await createVolume({ name, store });
    // Either one first: the lock decides, not the order of the calls.
    const [acq, rem] = i % 2 === 0
      ? await Promise.allSettled([acquireVolume(name, 'c', { store }), removeVolume(name, { store })])
      : await Promise.allSettled([removeVolume(name, { store }), acquireVolume(name, 'c', { store })]).then(([r, a]) => [a, r]);
    const won = [acq.status, rem.status].filter((s) => s === 'fulfilled').length;
    t.is(won, 1, `round ${i}: exactly one of acquire/remove succeeded`);
    if (acq.status === 'rejected') t.is(acq.reason.code, 'VOLUME_NOT_FOUND');
    if (rem.status === 'rejected') t.is(rem.reason.code, 'VOLUME_IN_USE');
    await releaseVolume(name, 'c', { store });
    await removeVolume(name, { store, force: true });
  }
  t.deepEqual(tmpIn(store), []);
});

test('a remover killed half-way leaves no half volume; the next operation sweeps what it left', async (t) => {
  const { store } = scratch(t);
  const v = await createVolume({ name: 'big', store });
  for (let i = 0; i < 3000; i++) fs.writeFileSync(path.join(v.mountpoint, String(i)), '');
  const c = child(`const r = b.removeVolume('big', { store: ${JSON.stringify(store)} }); setTimeout(() => { console.log('removing'); }, 0); await r;`);
  await c.firstLine();
  c.p.kill('SIGKILL');
  await c.done;
  const names = (await listVolumes({ store })).map((x) => x.name);
  t.true(names.length === 0 || (names.length === 1 && fs.existsSync(path.join(store, 'volumes', 'big', 'volume.json'))), 'the volume is whole or gone');
  await createVolume({ name: 'next', store });
  t.deepEqual(tmpIn(store), [], "the dead remover's leftovers were swept");
});
