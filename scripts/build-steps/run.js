// Running the build's tools: their output goes straight to the terminal, a
// failure stops the build with the tool's name and status.
import { spawnSync } from 'node:child_process';

export class BuildError extends Error {
  constructor(message, status = 1) {
    super(message);
    this.status = status;
  }
}

export function run(command, args, options, name) {
  const r = spawnSync(command, args, { stdio: 'inherit', ...options });
  if (r.error) throw new BuildError(`${name}: ${r.error.message}`);
  if (r.status !== 0) throw new BuildError(`${name} failed (${r.signal ? `signal ${r.signal}` : `exit ${r.status}`})`, r.status || 1);
}
