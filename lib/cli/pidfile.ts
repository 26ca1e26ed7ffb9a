// --pid-file: the decimal host pid, no newline, made whole in one rename (as
// runc: a reader never sees a half-written file).
import fs from 'node:fs';
import path from 'node:path';
import { fromSystemError } from '../errors.js';

export function writePidFile(file: string, pid: number): void {
  const target = path.resolve(file);
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}`);
  try {
    fs.writeFileSync(tmp, String(pid), { mode: 0o644, flag: 'w' });
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    // Named by the file the caller gave, not our temporary beside it.
    const e = err as NodeJS.ErrnoException;
    throw fromSystemError(Object.assign(new Error(`cannot write the pid file ${target}: ${e.code ?? e.message}`), { code: e.code, syscall: e.syscall, path: target }), 'pid-file', target);
  }
}
