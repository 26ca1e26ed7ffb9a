// One operation on a detached container, from a process of its own (as the
// CLI's create/start/exec/... would be): detached.test.js runs it, reads its
// JSON lines and may SIGKILL it at any point.
//   node detached-child.mjs <op> <stateRoot> <id> [json]
//   op: create (json: extra config, merged over { rootfs, stateRoot, id, detached: true }),
//       start, exec (json: the process config), pause, resume, kill (json: signal),
//       delete, state
// DETACHED_CHILD_AT=<epoch ms> delays the operation until then.
// Prints {"phase":"begin"} right before the operation and then one
// {"phase":"done","ok":true,...} or {"phase":"done","ok":false,"code",...} line.
import { createContainer, loadContainer } from '../../dist/lib/index.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// As helpers.js has it (not imported: its exit hook tidies /run/berth-test, the test's business).
const ROOTFS = process.env.BERTH_TEST_ROOTFS ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'rootfs');

const [op, stateRoot, id, json] = process.argv.slice(2);
const arg = json === undefined ? undefined : JSON.parse(json);
const say = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

/** Everything a stream gives until it ends. */
function collect(stream) {
  if (!stream) return Promise.resolve('');
  const chunks = [];
  stream.on('data', (d) => chunks.push(d));
  return new Promise((resolve) => stream.on('close', () => resolve(Buffer.concat(chunks).toString())));
}

const ops = {
  async create() {
    const c = await createContainer({ rootfs: ROOTFS, stateRoot, id, detached: true, ...arg, process: { stdio: 'ignore', ...(arg?.process ?? {}) } });
    return { id: c.id, pid: c.pid, status: c.status };
  },
  async start() {
    const ref = await loadContainer(id, { stateRoot });
    await ref.start();
    return { status: (await ref.state()).status };
  },
  async exec() {
    const ref = await loadContainer(id, { stateRoot });
    const p = await ref.exec({ stdio: ['ignore', 'pipe', 'pipe'], ...arg });
    say({ phase: 'spawned', pid: p.pid });
    const [status, out, err] = await Promise.all([p.wait(), collect(p.stdout), collect(p.stderr)]);
    return { pid: p.pid, exitCode: status.exitCode, signal: status.signal, out, err };
  },
  async pause() {
    const ref = await loadContainer(id, { stateRoot });
    await ref.pause();
    return { status: ref.status };
  },
  async resume() {
    const ref = await loadContainer(id, { stateRoot });
    await ref.resume();
    return { status: ref.status };
  },
  async kill() {
    const ref = await loadContainer(id, { stateRoot });
    await ref.kill(arg ?? 'SIGKILL');
    return {};
  },
  async delete() {
    const ref = await loadContainer(id, { stateRoot });
    await ref.destroy();
    return {};
  },
  async state() {
    const ref = await loadContainer(id, { stateRoot });
    return { state: await ref.state() };
  },
};

if (!ops[op]) {
  say({ phase: 'done', ok: false, code: 'USAGE', message: `unknown op ${op}` });
  process.exit(2);
}
// DETACHED_CHILD_AT (epoch ms): begin then, so that two children's operations overlap.
const at = Number(process.env.DETACHED_CHILD_AT ?? 0);
if (at > Date.now()) await new Promise((r) => setTimeout(r, at - Date.now()));
say({ phase: 'begin', pid: process.pid });
try {
  say({ phase: 'done', ok: true, ...(await ops[op]()) });
  process.exit(0);
} catch (err) {
  say({ phase: 'done', ok: false, name: err?.constructor?.name, code: err?.code, field: err?.field, state: err?.state, step: err?.step, message: String(err?.message ?? err) });
  process.exit(1);
}
