// Builds the C floor at bench time and drives it in --serve mode, so floor runs
// interleave with the other runtimes round by round. The time reported is the
// floor's own clone..waitpid measurement: the kernel's cost, without Node's
// spawn() or a pipe round trip (they would only flatter berth).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const buildDir = path.join(here, '..', '.build');

export function buildFloor() {
  fs.mkdirSync(buildDir, { recursive: true });
  const out = path.join(buildDir, 'floor');
  // -Wno-format-truncation: the paths are short and bounded; gcc cannot know it.
  execFileSync('cc', ['-O2', '-Wall', '-Wno-format-truncation', '-o', out, path.join(here, 'floor.c')], { stdio: 'inherit' });
  return out;
}

/** A floor server; run() resolves one run's latency in ms. */
export function startFloor(bin, rootfs, { pivot = false, cgroup = null } = {}) {
  const args = [rootfs, ...(pivot ? ['--pivot'] : []), ...(cgroup ? ['--cgroup', cgroup] : []), '--serve'];
  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout });
  const waiting = [];
  lines.on('line', (line) => waiting.shift()?.(JSON.parse(line)));
  return {
    run() {
      return new Promise((resolve, reject) => {
        waiting.push((r) => (r.error ? reject(new Error(`floor: ${r.error}`)) : resolve(r.ns / 1e6)));
        child.stdin.write('go\n');
      });
    },
    stop() {
      const gone = new Promise((r) => child.once('exit', r));
      child.stdin.end(); // EOF ends the serve loop
      return gone;
    },
  };
}
