#!/usr/bin/env node
// The berth CLI (runc's command line). Node's compile cache (Node 22.1+) makes
// every start after the first cheaper; the CLI's code loads only now.
import module from 'node:module';

module.enableCompileCache?.();
const { main } = await import('../dist/lib/cli/main.js');
process.exit(await main(process.argv.slice(2)));
