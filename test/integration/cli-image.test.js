// `berth image …` and `berth volume …` driven as a person or a script drives
// them: every call a fresh `node bin/berth.js … --store <a private store>`
// process, stdout and stderr files (stderr is not a terminal: no progress
// unless asked), the archives built here from the fixture rootfs. Each test
// has its own store under this file's temp directory, removed at exit; the
// default store is never touched (every call names --store).
import test from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createContainer } from '../../dist/lib/index.js';
import { assertNoLeaks, overlayMissing, ROOTFS, settledSnapshot, stateRootFor } from './helpers.js';
import { dirTar, dockerSave, layerTar } from './image-fixtures.js';
import { when } from './when.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.join(here, '..', '..', 'bin', 'berth.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-cli-image-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const stateRoot = stateRootFor('cli-image');

let calls = 0;
/**
 * One CLI call: { code, out (a Buffer when raw), err }. stdin: 'ignore', a
 * path (opened: a regular file) or a Buffer (written through a pipe).
 */
async function berth(args, { stdin = 'ignore', raw = false } = {}) {
  const n = ++calls;
  const outFile = path.join(tmp, `call${n}.out`);
  const errFile = path.join(tmp, `call${n}.err`);
  const outFd = fs.openSync(outFile, 'w');
  const errFd = fs.openSync(errFile, 'w');
  const inFd = typeof stdin === 'string' && stdin !== 'ignore' ? fs.openSync(stdin, 'r') : undefined;
  let p;
  try {
    p = spawn(process.execPath, [BIN, ...args], { cwd: tmp, stdio: [inFd ?? (Buffer.isBuffer(stdin) ? 'pipe' : 'ignore'), outFd, errFd] });
  } finally {
    fs.closeSync(outFd);
    fs.closeSync(errFd);
    if (inFd !== undefined) fs.closeSync(inFd);
  }
  if (Buffer.isBuffer(stdin)) {
    p.stdin.on('error', () => {}); // a CLI that fails early stops reading: its exit code says why
    p.stdin.end(stdin);
  }
  const code = await new Promise((resolve, reject) => {
    p.on('error', reject);
    p.on('exit', (c, s) => resolve(c ?? s));
  });
  const out = raw ? fs.readFileSync(outFile) : fs.readFileSync(outFile, 'utf8');
  const err = fs.readFileSync(errFile, 'utf8');
  fs.rmSync(outFile);
  fs.rmSync(errFile);
  return { code, out, err };
}

async function ok(args, opts) {
  const r = await berth(args, opts);
  if (r.code !== 0) throw new Error(`berth ${args.join(' ')}: exit ${r.code}\nstdout: ${r.out}\nstderr: ${r.err}`);
  return r;
}

let stores = 0;
/** A fresh store of the test's; `image …`/`volume …` calls on it. */
function scratch() {
  const store = path.join(tmp, `store${++stores}`);
  const image = (sub, ...rest) => ['image', sub, '--store', store, ...rest];
  const volume = (sub, ...rest) => ['volume', sub, '--store', store, ...rest];
  return { store, image, volume };
}

/** What a store's layers/ and tmp/ hold (tmp/ must be empty after any import, failed or not). */
const entries = (dir) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((e) => !e.endsWith('.size')) : []);

// Two layers: the fixture rootfs, and one file over it.
let archive;
let archiveBytes;
test.before(async () => {
  const base = await dirTar(ROOTFS);
  const top = await layerTar([{ name: 'hello.txt', data: 'hello from the top layer\n' }]);
  archive = await dockerSave(path.join(tmp, 'img.tar'), [base, top], { repoTags: ['berth/cli:1'] });
  archiveBytes = fs.readFileSync(archive.path);
});

test('import prints the id and nothing else off a terminal; --progress plain says each layer, tty redraws one line; -q none', async (t) => {
  const { store, image } = scratch();
  t.deepEqual(await berth(image('import', archive.path)), { code: 0, out: `${archive.id}\n`, err: '' });
  t.deepEqual(entries(path.join(store, 'tmp')), []);
  t.is(entries(path.join(store, 'layers')).length, 2);

  const plain = await ok(image('import', '--progress', 'plain', '--name', 'second:2', archive.path));
  t.is(plain.out, `${archive.id}\n`);
  const lines = plain.err.trimEnd().split('\n');
  t.regex(lines[0], /^Read archive: 2\.\d+MB$/);
  t.regex(lines[1], /^Layer 1\/2 sha256:[0-9a-f]{12}: already stored$/);
  t.regex(lines[2], /^Layer 2\/2 sha256:[0-9a-f]{12}: already stored$/);
  t.regex(lines[3], /^Imported 2 layers \(2 already stored\), 2\.\d+MB in \d/);
  t.is(lines.length, 4);

  const fresh = scratch();
  const tty = await ok(fresh.image('import', '--progress', 'tty', archive.path));
  t.is(tty.out, `${archive.id}\n`);
  t.true(tty.err.startsWith('\r\x1b[2K'), JSON.stringify(tty.err));
  t.true(tty.err.endsWith('\n'));
  t.is(tty.err.split('\n').length, 2, 'one line, redrawn in place, ended once');
  const frames = tty.err.split('\r\x1b[2K').slice(1);
  t.regex(frames.at(-1), /^Imported 2 layers, 2\.\d+MB in \d/);
  t.true(frames.every((f) => f.length <= 79), 'no frame wider than the 80 columns assumed off a terminal, less one');

  const quiet = scratch();
  t.deepEqual(await berth(quiet.image('import', '-q', '--progress', 'plain', archive.path)), { code: 0, out: `${archive.id}\n`, err: '' });
});

test('import from stdin: a pipe and a redirected file', async (t) => {
  const { store, image } = scratch();
  t.deepEqual(await berth(image('import', '-'), { stdin: archiveBytes }), { code: 0, out: `${archive.id}\n`, err: '' });
  const tty = await ok(image('import', '--progress', 'tty', '-', '--name', 'again:1'), { stdin: archive.path });
  t.is(tty.out, `${archive.id}\n`);
  t.regex(tty.err, /Reading archive {2}\[[=> ]+\] {2}[\d.]+[kM]B \/ 2\.\d+MB/, 'a redirected file has a size: the bar has a total');
  t.deepEqual(JSON.parse((await ok(image('inspect', archive.id))).out)[0].names, ['again:1', 'berth/cli:1']);
  t.deepEqual(entries(path.join(store, 'tmp')), []);
});

test('a corrupt or missing archive: one error line, exit 1, nothing left in the store', async (t) => {
  const { store, image } = scratch();
  const cut = path.join(tmp, 'cut.tar');
  fs.writeFileSync(cut, archiveBytes.subarray(0, 3000));
  const r = await berth(image('import', cut));
  t.is(r.code, 1);
  t.is(r.out, '');
  t.regex(r.err, /^berth: cannot import \S+cut\.tar: the archive is not a readable tar \([^\n]+\)\n$/);
  // With the bar drawn, the error still gets a line of its own.
  const tty = await berth(image('import', '--progress', 'tty', cut));
  t.is(tty.code, 1);
  t.regex(tty.err, /^\r\x1b\[2KReading archive[^\n]*\nberth: cannot import [^\n]+\n$/);
  const missing = await berth(image('import', path.join(tmp, 'nope.tar')));
  t.deepEqual(missing, { code: 1, out: '', err: `berth: no image archive at ${path.join(tmp, 'nope.tar')} (step: import, errno: ENOENT): no such file or directory\n` });
  const empty = await berth(image('import', '-'), { stdin: Buffer.alloc(0) });
  t.is(empty.code, 1);
  t.regex(empty.err, /^berth: cannot import stream: [^\n]+\n$/);
  t.deepEqual(entries(path.join(store, 'tmp')), []);
  t.deepEqual(entries(path.join(store, 'layers')), []);
  t.deepEqual(JSON.parse((await ok(image('ls', '--format', 'json'))).out), []);
});

test('ls (table, json, -q, images), inspect, export to a file and to stdout, re-import keeps the id', async (t) => {
  const { store, image } = scratch();
  await ok(image('import', '--name', 'extra', archive.path));
  const table = (await ok(image('ls'))).out.split('\n');
  t.regex(table[0], /^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$/);
  const short = archive.id.slice(7, 19);
  t.regex(table[1], new RegExp(`^berth/cli +1 +${short} +(Less than a second|\\d+ seconds?) ago +[\\d.]+[kMG]?B$`));
  t.regex(table[2], new RegExp(`^extra +latest +${short} `));
  t.is(table.length, 4);
  // The same table, but for CREATED, which may have moved on by a second between the two calls.
  const rows = (out) => out.split('\n').map((l) => l.replace(/ {2,}(Less than a second|\d+ seconds?) ago +/, ' · ').replace(/ +/g, ' '));
  t.deepEqual(rows((await ok(['images', '--store', store])).out), rows(table.join('\n')));
  t.is((await ok(image('ls', '-q'))).out, `${short}\n`);
  const json = JSON.parse((await ok(image('ls', '--format', 'json'))).out);
  t.is(json.length, 1);
  t.like(json[0], { id: archive.id, names: ['berth/cli:1', 'extra:latest'] });
  t.is(json[0].layers.length, 2);

  const [info] = JSON.parse((await ok(image('inspect', 'berth/cli:1'))).out);
  t.is(info.id, archive.id);
  t.is(info.config.config.Cmd[0], '/bin/sh');
  t.deepEqual(JSON.parse((await ok(image('inspect', short, 'extra'))).out).map((i) => i.id), [archive.id, archive.id], 'a 12-digit id prefix, a name without its tag');
  t.deepEqual(await berth(image('inspect', 'berth/cli:1', 'nope')), { code: 1, out: '', err: `berth: no image nope in ${store} (step: resolve)\n` });

  const file = path.join(tmp, 'exported.tar');
  t.deepEqual(await berth(image('export', 'berth/cli:1', file)), { code: 0, out: '', err: '' });
  const piped = await berth(image('export', 'berth/cli:1', '-'), { raw: true });
  t.is(piped.code, 0, piped.err);
  t.true(piped.out.equals(fs.readFileSync(file)), 'the same tarball on stdout');
  const again = scratch();
  t.is((await ok(again.image('import', '-'), { stdin: piped.out })).out, `${archive.id}\n`, 'export → import: the same image');
  t.deepEqual((await berth(image('export', 'nope', path.join(tmp, 'no.tar')))).code, 1);
  t.false(fs.existsSync(path.join(tmp, 'no.tar')));
});

test('rm: a name while others remain, then the image and its layers; a missing one said and the rest still removed', async (t) => {
  const { store, image } = scratch();
  await ok(image('import', '--name', 'extra:2', archive.path));
  t.deepEqual(await berth(image('rm', 'extra:2')), { code: 0, out: 'Untagged: extra:2\n', err: '' });
  await ok(image('import', '--name', 'extra:2', archive.path));
  const r = await berth(image('rm', 'nope1', 'extra:2', 'nope2', 'berth/cli:1'));
  t.is(r.code, 1);
  t.is(r.out, `Untagged: extra:2\nUntagged: berth/cli:1\nDeleted: ${archive.id}\n`);
  t.is(r.err, `berth: no image nope1 in ${store} (step: resolve)\nberth: no image nope2 in ${store} (step: resolve)\n`);
  t.deepEqual(entries(path.join(store, 'layers')), [], 'no image uses the layers: gone');
  t.is((await ok(image('ls', '-q'))).out, '');
});

when(overlayMissing(), 'rm of an image a container uses: IMAGE_IN_USE, one line ending in strerror, exit 1; removable once the container is gone', async (t) => {
  const { store, image } = scratch();
  await ok(image('import', archive.path));
  const before = await settledSnapshot(stateRoot);
  const c = await createContainer({ image: 'berth/cli:1', store, stateRoot, process: { args: ['true'] } });
  try {
    const r = await berth(image('rm', 'berth/cli:1'));
    t.is(r.code, 1);
    t.is(r.out, '');
    t.is(r.err, `berth: image berth/cli:1 is used by container ${c.id} (step: remove, errno: EBUSY): resource busy or locked\n`);
  } finally {
    await c.destroy();
  }
  await assertNoLeaks(t, before, stateRoot);
  t.is((await ok(image('rm', 'berth/cli:1'))).out, `Untagged: berth/cli:1\nDeleted: ${archive.id}\n`);
});

test('volume create (named, anonymous, labels), ls, inspect, rm (-f)', async (t) => {
  const { store, volume } = scratch();
  t.deepEqual(await berth(volume('create', '--label', 'app=web', '-l', 'tier', 'data')), { code: 0, out: 'data\n', err: '' });
  t.deepEqual(await berth(volume('create', 'data')), { code: 0, out: 'data\n', err: '' }, 'an existing name: that volume');
  const clash = await berth(volume('create', '--label', 'app=db', 'data'));
  t.is(clash.code, 1);
  t.regex(clash.err, /^berth: volume data already exists with other labels \([^)]*errno: EEXIST\): file already exists\n$/);
  const anon = (await ok(volume('create'))).out.trim();
  t.regex(anon, /^[0-9a-f]{64}$/);
  const table = (await ok(volume('ls'))).out.split('\n');
  t.regex(table[0], /^VOLUME NAME +CREATED +MOUNTPOINT$/);
  // Listed by name: the anonymous one's random hex sorts before or after "data".
  const byName = [anon, 'data'].sort();
  t.deepEqual(table.slice(1, 3).map((l) => l.split(/ {3,}/)[0]), byName);
  t.is(table[1 + byName.indexOf('data')].split(/ {3,}/)[2], path.join(store, 'volumes', 'data', '_data'));
  t.is((await ok(volume('ls', '-q'))).out, `${byName.join('\n')}\n`);
  const [v] = JSON.parse((await ok(volume('inspect', 'data'))).out);
  t.like(v, { name: 'data', mountpoint: path.join(store, 'volumes', 'data', '_data'), labels: { app: 'web', tier: '' }, users: [] });
  t.true(fs.statSync(v.mountpoint).isDirectory());
  t.is(JSON.parse((await ok(volume('ls', '--format', 'json'))).out).length, 2);
  const missing = await berth(volume('inspect', 'nope'));
  t.is(missing.code, 1);
  t.regex(missing.err, /^berth: no volume nope in [^\n]*: no such file or directory\n$/);
  const bad = await berth(volume('create', 'bad/name'));
  t.is(bad.code, 1);
  t.regex(bad.err, /^berth: invalid volume name "bad\/name"/);

  const rm = await berth(volume('rm', 'data', 'nope', anon));
  t.is(rm.code, 1);
  t.is(rm.out, `data\n${anon}\n`);
  t.regex(rm.err, /^berth: no volume nope in [^\n]*\n$/);
  t.false(fs.existsSync(v.mountpoint));
  t.deepEqual(await berth(volume('rm', '-f', 'nope')), { code: 0, out: 'nope\n', err: '' });
  t.is((await ok(volume('ls', '-q'))).out, '');
});
