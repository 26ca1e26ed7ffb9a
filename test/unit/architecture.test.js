// The layering of lib/ (lowest first), checked on the TypeScript sources:
//   errors.ts, kernel/ < host/ < native/ < cgroups/, state/, seccomp/, image/ < network/, volume/ < config/ < launch/, hooks/ < container/ < index.ts
// A module may import from its own directory or a lower layer, never upward, and
// never from a sibling in its own layer (cgroups/ and state/ stay independent).
// `import type` counts: a type edge upward is still knowledge upward. No cycles,
// even inside one directory.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const LIB = fileURLToPath(new URL('../../lib/', import.meta.url));

const LAYERS = [['errors.ts', 'kernel', 'package-root.ts'], ['host'], ['native'], ['cgroups', 'state', 'seccomp', 'image'], ['network', 'volume'], ['config'], ['launch', 'hooks'], ['container', 'features.ts'], ['index.ts'], ['cli']];

/** The group (top-level directory, or top-level file) of a lib-relative path, and its layer. */
function placeOf(rel) {
  const group = rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : rel;
  const layer = LAYERS.findIndex((l) => l.includes(group));
  return { group, layer };
}

/** Every module specifier a source file names: import/export from, import type, import(), import('x').T. */
export function moduleSpecifiers(fileName, text) {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out = [];
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      out.push(node.moduleReference.expression.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
      out.push(node.arguments[0].text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      out.push(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function listSources(dir, base = dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listSources(full, base));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(path.relative(base, full));
  }
  return out.sort();
}

/** { files, edges: [[from, to]] (lib-relative), missing: [[from, spec]] } */
export function importGraph(files, read) {
  const edges = [];
  const missing = [];
  for (const from of files) {
    for (const spec of moduleSpecifiers(from, read(from))) {
      if (!spec.startsWith('.')) continue;
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec)).replace(/\.js$/, '.ts');
      if (target.startsWith('../')) continue; // types/ and the like: outside the layering
      if (!files.includes(target)) missing.push([from, spec]);
      else edges.push([from, target]);
    }
  }
  return { files, edges, missing };
}

/** Edges that go upward or sideways into another group of the same layer. */
export function layerViolations(files, edges) {
  const unplaced = files.filter((f) => placeOf(f).layer < 0);
  const bad = [];
  for (const [from, to] of edges) {
    const a = placeOf(from);
    const b = placeOf(to);
    if (a.layer < 0 || b.layer < 0) continue;
    if (b.layer > a.layer) bad.push(`${from} -> ${to} (upward: ${LAYERS[a.layer].join(', ')} may not import ${LAYERS[b.layer].join(', ')})`);
    else if (b.layer === a.layer && b.group !== a.group) bad.push(`${from} -> ${to} (sideways: ${a.group} and ${b.group} share a layer and stay independent)`);
  }
  return { unplaced, bad };
}

/** One concrete cycle per strongly connected component (Tarjan), as "a -> b -> a". */
export function importCycles(files, edges) {
  const next = new Map(files.map((f) => [f, []]));
  for (const [a, b] of edges) next.get(a).push(b);
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const sccs = [];
  const strong = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v)) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const scc = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || next.get(v).includes(v)) sccs.push(new Set(scc));
    }
  };
  for (const f of files) if (!idx.has(f)) strong(f);
  // A path back to the start inside the component (BFS), for the message.
  return sccs.map((scc) => {
    const start = [...scc].sort()[0];
    const prev = new Map();
    const queue = [start];
    while (queue.length) {
      const v = queue.shift();
      for (const w of next.get(v)) {
        if (!scc.has(w)) continue;
        if (w === start) {
          const cycle = [start];
          for (let u = v; u !== start; u = prev.get(u)) cycle.splice(1, 0, u);
          return [...cycle, start].join(' -> ');
        }
        if (!prev.has(w)) {
          prev.set(w, v);
          queue.push(w);
        }
      }
    }
    return [...scc].join(', ');
  });
}

const sources = listSources(LIB);
const graph = importGraph(sources, (f) => fs.readFileSync(path.join(LIB, f), 'utf8'));

test('the extractor sees the whole of lib/ (so an empty graph cannot pass by accident)', (t) => {
  t.true(sources.length >= 30, `${sources.length} files`);
  t.true(graph.edges.length >= 60, `${graph.edges.length} edges`);
  t.true(sources.includes('index.ts') && sources.includes('errors.ts') && sources.includes('launch/plan.ts'));
  t.true(graph.edges.some(([a, b]) => a === 'launch/plan.ts' && b === 'config/normalize.ts'), 'import type edges are included');
});

test('every relative import inside lib/ names a file that exists', (t) => {
  t.deepEqual(graph.missing, [], graph.missing.map(([f, s]) => `${f}: ${s}`).join('\n'));
});

test('every file of lib/ belongs to a layer', (t) => {
  const { unplaced } = layerViolations(graph.files, graph.edges);
  t.deepEqual(unplaced, [], `not in any layer (add its directory to LAYERS in test/unit/architecture.test.js): ${unplaced.join(', ')}`);
});

test('no import goes to a higher layer or across to a sibling of the same layer', (t) => {
  const { bad } = layerViolations(graph.files, graph.edges);
  t.deepEqual(bad, [], `layering broken:\n  ${bad.join('\n  ')}`);
});

test('no import cycles', (t) => {
  const cycles = importCycles(graph.files, graph.edges);
  t.deepEqual(cycles, [], `import cycles:\n  ${cycles.join('\n  ')}`);
});

// The checker itself, on made-up sources: it must be able to fail.
test('the checker: every import form is seen', (t) => {
  const text = [
    "import a from './a.js';",
    "import type { B } from '../b.js';",
    "import { type C, d } from './c.js';",
    "import './side-effect.js';",
    "export * from './e.js';",
    "export type * from './f.js';",
    "export { g } from './g.js';",
    "const h = await import('./h.js');",
    "let i: import('./i.js').I;",
    "import j = require('./j.js');",
    "import fs from 'node:fs';",
    "// import nope from './comment.js';",
    "const s = \"import x from './string.js'\";",
  ].join('\n');
  t.deepEqual(moduleSpecifiers('x.ts', text), ['./a.js', '../b.js', './c.js', './side-effect.js', './e.js', './f.js', './g.js', './h.js', './i.js', './j.js', 'node:fs']);
});

test('the checker: an upward, a sideways and a same-directory edge', (t) => {
  const files = ['host/x.ts', 'host/y.ts', 'launch/plan.ts', 'cgroups/a.ts', 'state/b.ts', 'tools/z.ts'];
  const src = {
    'host/x.ts': "import type { P } from '../launch/plan.js'; import { y } from './y.js';",
    'host/y.ts': '',
    'launch/plan.ts': "import { x } from '../host/x.js'; import { t } from '../../types/api.js';",
    'cgroups/a.ts': "import { b } from '../state/b.js';",
    'state/b.ts': '',
    'tools/z.ts': '',
  };
  const g = importGraph(files, (f) => src[f]);
  const { bad, unplaced } = layerViolations(g.files, g.edges);
  t.deepEqual(unplaced, ['tools/z.ts']);
  t.is(bad.length, 2);
  t.regex(bad[0], /^host\/x\.ts -> launch\/plan\.ts \(upward/);
  t.regex(bad[1], /^cgroups\/a\.ts -> state\/b\.ts \(sideways/);
  t.deepEqual(importCycles(g.files, g.edges), ['host/x.ts -> launch/plan.ts -> host/x.ts']);
});

test('the checker: a cycle inside one directory and a self-import', (t) => {
  const files = ['config/a.ts', 'config/b.ts', 'config/c.ts', 'config/d.ts'];
  const edges = [['config/a.ts', 'config/b.ts'], ['config/b.ts', 'config/c.ts'], ['config/c.ts', 'config/a.ts'], ['config/d.ts', 'config/d.ts']];
  t.deepEqual(layerViolations(files, edges).bad, []);
  t.deepEqual(importCycles(files, edges).sort(), ['config/a.ts -> config/b.ts -> config/c.ts -> config/a.ts', 'config/d.ts -> config/d.ts']);
  t.deepEqual(importCycles(files, edges.slice(0, 2)), []);
});
