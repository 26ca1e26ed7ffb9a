#!/usr/bin/env node
// The berth CLI (runc's command line). Its one-file bundle when the build made
// it (scripts/build-steps/cli-bundle.js: a CLI call's start is mostly module
// loading), else the modules tsc emitted. Node's compile cache (22.1+) makes
// every start after the first cheaper; on older Node node:module is not loaded.
import { existsSync } from 'node:fs';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major > 22 || (major === 22 && minor >= 1)) (await import('node:module')).default.enableCompileCache?.();
const bundle = new URL('../dist/cli/berth.mjs', import.meta.url);
const { main } = await import(existsSync(bundle) ? bundle.href : '../dist/lib/cli/main.js');
process.exit(await main(process.argv.slice(2)));
