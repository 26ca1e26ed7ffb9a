// The import progress renderer and the image/volume tables, root-free: human
// units, the line at every width, the tracker folding ImportProgress events,
// the throttle and the TTY/plain writer on an injected clock and timers.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { imageSummary, imageTable, splitName } from '../../dist/lib/cli/cmd-image.js';
import { parseLabels, volumeTable } from '../../dist/lib/cli/cmd-volume.js';
import { main } from '../../dist/lib/cli/main.js';
import {
  ImportProgressWriter,
  ImportTracker,
  Throttle,
  ago,
  bar,
  humanBytes,
  humanElapsed,
  lineWidth,
  progressMode,
  renderLine,
  stepLine,
} from '../../dist/lib/cli/progress.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

/** A clock the test moves, and timers it fires. */
function fakeTime() {
  const t = { now: 0, timers: new Map(), next: 1 };
  t.clock = () => t.now;
  t.setTimer = (fn, ms) => {
    const id = t.next++;
    t.timers.set(id, { fn, at: t.now + ms });
    return id;
  };
  t.clearTimer = (id) => t.timers.delete(id);
  t.advance = (ms) => {
    t.now += ms;
    for (const [id, timer] of [...t.timers]) {
      if (timer.at <= t.now) {
        t.timers.delete(id);
        timer.fn();
      }
    }
  };
  return t;
}

test('humanBytes: docker\'s decimal sizes, 3 significant digits, rounding up a unit', (t) => {
  t.is(humanBytes(0), '0B');
  t.is(humanBytes(512), '512B');
  t.is(humanBytes(999), '999B');
  t.is(humanBytes(1000), '1kB');
  t.is(humanBytes(1234), '1.23kB');
  t.is(humanBytes(1_200_000), '1.2MB');
  t.is(humanBytes(999_700), '1MB', '999.7 kB rounds to 1000 kB: one unit up');
  t.is(humanBytes(45_600_000_000), '45.6GB');
  t.is(humanBytes(3e18), '3000PB', 'past the last unit: stays in PB');
  t.is(humanBytes(-5), '0B');
  t.is(humanBytes(Number.NaN), '0B');
});

test('humanElapsed and ago (go-units HumanDuration)', (t) => {
  t.is(humanElapsed(349.6), '350ms');
  t.is(humanElapsed(1234), '1.2s');
  t.is(humanElapsed(125_000), '2m05s');
  t.is(ago(500), 'Less than a second ago');
  t.is(ago(1000), '1 second ago');
  t.is(ago(42_000), '42 seconds ago');
  t.is(ago(90_000), 'About a minute ago');
  t.is(ago(30 * 60_000), '30 minutes ago');
  t.is(ago(3_600_000), 'About an hour ago');
  t.is(ago(5 * 3_600_000), '5 hours ago');
  t.is(ago(3 * 86_400_000), '3 days ago');
  t.is(ago(21 * 86_400_000), '3 weeks ago');
  t.is(ago(90 * 86_400_000), '3 months ago');
  t.is(ago(800 * 86_400_000), '2 years ago');
});

test('bar: empty, partial with a head, full; fractions clamped', (t) => {
  t.is(bar(0, 10), '[          ]');
  t.is(bar(0.5, 10), '[====>     ]');
  t.is(bar(1, 10), '[==========]');
  t.is(bar(7, 4), '[====]');
  t.is(bar(-1, 4), '[    ]');
  t.is(bar(Number.NaN, 4), '[    ]');
});

test('tracker: archive running totals, layers finished by the next event, rates per phase', (t) => {
  const time = fakeTime();
  const tr = new ImportTracker(time.clock, 3_000_000);
  t.is(tr.view().phase, 'start');
  time.now = 500;
  t.deepEqual(tr.update({ phase: 'archive', bytes: 1_000_000 }), []);
  time.now = 1000;
  tr.update({ phase: 'archive', bytes: 2_000_000 });
  let v = tr.view();
  t.is(v.archiveBytes, 2_000_000);
  t.is(v.archiveTotal, 3_000_000);
  t.is(v.rate, 2_000_000, '2 MB in 1 s');
  time.now = 1500;
  t.deepEqual(tr.update({ phase: 'layer', bytes: 1 << 20, layer: 0, layers: 2, digest: D1 }), [{ kind: 'archive', bytes: 2_000_000 }]);
  time.now = 2000;
  t.deepEqual(tr.update({ phase: 'layer', bytes: 3 << 20, layer: 0, layers: 2, digest: D1 }), [], 'the same layer: nothing finished');
  v = tr.view();
  t.like(v, { phase: 'layer', layer: 1, layers: 2, layerBytes: 3 << 20, layerBytesTotal: 3 << 20, unpacked: 0 });
  t.is(v.rate, 3 << 20, 'the layers\' clock started where the archive ended (t=1000)');
  t.deepEqual(tr.update({ phase: 'layer-exists', bytes: 0, layer: 1, layers: 2, digest: D2 }), [{ kind: 'layer', layer: 1, layers: 2, digest: D1, bytes: 3 << 20, existed: false }]);
  t.like(tr.view(), { phase: 'layer-exists', layer: 2, unpacked: 1, existed: 0 });
  time.now = 2500;
  t.deepEqual(tr.update({ phase: 'done', bytes: 0 }), [{ kind: 'layer', layer: 2, layers: 2, digest: D2, bytes: 0, existed: true }]);
  t.like(tr.view(), { phase: 'done', unpacked: 1, existed: 1, layerBytesTotal: 3 << 20, elapsedMs: 2500 });
});

test('tracker: a directory source (no archive phase), and the same layer twice as layer-exists', (t) => {
  const time = fakeTime();
  const tr = new ImportTracker(time.clock);
  time.now = 100;
  t.deepEqual(tr.update({ phase: 'layer-exists', bytes: 0, layer: 0, layers: 1, digest: D1 }), []);
  t.is(tr.update({ phase: 'layer-exists', bytes: 0, layer: 0, layers: 1, digest: D1 }).length, 1, 'a second image of the archive with the same layer: its own step');
  t.is(tr.update({ phase: 'done', bytes: 0 }).length, 1);
  t.like(tr.view(), { existed: 2, archiveBytes: 0 });
  t.is(tr.view().rate, undefined, 'no bytes: no rate');
});

test('renderLine: each phase, the bar only where it fits, never more than width - 1', (t) => {
  const base = { archiveBytes: 0, layer: 0, layers: 0, layerBytes: 0, layerBytesTotal: 0, unpacked: 0, existed: 0, elapsedMs: 0 };
  const archive = { ...base, phase: 'archive', archiveBytes: 12_300_000, archiveTotal: 45_600_000, rate: 5_200_000 };
  t.is(renderLine(archive, 80), `Reading archive  ${bar(12.3 / 45.6, 30)}  12.3MB / 45.6MB  5.2MB/s`);
  t.is(renderLine({ ...archive, archiveTotal: undefined }, 80), 'Reading archive  12.3MB  5.2MB/s', 'no total (a pipe): no bar');
  t.is(renderLine({ ...archive, rate: undefined }, 80), `Reading archive  ${bar(12.3 / 45.6, 30)}  12.3MB / 45.6MB`);
  const layer = { ...base, phase: 'layer', layer: 2, layers: 5, layerBytes: 3_100_000, rate: 8_000_000 };
  t.is(renderLine(layer, 80), `Layer 2/5  ${bar(1 / 5, 30)}  3.1MB  8MB/s`);
  t.is(renderLine({ ...layer, phase: 'layer-exists' }, 80), `Layer 2/5  ${bar(1 / 5, 30)}  already stored`);
  t.is(renderLine({ ...base, phase: 'start' }, 80), 'Importing');
  t.is(renderLine({ ...base, phase: 'done', unpacked: 2, existed: 1, layerBytesTotal: 4_500_000, elapsedMs: 1234 }, 80), 'Imported 3 layers (1 already stored), 4.5MB in 1.2s');
  t.is(renderLine({ ...base, phase: 'done', unpacked: 1, layerBytesTotal: 10, elapsedMs: 20 }, 80), 'Imported 1 layer, 10B in 20ms', 'no archive read (a directory): the layers\' bytes');
  t.is(renderLine({ ...base, phase: 'done', existed: 1, archiveBytes: 2_000_000, elapsedMs: 20 }, 80), 'Imported 1 layer (1 already stored), 2MB in 20ms');
  // Narrower: the bar shrinks, then goes, then the text is cut.
  for (const w of [200, 80, 60, 50, 45, 40, 30, 20, 10, 1, 0, undefined, Number.NaN]) {
    const line = renderLine(archive, w);
    t.true(line.length <= lineWidth(w) - 1, `width ${w}: ${line.length}`);
    t.false(line.includes('\n') || line.includes('\r'));
  }
  t.regex(renderLine(archive, 60), /\[[= >]{5,}\]/);
  t.is(renderLine(archive, 45), 'Reading archive  12.3MB / 45.6MB  5.2MB/s', 'no room for a bar of 5');
  t.is(renderLine(archive, 20), 'Reading archive  12');
  t.is(lineWidth(undefined), 80);
  t.is(lineWidth(0), 80);
  t.is(lineWidth(5), 20);
  t.is(lineWidth(132.7), 132);
});

test('stepLine: --progress plain\'s lines', (t) => {
  t.is(stepLine({ kind: 'archive', bytes: 2_000_000 }), 'Read archive: 2MB');
  t.is(stepLine({ kind: 'layer', layer: 1, layers: 2, digest: D1, bytes: 1_500_000, existed: false }), `Layer 1/2 sha256:${'1'.repeat(12)}: 1.5MB`);
  t.is(stepLine({ kind: 'layer', layer: 2, layers: 2, bytes: 0, existed: true }), 'Layer 2/2: already stored');
});

test('throttle: the first draw at once, then at most one per interval', (t) => {
  const th = new Throttle(100);
  t.is(th.wait(0), 0);
  t.is(th.wait(30), 70);
  t.is(th.wait(99), 1);
  t.is(th.wait(100), 0);
  t.is(th.wait(150), 50);
  t.is(th.wait(1000), 0);
});

test('progressMode: auto is the bar on a TTY and nothing elsewhere; --quiet wins; bad values refused', (t) => {
  t.is(progressMode(undefined, false, true), 'tty');
  t.is(progressMode(undefined, false, false), 'quiet');
  t.is(progressMode('auto', false, true), 'tty');
  t.is(progressMode('plain', false, true), 'plain');
  t.is(progressMode('tty', false, false), 'tty');
  t.is(progressMode('tty', true, true), 'quiet');
  t.throws(() => progressMode('fancy', false, true), { message: 'invalid --progress value "fancy": auto, tty, plain or quiet' });
});

test('writer (tty): redrawn in place, throttled to 10/s, a late event drawn by a timer, summary and newline at the end', (t) => {
  const time = fakeTime();
  const out = [];
  const w = new ImportProgressWriter({ write: (s) => out.push(s), columns: 80 }, 'tty', 10_000_000, time);
  w.onProgress({ phase: 'archive', bytes: 1_000_000 });
  t.is(out.length, 1, 'the first event is drawn at once');
  t.true(out[0].startsWith('\r\x1b[2KReading archive  ['));
  for (let i = 0; i < 9; i++) {
    time.now += 10;
    w.onProgress({ phase: 'archive', bytes: (i + 2) * 1_000_000 });
  }
  t.is(out.length, 1, '9 events within 100 ms: not drawn yet');
  t.is(time.timers.size, 1, 'one timer for the pending draw');
  time.advance(10);
  t.is(out.length, 2, 'drawn when the interval ends');
  t.regex(out[1], /10MB \/ 10MB/, 'with the latest state');
  time.advance(1000);
  t.is(out.length, 2, 'nothing new: no redraw');
  w.onProgress({ phase: 'layer', bytes: 4_000_000, layer: 0, layers: 1, digest: D1 });
  t.is(out.length, 3);
  t.regex(out[2], /^\r\x1b\[2KLayer 1\/1 {2}\[ +\] {2}4MB/);
  w.onProgress({ phase: 'done', bytes: 0 });
  w.finish(true);
  t.regex(out.at(-1), /^\r\x1b\[2KImported 1 layer, 10MB in \d/);
  t.true(out.at(-1).endsWith('\n'));
  t.true(out.every((s) => !/\n./.test(s)), 'no line feed but the last');
  t.is(time.timers.size, 0);
  const n = out.length;
  w.onProgress({ phase: 'archive', bytes: 1 });
  w.finish(true);
  t.is(out.length, n, 'nothing after finish');
});

test('writer (tty): a failure leaves the last state on its own line; nothing when nothing was drawn; the timer is cleared', (t) => {
  const time = fakeTime();
  const out = [];
  const w = new ImportProgressWriter({ write: (s) => out.push(s), columns: 80 }, 'tty', undefined, time);
  w.onProgress({ phase: 'archive', bytes: 100 });
  time.now += 10;
  w.onProgress({ phase: 'archive', bytes: 200 });
  t.is(time.timers.size, 1);
  w.finish(false);
  t.is(time.timers.size, 0);
  t.deepEqual(out.slice(1), ['\r\x1b[2KReading archive  200B  20kB/s\n']);
  const none = [];
  new ImportProgressWriter({ write: (s) => none.push(s) }, 'tty', undefined, fakeTime()).finish(false);
  t.deepEqual(none, []);
});

test('writer (plain): a line per finished step and a summary; quiet says nothing', (t) => {
  const time = fakeTime();
  const out = [];
  const w = new ImportProgressWriter({ write: (s) => out.push(s) }, 'plain', undefined, time);
  w.onProgress({ phase: 'archive', bytes: 2048 });
  w.onProgress({ phase: 'layer', bytes: 1000, layer: 0, layers: 2, digest: D1 });
  w.onProgress({ phase: 'layer', bytes: 2000, layer: 0, layers: 2, digest: D1 });
  w.onProgress({ phase: 'layer-exists', bytes: 0, layer: 1, layers: 2, digest: D2 });
  w.onProgress({ phase: 'done', bytes: 0 });
  time.now = 50;
  w.finish(true);
  t.deepEqual(out, ['Read archive: 2.05kB\n', `Layer 1/2 sha256:${'1'.repeat(12)}: 2kB\n`, `Layer 2/2 sha256:${'2'.repeat(12)}: already stored\n`, 'Imported 2 layers (1 already stored), 2.05kB in 50ms\n'], 'the summary counts the archive\'s bytes');
  const quiet = [];
  const q = new ImportProgressWriter({ write: (s) => quiet.push(s) }, 'quiet', undefined, time);
  q.onProgress({ phase: 'archive', bytes: 1 });
  q.onProgress({ phase: 'done', bytes: 0 });
  q.finish(true);
  t.deepEqual(quiet, []);
  t.is(time.timers.size, 0);
});

const NOW = Date.parse('2026-01-10T12:00:00.000Z');
const img = (id, names, created, size) => ({ id: `sha256:${id.repeat(64)}`, names, layers: [D1], size, config: { architecture: 'amd64' }, created });

test('image ls: a row per name, newest first, repo and tag split where docker splits them', (t) => {
  const images = [img('a', ['docker.io/library/busybox:latest', 'localhost:5000/x/y:1.2'], '2026-01-10T11:00:00.000Z', 4_500_000), img('b', [], '2026-01-10T11:59:58.000Z', 12)];
  const lines = imageTable(images, NOW).split('\n');
  const cols = (l) => l.split(/ {3,}/);
  t.deepEqual(cols(lines[0]), ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE']);
  t.deepEqual(cols(lines[1]), ['<none>', '<none>', 'bbbbbbbbbbbb', '2 seconds ago', '12B']);
  t.deepEqual(cols(lines[2]), ['docker.io/library/busybox', 'latest', 'aaaaaaaaaaaa', 'About an hour ago', '4.5MB']);
  t.deepEqual(cols(lines[3]), ['localhost:5000/x/y', '1.2', 'aaaaaaaaaaaa', 'About an hour ago', '4.5MB']);
  t.is(lines.length, 5);
  t.regex(imageTable(images, NOW, { noTrunc: true }), /sha256:a{64}/);
  t.deepEqual(splitName('localhost:5000/x'), ['localhost:5000/x', '<none>']);
  t.deepEqual(splitName(`x@sha256:${'c'.repeat(64)}`), ['x', '<none>']);
  t.deepEqual(Object.keys(imageSummary(images[0])), ['id', 'names', 'layers', 'size', 'created']);
});

test('volume: labels parsed as docker takes them; the table', (t) => {
  t.deepEqual(parseLabels(['a=1', 'b', 'c=x=y', 'a=2']), { a: '2', b: '', c: 'x=y' });
  t.throws(() => parseLabels(['=v']), { message: 'invalid label "=v": the key is empty' });
  const table = volumeTable([{ name: 'data', mountpoint: '/s/volumes/data/_data', created: '2026-01-10T11:58:00.000Z', labels: {}, users: [] }], NOW);
  t.deepEqual(table.split('\n').map((l) => l.split(/ {3,}/)), [['VOLUME NAME', 'CREATED', 'MOUNTPOINT'], ['data', '2 minutes ago', '/s/volumes/data/_data'], ['']]);
});

async function cli(argv) {
  const out = [];
  const err = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join(''), err: err.join('') };
}

test('main: image and volume usage, help and an empty store', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-cli-store-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const store = path.join(dir, 'store');
  t.regex((await cli(['image'])).out, /COMMANDS:\n {3}import {4}import a docker save/);
  t.regex((await cli(['help', 'volume'])).out, /berth volume - [\s\S]*COMMANDS:[\s\S]*create/);
  t.regex((await cli(['image', 'import', '--help'])).out, /--progress value/);
  t.regex((await cli(['image', 'help', 'list'])).out, /berth image ls - /);
  t.notRegex((await cli(['--help'])).out, /image import/, 'the main help lists groups, not their commands');
  t.deepEqual(await cli(['image', 'frob']), { code: 1, out: '', err: 'berth: unknown command "image frob" (berth image --help lists them)\n' });
  t.deepEqual(await cli(['image', 'import']), { code: 1, out: '', err: 'berth: "image import" requires exactly 1 argument(s)\n' });
  t.deepEqual(await cli(['image', 'import', '--progress', 'fancy', 'x']), { code: 1, out: '', err: 'berth: invalid --progress value "fancy": auto, tty, plain or quiet\n' });
  t.deepEqual(await cli(['image', 'ls', '--format', 'yaml', '--store', store]), { code: 1, out: '', err: 'berth: invalid format option: yaml\n' });
  t.deepEqual(await cli(['image', 'rm', '--store', store]), { code: 1, out: '', err: 'berth: "image rm" requires a minimum of 1 argument(s)\n' });
  t.deepEqual(await cli(['image', 'ls', '--store', store, '--format', 'json']), { code: 0, out: '[]\n', err: '' });
  t.deepEqual(await cli(['images', '--store', store]), { code: 0, out: 'REPOSITORY   TAG         IMAGE ID    CREATED     SIZE\n', err: '' });
  t.deepEqual(await cli(['volume', 'ls', '--store', store, '-q']), { code: 0, out: '', err: '' });
  t.deepEqual(await cli(['volume', 'create', '--label', '=x', '--store', store, 'v']), { code: 1, out: '', err: 'berth: invalid label "=x": the key is empty\n' });
});
