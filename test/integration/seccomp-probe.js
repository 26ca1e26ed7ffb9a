// The seccomp tests' probe (test/fixtures/seccomp-probe.c), compiled with
// `cc -static` at test time and put at /probe in a temporary copy of the test
// rootfs. The binary is kept in test/fixtures/.build (keyed by the source's
// hash) so a lane without a compiler (the VM lane) can still use it.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOTFS } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const source = path.join(here, '..', 'fixtures', 'seccomp-probe.c');
const buildDir = path.join(here, '..', 'fixtures', '.build');

/** The probe binary's path, or a reason why there is none. */
export function buildProbe() {
  const hash = crypto.createHash('sha256').update(fs.readFileSync(source)).digest('hex').slice(0, 16);
  const bin = path.join(buildDir, `seccomp-probe-${hash}`);
  if (fs.existsSync(bin)) return { bin };
  fs.mkdirSync(buildDir, { recursive: true });
  const tmp = `${bin}.${process.pid}.tmp`;
  try {
    execFileSync('cc', ['-static', '-O2', '-pthread', '-o', tmp, source], { stdio: ['ignore', 'pipe', 'pipe'] });
    fs.renameSync(tmp, bin);
    return { bin };
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    return { reason: `cannot build the seccomp probe with cc -static: ${err.stderr?.toString().trim() || err.message}` };
  }
}

/** A copy of the test rootfs with the probe at /probe; remove() takes it away. */
export function probeRootfs() {
  const probe = buildProbe();
  if (!probe.bin) return { reason: probe.reason };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-seccomp-rootfs-'));
  execFileSync('cp', ['-a', `${ROOTFS}/.`, dir]);
  fs.copyFileSync(probe.bin, path.join(dir, 'probe'));
  fs.chmodSync(path.join(dir, 'probe'), 0o755);
  return { rootfs: dir, bin: probe.bin, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Parses the probe's "ok N" / "err N" lines, one per call. */
export function results(stdout) {
  return stdout
    .toString()
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [what, value] = line.split(' ');
      return what === 'ok' ? { ok: Number(value) } : what === 'err' ? { errno: Number(value) } : { line };
    });
}

/** Runs the probe on the host (no container): what the kernel alone says. */
export function onHost(bin, args) {
  try {
    return { stdout: execFileSync(bin, args, { encoding: 'utf8' }), status: 0 };
  } catch (err) {
    return { stdout: err.stdout ?? '', status: err.status, signal: err.signal };
  }
}

export { when } from './when.js';

/**
 * Why the probe's tests cannot run here (no probe), and why its int 0x80 ones
 * cannot: they need the kernel's ia32 entry (CONFIG_IA32_EMULATION, not disabled at boot).
 */
export function probeSkips(probe) {
  const noProbe = probe.reason;
  const int80 = probe.bin ? onHost(probe.bin, ['i386', '20']) : null;
  const noInt80 = noProbe ?? (int80.status === 3 ? 'this kernel has no int 0x80 entry (ia32 emulation is off)' : undefined);
  return { noProbe, noInt80 };
}
