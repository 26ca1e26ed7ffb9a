// npm's install step. With a prebuild for this platform, node-gyp-build loads
// it and nothing is compiled (what users of the package get). Without one (a
// checkout, another platform), the addon is built from source, which needs
// libseccomp's headers: on Debian they are installed first (as root), so
// `npm ci` works on a fresh machine.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBuildPackages } from './build-steps/packages.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const prebuilt = fs.existsSync(path.join(root, 'prebuilds', `${process.platform}-${process.arch}`));
if (!prebuilt) ensureBuildPackages(root, 'berth install');
const require = createRequire(path.join(root, 'package.json'));
const r = spawnSync(process.execPath, [require.resolve('node-gyp-build/bin.js')], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
