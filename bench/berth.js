// Loads berth from the built package (dist/), or explains why it can't, so the
// crun/runc/floor parts of the bench still run while the core is being built.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// BERTH_ROOT: bench a built copy of the package elsewhere (e.g. a snapshot taken
// while the working tree is being rebuilt); default: this repo.
const repo = path.resolve(process.env.BERTH_ROOT ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));

/** { berth, reason, hasExec }: berth is the module namespace or null. */
export async function loadBerth() {
  const entry = path.join(repo, 'dist', 'lib', 'index.js');
  if (!fs.existsSync(entry)) return { berth: null, reason: 'berth not built yet (no dist/lib/index.js; run npm run build)' };
  try {
    const berth = await import(pathToFileURL(entry).href);
    if (typeof berth.run !== 'function') return { berth: null, reason: 'berth built but exports no run()' };
    const hasExec = typeof berth.Container?.prototype?.exec === 'function';
    return { berth, reason: null, hasExec };
  } catch (err) {
    return { berth: null, reason: `berth failed to load: ${err.message}` };
  }
}

/** A private state root so the bench never writes to /run/berth; cleanup() removes it. */
export function berthStateRoot() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-berth-state-'));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

let seq = 0;

// What runc (libcontainer/specconv AllowedDevices) and crun append to the
// spec's device rules on their own: `runc spec` says only "deny all", and the
// runtimes add these so /dev/null & co. can be made and used. berth (as of
// 61de0b7) applies the spec's rules literally, before making /dev nodes, and
// fails with "mknodat /dev/null: EPERM". Handing berth the expanded list gives
// it the very rules runc/crun end up enforcing (same work, same end state).
/**
 * berth's config for the bench: the same runc-spec-derived spec crun/runc get,
 * with a unique id and, with ownCgroup, a cgroup of its own for containers that
 * live at the same time. Those are top-level siblings (<cgroupPrefix>-<n>), not
 * children of one shared parent: berth 8561cc0 raced when concurrent creates
 * both made a missing v1 parent (a loser copied the parent's still-empty
 * cpuset.cpus, then cgroup.procs failed with ENOSPC); 61de0b7 no longer does,
 * and flat paths keep older builds measurable too.
 *
 * Otherwise the spec is given as is: berth skips the ambient caps `runc spec`
 * lists without inheritable ones and appends the default device allow list,
 * as runc and crun do.
 */
export function berthConfig(spec, stateRoot, { cgroupPrefix, args } = {}) {
  const n = ++seq;
  const id = `bench-berth-${process.pid}-${n}`;
  // A spec without a seccomp profile runs unfiltered under crun and runc, as it
  // would under berth from a bundle; given as an object berth would apply its
  // default profile (the seccomp scenario measures that).
  const linux = { seccomp: null, ...spec.linux, ...(cgroupPrefix ? { cgroupsPath: `${cgroupPrefix}-${n}` } : {}) };
  const proc = { ...spec.process, ...(args ? { args } : {}) };
  return { ...spec, id, stateRoot, linux, process: proc };
}

/** One berth run() of the spec's process; resolves ms. Same work as `crun run`. */
export async function timeBerthRun(berth, config) {
  const t0 = process.hrtime.bigint();
  const r = await berth.run(config);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.exitCode !== 0) throw new Error(`berth run: exit ${r.exitCode ?? r.signal}: ${r.stderr.toString().trim()}`);
  return ms;
}
