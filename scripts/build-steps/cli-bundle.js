// dist/cli/berth.mjs: the CLI and the library code it reaches as ONE module,
// made by esbuild from what tsc emitted. A CLI call is a fresh Node process,
// and Node 20's ESM loader spends most of `berth run`'s start resolving,
// reading and compiling ~100 small modules one by one (measured: ~130 -> ~85
// ms wall on this machine); the library itself stays one module per file.
// Dependencies stay external (node_modules, the addon found from the package root).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { BuildError } from './run.js';

/** @returns what was done, for the build's one-line summary */
export function bundleCli({ root }) {
  const require = createRequire(path.join(root, 'package.json'));
  let esbuild;
  try {
    esbuild = require('esbuild');
  } catch {
    // A package installed without devDependencies: bin/berth.js falls back to dist/lib/cli/main.js.
    return 'no esbuild: CLI unbundled';
  }
  const entry = path.join(root, 'dist', 'lib', 'cli', 'main.js');
  const outfile = path.join(root, 'dist', 'cli', 'berth.mjs');
  fs.mkdirSync(path.dirname(outfile), { recursive: true });
  try {
    esbuild.buildSync({ entryPoints: [entry], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'error' });
  } catch (err) {
    throw new BuildError(`esbuild (CLI bundle): ${err.message}`);
  }
  return 'CLI bundled';
}
