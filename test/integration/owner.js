// What the tests of "another process made it" share: a Node process that runs
// a script with berth at hand (and can be SIGKILLed at any point of it), the
// cgroup directories a container id maps to, and a bounded wait.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectLayout } from '../../dist/lib/host/index.js';
import { ROOTFS } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** This host's cgroup layout. */
export const layout = await detectLayout();
/** The mount point of every cgroup hierarchy of this host. */
export const mounts = [...new Set([...Object.values(layout.v1), ...(layout.unifiedMount ? [layout.unifiedMount] : [])])];

/** The container's default cgroup directory in every hierarchy of this host. */
export const cgroupDirs = (id) => mounts.map((m) => path.join(m, 'berth', id));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The promise's outcome ('resolved' or the error), or 'timeout' (for code that used to never settle). */
export function within(promise, ms) {
  return Promise.race([promise.then(() => 'resolved', (err) => err), sleep(ms).then(() => 'timeout')]);
}

/**
 * A Node process running `script` (an ES module body) with `createContainer`,
 * `rootfs`, `stateRoot` and `die()` (SIGKILL itself) in scope, plus `imports`
 * (extra import lines). Its stdout is read line by line with line().
 */
export function ownerProcess(script, { stateRoot, imports = '', stdin = 'ignore' }) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    import { createContainer } from '../../dist/lib/index.js';
    ${imports}
    const rootfs = ${JSON.stringify(ROOTFS)}, stateRoot = ${JSON.stringify(stateRoot)};
    const die = () => process.kill(process.pid, 'SIGKILL');
    ${script}`], { cwd: here, stdio: [stdin, 'pipe', 'inherit'] });
  const lines = [];
  const waiters = [];
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d;
    for (let i; (i = buf.indexOf('\n')) >= 0; buf = buf.slice(i + 1)) {
      lines.push(buf.slice(0, i));
      waiters.splice(0).forEach((w) => w());
    }
  });
  return {
    child,
    async line() {
      while (lines.length === 0) await new Promise((r) => waiters.push(r));
      return lines.shift();
    },
    exited: new Promise((r) => child.on('exit', r)),
  };
}
