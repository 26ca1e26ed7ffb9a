// scripts/build.js's dist/ step on a project of its own: tsc runs only when a
// source changed, an output deleted by hand is emitted again, and what a removed
// module emitted leaves dist/ (tsc alone never deletes it, and a stale module
// stays importable).
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildTypescript } from '../../scripts/build-steps/typescript.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function project(t) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-build-dist-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const write = (rel, text) => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  };
  write('package.json', JSON.stringify({ name: 'build-dist-probe', type: 'module' }));
  write('tsconfig.json', JSON.stringify({
    // noLib and the few global types tsc insists on: a compile in well under a second.
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', declaration: true, sourceMap: true, outDir: 'dist', rootDir: '.', types: [], noLib: true },
    include: ['src/**/*.ts'],
  }));
  fs.symlinkSync(path.join(repo, 'node_modules'), path.join(root, 'node_modules'));
  // A declaration file is an input that emits nothing.
  write('src/globals.d.ts', 'interface Array<T> {} interface Boolean {} interface Function {} interface IArguments {} interface Number {} interface Object {} interface RegExp {} interface String {}\n');
  write('src/kept.ts', 'export const kept = 1;\n');
  write('src/gone/removed.ts', 'export const removed = 2;\n');
  return { root, write, at: (rel) => path.join(root, rel) };
}

test('dist/ is compiled only when a source changed, and loses what a removed module emitted', (t) => {
  const p = project(t);
  t.is(buildTypescript({ root: p.root }), 'dist/ compiled');
  t.true(fs.existsSync(p.at('dist/src/gone/removed.js')));
  t.is(buildTypescript({ root: p.root }), 'dist/ up to date');

  fs.rmSync(p.at('src/gone'), { recursive: true });
  t.is(buildTypescript({ root: p.root }), 'dist/ compiled, removed 3 stale: dist/src/gone/removed.d.ts dist/src/gone/removed.js dist/src/gone/removed.js.map');
  t.false(fs.existsSync(p.at('dist/src/gone')), 'the emptied directory is removed too');
  t.true(fs.existsSync(p.at('dist/src/kept.js')));

  p.write('src/kept.ts', 'export const kept = 3;\n');
  t.is(buildTypescript({ root: p.root }), 'dist/ compiled');
  t.regex(fs.readFileSync(p.at('dist/src/kept.js'), 'utf8'), /kept = 3/);
});

test('an output deleted by hand is emitted again (the incremental build info alone would call it current)', (t) => {
  const p = project(t);
  buildTypescript({ root: p.root });
  fs.rmSync(p.at('dist/src/kept.js'));
  t.is(buildTypescript({ root: p.root }), 'dist/ compiled');
  t.true(fs.existsSync(p.at('dist/src/kept.js')));
  fs.rmSync(p.at('dist'), { recursive: true });
  t.is(buildTypescript({ root: p.root }), 'dist/ compiled');
  t.true(fs.existsSync(p.at('dist/src/gone/removed.d.ts')));
});

test('a stray file in dist/ is removed even when nothing needs compiling', (t) => {
  const p = project(t);
  buildTypescript({ root: p.root });
  p.write('dist/src/old-name.js', 'export const stale = true;\n');
  t.is(buildTypescript({ root: p.root }), 'dist/ up to date, removed 1 stale: dist/src/old-name.js');
});
