// listContainers / loadContainer: the state directory seen from another process.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { createContainer, listContainers, loadContainer } from '../../dist/lib/index.js';
import { isAlive, ROOTFS, stateRootFor } from './helpers.js';
import { ownerProcess } from './owner.js';

const stateRoot = stateRootFor('registry');

/** A Node process that makes a container and reports on stdout. */
const owner = (script) => ownerProcess(script, { stateRoot, stdin: 'pipe' });

test.serial('listContainers shows each container with its live status', async (t) => {
  const a = await createContainer({ rootfs: ROOTFS, stateRoot, process: { args: ['sleep', '100'] } });
  const b = await createContainer({ rootfs: ROOTFS, stateRoot, process: { args: ['true'] } });
  try {
    await a.start();
    const list = await listContainers({ stateRoot });
    const byId = Object.fromEntries(list.map((s) => [s.id, s]));
    t.is(byId[a.id].status, 'running');
    t.is(byId[a.id].pid, a.pid);
    t.is(byId[b.id].status, 'created');
    t.true(Array.isArray(byId[a.id].cgroupPaths) && byId[a.id].cgroupPaths.length > 0);
  } finally {
    await a.destroy();
    await b.destroy();
  }
  t.deepEqual((await listContainers({ stateRoot })).filter((s) => s.id === a.id || s.id === b.id), []);
});

test.serial('another process can see, signal and stop a running container', async (t) => {
  const o = owner(`
    const c = await createContainer({ rootfs, stateRoot, process: { args: ['sleep', '100'] } });
    const init = await c.start();
    console.log(c.id);
    const s = await init.wait();
    console.log(s.signal);
    await c.destroy();`);
  const id = await o.line();
  const ref = await loadContainer(id, { stateRoot });
  t.is((await ref.state()).status, 'running');
  await ref.kill('SIGKILL');
  t.is(await o.line(), 'SIGKILL');
  await o.exited;
  t.is((await ref.state()).status, 'stopped');
  t.is((await t.throwsAsync(loadContainer(id, { stateRoot }))).code, 'CONTAINER_NOT_FOUND');
});

test.serial('what a crashed owner left behind is listed as stopped and destroy() removes it', async (t) => {
  const o = owner(`
    const c = await createContainer({ rootfs, stateRoot, process: { args: ['sleep', '100'] } });
    await c.start();
    console.log(c.id + ' ' + c.pid);
    process.exit(3); // no destroy(): the state dir and the cgroups stay`);
  const [id, pid] = (await o.line()).split(' ');
  await o.exited;
  for (let i = 0; i < 100 && isAlive(Number(pid)); i++) await new Promise((r) => setTimeout(r, 20));
  const left = (await listContainers({ stateRoot })).find((s) => s.id === id);
  t.is(left?.status, 'stopped');
  t.true(left.cgroupPaths.some((d) => fs.existsSync(d)), 'its cgroups are still there');
  await (await loadContainer(id, { stateRoot })).destroy();
  t.false(fs.existsSync(path.join(stateRoot, id)));
  t.deepEqual(left.cgroupPaths.filter((d) => fs.existsSync(d)), []);
});

test('loadContainer refuses an invalid id', async (t) => {
  t.is((await t.throwsAsync(loadContainer('../etc', { stateRoot }))).code, 'INVALID_CONFIG');
});
