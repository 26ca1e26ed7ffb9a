// newuidmap/newgidmap (Debian's uidmap, setuid root): how a caller that may
// not write a user namespace's maps itself gets the ranges /etc/subuid and
// /etc/subgid grant it, as crun and podman do. The helpers check the grant;
// a map outside it, or a missing helper, is a SetupError naming the step and
// the helper's own words.
import { execFile } from 'node:child_process';
import { type ResolvedUserns } from '../config/userns.js';
import { SetupError } from '../errors.js';

function run(helper: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(helper, args, { timeout: 10_000 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const e = err as NodeJS.ErrnoException & { code?: string | number };
      if (e.code === 'ENOENT') {
        reject(new SetupError('user-namespace', `${helper} is not installed (Debian/Ubuntu: apt-get install uidmap); it writes the maps for a caller that may not`, { errno: 'ENOENT', syscall: 'execve', path: helper }));
        return;
      }
      const said = String(stderr).trim().split('\n').at(-1) ?? '';
      reject(new SetupError('user-namespace', `${helper} ${args.join(' ')} failed: ${said || e.message}`, { path: helper }));
    });
  });
}

const triples = (maps: ResolvedUserns['uidMappings']) => maps.flatMap((m) => [String(m.containerID), String(m.hostID), String(m.size)]);

/** newuidmap then newgidmap for the process (its user namespace must exist: after MSG_USERNS). */
export async function writeMapsWithHelpers(pid: number, userns: ResolvedUserns): Promise<void> {
  await run('newuidmap', [String(pid), ...triples(userns.uidMappings)]);
  await run('newgidmap', [String(pid), ...triples(userns.gidMappings)]);
}
