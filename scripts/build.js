#!/usr/bin/env node
// The package's one build: the native addon and dist/.
//   node scripts/build.js          each part only when what it is made from changed (npm test, demo, bench)
//   node scripts/build.js --full   both from scratch (npm run build)
//   node scripts/build.js --ts     dist/ only
//   node scripts/build.js --pack   what npm pack ships (its prepack step): a stripped N-API
//                                  prebuild from a clean native build, and dist/ from scratch
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildNative, nativeEnv, prebuild } from './build-steps/native.js';
import { BuildError } from './build-steps/run.js';
import { bundleCli } from './build-steps/cli-bundle.js';
import { buildTypescript } from './build-steps/typescript.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const modes = { '': null, '--full': 'full', '--ts': 'ts', '--pack': 'pack' };
const arg = process.argv.slice(2).join(' ');
if (!(arg in modes)) {
  console.error(`usage: node scripts/build.js [--full | --ts | --pack]`);
  process.exit(2);
}
const mode = modes[arg];

const t0 = performance.now();
try {
  const done = [];
  const env = nativeEnv();
  if (mode === 'pack') {
    done.push(`prebuild ${prebuild({ root, env })}`);
    // prebuildify moves the addon out of build/Release: link it again (objects
    // are current) so the checkout keeps working after npm pack.
    done.push(buildNative({ root, env }));
  } else if (mode !== 'ts') {
    done.push(buildNative({ root, env, full: mode === 'full' }));
  }
  done.push(buildTypescript({ root, full: mode === 'full' || mode === 'pack' }));
  // After tsc's pass, which prunes from dist/ whatever tsc does not emit (this bundle too).
  done.push(bundleCli({ root }));
  console.error(`build: ${done.join('; ')} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
} catch (err) {
  if (!(err instanceof BuildError)) throw err;
  console.error(`build: ${err.message}`);
  process.exit(err.status);
}
