// package.json promises only what the package has: every bin and export
// points at a file a build makes (and npm pack ships), and no script is run by
// npm as the pre/post hook of another without meaning to be.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

/** The file a package path comes from: dist/X.js and dist/X.d.ts are emitted from X.ts. */
function sourceOf(target) {
  const rel = path.normalize(target);
  const emitted = /^dist\/(.*)\.(?:d\.ts|js)$/.exec(rel);
  return emitted ? `${emitted[1]}.ts` : rel;
}

function targets(value) {
  if (typeof value === 'string') return [value];
  return Object.values(value ?? {}).flatMap(targets);
}

const shipped = (rel) => pkg.files.some((f) => rel === path.normalize(f) || rel.startsWith(path.normalize(f).replace(/\/?$/, '/')));

test('every bin, main, types and exports target is made from a file in the repository and is shipped', (t) => {
  const all = [...targets(pkg.bin), ...targets(pkg.exports), pkg.main, pkg.types].filter(Boolean);
  for (const target of all) {
    const source = sourceOf(target);
    t.true(fs.existsSync(path.join(root, source)), `${target}: no ${source}`);
    const rel = path.normalize(target);
    t.true(rel === 'package.json' || shipped(rel), `${target} is not under package.json "files"`);
  }
});

test('exports allows ./package.json (tools read a dependency\'s manifest through it)', (t) => {
  t.is(pkg.exports['./package.json'], './package.json');
});

test('no script is an accidental npm pre/post hook of another script', (t) => {
  // npm runs pre<name> and post<name> around `npm run <name>`: a "prebuild" runs
  // before every "build". prepack/postpack are meant as hooks of npm pack.
  const meant = new Set(['prepack', 'postpack']);
  const hooks = Object.keys(pkg.scripts)
    .filter((name) => !meant.has(name))
    .map((name) => [name, /^(?:pre|post)(.+)$/.exec(name)?.[1]])
    .filter(([, hooked]) => hooked && hooked in pkg.scripts)
    .map(([name, hooked]) => `"${name}" runs as a hook of "${hooked}"`);
  t.deepEqual(hooks, []);
});
