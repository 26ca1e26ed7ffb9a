// The generated wire files (both sides of the plan codec and the protocol
// tables) are checked in; these tests fail, naming the file, as soon as one
// of them no longer matches native/wire/wire.js.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as wire from '../../native/wire/wire.js';
import { render, staleFiles, writeGenerated } from '../../native/wire/generate.js';

test('every generated wire file matches native/wire/wire.js', (t) => {
  t.deepEqual(staleFiles(), [], 'run `node native/wire/generate.js` (and never edit a *.gen.* file by hand)');
});

// The generated files as the description gives them, in a scratch tree, to
// break on purpose without touching the real one.
function scratchTree(t) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-wire-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  for (const [rel, text] of Object.entries(render())) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
  return root;
}

function swapLines(file, a, b) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const i = lines.indexOf(a);
  const j = lines.indexOf(b);
  if (i < 0 || j < 0) throw new Error(`${file}: no line ${i < 0 ? a : b}`);
  [lines[i], lines[j]] = [lines[j], lines[i]];
  fs.writeFileSync(file, lines.join('\n'));
}

test('the check names a generated file whose field order was changed by hand', (t) => {
  const root = scratchTree(t);
  swapLines(path.join(root, 'lib/native/plan-codec.gen.ts'), '  w.int(p.uid);', '  w.int(p.gid);');
  t.deepEqual(staleFiles(root), ['lib/native/plan-codec.gen.ts']);
  swapLines(path.join(root, 'native/wire/plan_codec.gen.cc'), '  r.num(p.uid);', '  r.num(p.gid);');
  t.deepEqual(staleFiles(root), ['native/wire/plan_codec.gen.cc', 'lib/native/plan-codec.gen.ts']);
});

test('a new plan layout is not generated under the old format version', (t) => {
  const root = scratchTree(t);
  const fields = [...wire.plan.fields];
  const uid = fields.findIndex((f) => f.c === 'uid');
  [fields[uid], fields[uid + 1]] = [fields[uid + 1], fields[uid]];
  const reordered = { ...wire, plan: { ...wire.plan, fields } };
  t.throws(() => writeGenerated(root, reordered), { message: /layout changed; bump plan\.version/ });
  t.deepEqual(staleFiles(root), [], 'nothing written');
  const bumped = { ...wire, plan: { ...reordered.plan, version: wire.plan.version + 1 } };
  t.true(writeGenerated(root, bumped).includes('native/wire/plan_codec.gen.cc'));
});
