// The CLI's one-file bundle (dist/cli/berth.mjs) is what bin/berth.js runs:
// it must answer as the modules tsc emitted do, and find the package (the
// addon, package.json) from its own depth.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bundle = path.join(root, 'dist', 'cli', 'berth.mjs');
const viaModules = (args) =>
  execFileSync(process.execPath, ['--input-type=module', '-e', `const { main } = await import(${JSON.stringify(path.join(root, 'dist/lib/cli/main.js'))}); process.exit(await main(${JSON.stringify(args)}));`], { encoding: 'utf8' });
const viaBin = (args) => execFileSync(process.execPath, [path.join(root, 'bin', 'berth.js'), ...args], { encoding: 'utf8' });

test('the build made the bundle, and bin/berth.js runs it', (t) => {
  t.true(fs.existsSync(bundle), 'dist/cli/berth.mjs exists (scripts/build-steps/cli-bundle.js)');
  t.regex(fs.readFileSync(bundle, 'utf8'), /is not supported by berth/, 'the commands are inside it');
});

test('the bundle answers as the modules do: --version, features', (t) => {
  t.is(viaBin(['--version']), viaModules(['--version']));
  t.regex(viaBin(['--version']), /^berth version \d+\.\d+\.\d+/);
  t.deepEqual(JSON.parse(viaBin(['features'])), JSON.parse(viaModules(['features'])));
  t.is(JSON.parse(viaBin(['features'])).hooks.length, 6);
});
