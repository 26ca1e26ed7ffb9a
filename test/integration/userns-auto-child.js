// Run by userns-auto.test.js: makes 8 'auto' containers at once in a process
// of its own, prints their host range starts as JSON, and destroys them once
// its stdin ends (the test holds both processes' containers at the same time).
import fs from 'node:fs';
import { createContainer } from '../../dist/lib/index.js';

const stateRoot = process.env.BERTH_TEST_STATE_ROOT;
const rootfs = process.env.BERTH_TEST_ROOTFS;
const made = await Promise.all(Array.from({ length: 8 }, () => createContainer({ root: { path: rootfs, idmap: process.env.BERTH_TEST_ROOT_IDMAP !== 'false' }, stateRoot, userns: 'auto', process: { args: ['sleep', '1000'], stdio: 'ignore' } })));
try {
  console.log(JSON.stringify(made.map((c) => Number(fs.readFileSync(`/proc/${c.pid}/uid_map`, 'utf8').trim().split(/\s+/)[1]))));
  process.stdin.resume();
  await new Promise((r) => process.stdin.on('end', r));
} finally {
  await Promise.all(made.map((c) => c.destroy()));
}
