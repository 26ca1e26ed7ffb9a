// Every type that appears in a public signature of berth can be named by its
// users: walks the emitted declarations from dist/lib/index.d.ts with the
// TypeScript compiler and fails on any type, reachable from an export, that is
// declared in berth but not exported from 'berth' itself.
import test from 'ava';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const entry = path.join(root, 'dist', 'lib', 'index.d.ts');

/** Declarations that are ours (not Node's, not the TS lib's). */
const ours = (decl) => {
  const file = decl.getSourceFile().fileName;
  return file.startsWith(path.join(root, 'dist')) && !file.includes('node_modules');
};

function unexportedTypes() {
  const program = ts.createProgram([entry], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, types: ['node'] });
  const checker = program.getTypeChecker();
  const resolve = (s) => (s && s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(entry));
  const exported = new Set(checker.getExportsOfModule(moduleSymbol).map(resolve));
  const missing = new Map(); // type name -> where it was seen
  const visited = new Set();
  const visitDecl = (decl, from) => {
    const walk = (node) => {
      // Private members are emitted without their types; skip them anyway.
      if (node.modifiers?.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword)) return;
      if (ts.isTypeReferenceNode(node) || ts.isExpressionWithTypeArguments(node)) {
        const name = ts.isTypeReferenceNode(node) ? node.typeName : node.expression;
        const sym = resolve(checker.getSymbolAtLocation(name));
        if (sym && !(sym.flags & ts.SymbolFlags.TypeParameter)) visitSymbol(sym, from);
      }
      ts.forEachChild(node, walk);
    };
    walk(decl);
  };
  const visitSymbol = (sym, from) => {
    const decls = (sym.declarations ?? []).filter(ours);
    if (decls.length === 0) return;
    if (!exported.has(sym) && !missing.has(sym.name)) missing.set(sym.name, from);
    if (visited.has(sym)) return;
    visited.add(sym);
    for (const d of decls) visitDecl(d, sym.name);
  };
  for (const sym of exported) visitSymbol(sym, '(index)');
  return [...missing].map(([name, from]) => `${name} (used by ${from})`);
}

test('every type in a public signature is exported from berth', (t) => {
  t.deepEqual(unexportedTypes(), []);
});
