#!/usr/bin/env node
// The berth CLI (runc's command line). Node's compile cache (Node 22.1+) makes
// every start after the first cheaper; the CLI's code loads only now. On older
// Node, node:module is not even loaded (it has nothing to offer there and costs
// a module load at every start).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major > 22 || (major === 22 && minor >= 1)) (await import('node:module')).default.enableCompileCache?.();
const { main } = await import('../dist/lib/cli/main.js');
process.exit(await main(process.argv.slice(2)));
