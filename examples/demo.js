// npm run demo: a real container from the busybox rootfs (built by
// test/fixtures/make-rootfs.sh). Shows what the process sees from inside.
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createContainer, run } from '../dist/lib/index.js';

const rootfs = process.env.BERTH_DEMO_ROOTFS ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'rootfs');

const script = `
echo "pid inside:      $$"
echo "hostname:        $(hostname)"
echo "user:            $(id)"
echo "processes:       $(ls /proc | grep -E '^[0-9]+$' | tr '\\n' ' ')"
echo "network:         $(ls /sys/class/net | tr '\\n' ' ')"
echo "capabilities:    $(grep CapEff /proc/self/status | cut -f2)"
echo "mounts:"
awk '{print "  " $5 "  " $9 "  " $6}' /proc/self/mountinfo
`;

const t0 = performance.now();
const container = await createContainer({ rootfs, hostname: 'berth-demo', process: { args: ['/bin/sh', '-c', script] } });
const created = performance.now();
console.log(`created container ${container.id} (host pid ${container.pid}) in ${(created - t0).toFixed(1)} ms; state: ${container.status}`);
const init = await container.start();
init.stdout.pipe(process.stdout);
init.stderr.pipe(process.stderr);
const [status] = await Promise.all([init.wait(), finished(init.stdout)]);
console.log(`exited with ${JSON.stringify(status)}; state: ${container.status}`);
await container.destroy();

const t1 = performance.now();
const r = await run({ rootfs, process: { args: ['/bin/true'] } });
console.log(`run(/bin/true): exit ${r.exitCode} in ${(performance.now() - t1).toFixed(1)} ms (create + start + wait + destroy)`);
