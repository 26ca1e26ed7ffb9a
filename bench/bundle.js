// OCI bundles for the bench: config.json straight from `runc spec` (what users of
// runc/crun start from), adjusted only where the bench needs it, so crun, runc
// and berth all run the very same spec.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

let template = null;

/** `runc spec` once per process (it is ~10 ms of Go start-up; no need to repeat it). */
function runcSpec() {
  if (template) return structuredClone(template);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-spec-'));
  try {
    execFileSync('runc', ['spec', '--bundle', dir], { stdio: 'pipe' });
    template = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return structuredClone(template);
}

/**
 * The adjusted spec: absolute rootfs, writable (nothing is written, but a
 * read-only root costs an extra remount in every runtime and users rarely ask
 * for it), no terminal, the given args, and an explicit cgroupsPath so every
 * runtime puts the container in the same, bench-owned place (without it runc
 * would nest under the bench's own cgroup, which is not ours to write to).
 * runc 1.1's spec lacks the cgroup namespace that berth (and runc ≥1.2) use by
 * default; adding it makes all runtimes create the same namespaces.
 */
export function makeSpec({ rootfs, args, cgroupsPath }) {
  const spec = runcSpec();
  spec.root = { path: path.resolve(rootfs), readonly: false };
  spec.process.terminal = false;
  spec.process.args = args;
  const ns = spec.linux.namespaces;
  if (!ns.some((n) => n.type === 'cgroup')) ns.push({ type: 'cgroup' });
  spec.linux.cgroupsPath = cgroupsPath;
  return spec;
}

/**
 * A bundle dir in a temp dir holding config.json; cleanup() removes it.
 * `edit(spec)` changes the spec before it is written (a scenario's own twist).
 */
export function makeBundle({ edit, ...opts }) {
  const spec = makeSpec(opts);
  edit?.(spec);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-bundle-'));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec, null, 2));
  return {
    dir,
    spec,
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
