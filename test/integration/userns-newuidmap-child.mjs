// Run as the unprivileged test user by userns-newuidmap.test.js: makes a
// process of its own in a new user namespace (unshare -U), has berth's helper
// path write its maps, prints what the kernel then shows, and ends it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { writeMapsWithHelpers } from '../../dist/lib/launch/idmap-helpers.js';

const [uidStart, gidStart, size, pathEnv] = process.argv.slice(2);
const child = spawn('unshare', ['-U', 'sleep', '60'], { stdio: 'ignore' });
const mine = fs.readlinkSync('/proc/self/ns/user');
try {
  for (let i = 0; i < 500 && fs.readlinkSync(`/proc/${child.pid}/ns/user`) === mine; i++) await new Promise((r) => setTimeout(r, 10));
  if (pathEnv) process.env.PATH = pathEnv;
  const map = (hostID) => [{ containerID: 0, hostID: Number(hostID), size: Number(size) }];
  try {
    await writeMapsWithHelpers(child.pid, { mode: 'new', uidMappings: map(uidStart), gidMappings: map(gidStart) });
    console.log(JSON.stringify({ uidMap: fs.readFileSync(`/proc/${child.pid}/uid_map`, 'utf8'), gidMap: fs.readFileSync(`/proc/${child.pid}/gid_map`, 'utf8') }));
  } catch (err) {
    console.log(JSON.stringify({ error: { code: err.code, step: err.step, message: err.message } }));
  }
} finally {
  child.kill('SIGKILL');
}
