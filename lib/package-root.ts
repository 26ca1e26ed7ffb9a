// The package's root directory, found by walking up from a module's own
// location to berth's package.json: the same answer from dist/lib/** and from
// the CLI's one-file bundle (dist/cli/berth.mjs), whatever their depth.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageRootOf(moduleUrl: string): string {
  const start = path.dirname(fileURLToPath(moduleUrl));
  for (let dir = start; ; dir = path.dirname(dir)) {
    try {
      if (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).name === 'berth') return dir;
    } catch {
      // none here, or not JSON: go on up
    }
    if (path.dirname(dir) === dir) return path.resolve(start, '..', '..', '..');
  }
}
