// Helpers for the hostile-container tests (trust-*.test.js): small static C
// programs that do what busybox cannot (TIOCSTI, keyctl), made visible inside a
// container through a read-only bind mount, and a way to run a Node script in a
// setting the ava worker cannot give itself (a controlling tty, a session keyring).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultMounts } from '../../dist/lib/config/defaults.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const DIST_INDEX = path.join(here, '..', '..', 'dist', 'lib', 'index.js');

/** Why the test file `who` must skip (cc and `tools` are needed), said once at load; null when it can run. The VM lane has no cc, the host lane does. */
export function skipUnlessTools(who, ...tools) {
  for (const tool of ['cc', ...tools]) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
      const reason = `${tool} is not installed`;
      console.log(`${who}: skipped: ${reason} (the host lane has it)`);
      return reason;
    }
  }
  return null;
}

/** A temp dir holding `name` compiled statically from `source` (a static binary runs in the busybox rootfs). */
export function compileStatic(name, source) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-trust-'));
  fs.chmodSync(dir, 0o755); // container processes of any uid run what is in it
  fs.writeFileSync(path.join(dir, `${name}.c`), source);
  try {
    execFileSync('cc', ['-static', '-O2', '-o', path.join(dir, name), path.join(dir, `${name}.c`)]);
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return dir;
}

/** The default mounts plus `dir` read-only at /trust. */
export function mountsWithTools(dir) {
  return [...defaultMounts(), { destination: '/trust', type: 'bind', source: dir, options: ['rbind', 'ro'] }];
}
