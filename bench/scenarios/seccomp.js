// (6) What seccomp costs, in one interleaved run:
// - startup: berth run() of /bin/true with the default profile vs with
//   linux.seccomp: null (same spec otherwise). The profile is compiled once
//   (the warm-up rounds pay it), so the difference is installing the filter and
//   running the few syscalls of the exec through it. crun and runc run the same
//   profile (berth's, as OCI JSON) and none, in the same interleave.
// - a syscall-heavy loop: 1e6 getppid() in the seccomp test probe
//   (test/fixtures/seccomp-probe.c) inside the container, with vs without the
//   default profile, timed by the probe itself (ns per call): the filter's
//   per-syscall price, which a linear 400-rule filter would make several times
//   the syscall's own.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { berthConfig, timeBerthRun } from '../berth.js';
import { makeBundle, makeSpec } from '../bundle.js';
import { CGROUP_PARENT } from '../hygiene.js';
import { interleave } from '../interleave.js';
import { ratio, summarize } from '../stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const LOOP_CALLS = 1_000_000;

/** The probe, statically linked, in a temporary copy of the rootfs. */
function probeRootfs(rootfs) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-seccomp-'));
  execFileSync('cp', ['-a', `${rootfs}/.`, dir]);
  execFileSync('cc', ['-static', '-O2', '-pthread', '-o', path.join(dir, 'probe'), path.join(repo, 'test/fixtures/seccomp-probe.c')], { stdio: 'inherit' });
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export async function seccomp(ctx, { rounds, loopRounds }) {
  const { berth } = ctx;
  const probe = probeRootfs(ctx.rootfs);
  const bundles = [];
  try {
    // `runc spec` has no linux.seccomp: as an object berth gives it the default profile.
    const spec = (args, name) => makeSpec({ rootfs: probe.dir, args, cgroupsPath: `${CGROUP_PARENT}/seccomp-${name}` });
    const config = (s, withProfile) => {
      const c = berthConfig(s, ctx.stateRoot);
      if (withProfile) delete c.linux.seccomp;
      else c.linux.seccomp = null;
      return c;
    };
    const trueSpec = spec(['/bin/true'], 'startup');
    // crun and runc get the very profile berth applies (as OCI JSON in
    // config.json), so their deltas say what the same filter costs them.
    const probeC = await berth.createContainer({ ...config(trueSpec, true), id: `bench-seccomp-profile-${process.pid}` });
    const profile = JSON.parse(JSON.stringify(probeC.config.seccomp));
    await probeC.destroy();
    const bundle = (withProfile, name) => {
      const edit = withProfile ? (spec) => (spec.linux.seccomp = profile) : undefined;
      const b = makeBundle({ rootfs: probe.dir, args: ['/bin/true'], cgroupsPath: `${CGROUP_PARENT}/seccomp-${name}`, edit });
      bundles.push(b);
      return b.dir;
    };
    const oci = [ctx.crun, ctx.runc].filter(Boolean).flatMap((rt) => {
      const [withDir, withoutDir] = [bundle(true, `${rt.name}-profile`), bundle(false, `${rt.name}-none`)];
      return [
        { name: `${rt.name} default profile`, run: () => rt.run(withDir) },
        { name: `${rt.name} no filter`, run: () => rt.run(withoutDir) },
      ];
    });
    const startup = await interleave(
      [
        { name: 'default profile', run: () => timeBerthRun(berth, config(trueSpec, true)) },
        { name: 'no filter', run: () => timeBerthRun(berth, config(trueSpec, false)) },
        ...oci,
      ],
      rounds,
      { label: 'seccomp: startup' },
    );
    const loopSpec = spec(['/probe', 'loop', String(LOOP_CALLS)], 'loop');
    const perCall = async (withProfile) => {
      const r = await berth.run(config(loopSpec, withProfile));
      const m = /ns-per-call ([\d.]+)/.exec(r.stdout.toString());
      if (r.exitCode !== 0 || !m) throw new Error(`probe loop: exit ${r.exitCode ?? r.signal}: ${r.stderr.toString().trim()}`);
      return Number(m[1]);
    };
    const loop = await interleave(
      [
        { name: 'default profile', run: () => perCall(true) },
        { name: 'no filter', run: () => perCall(false) },
      ],
      loopRounds,
      { label: 'seccomp: getppid loop', warmup: 1 },
    );
    const s = Object.fromEntries(Object.entries(startup.samples).map(([k, v]) => [k, summarize(v)]));
    const l = Object.fromEntries(Object.entries(loop.samples).map(([k, v]) => [k, summarize(v)]));
    const p50 = (stats, k) => (stats[k]?.n ? stats[k].p50 : null);
    const withP = p50(s, 'default profile');
    const without = p50(s, 'no filter');
    const delta = (a, b) => (a != null && b != null ? Math.round((a - b) * 1000) / 1000 : null);
    const runtimeDeltaMs = Object.fromEntries(
      [ctx.crun, ctx.runc].filter(Boolean).map((rt) => [rt.name, delta(p50(s, `${rt.name} default profile`), p50(s, `${rt.name} no filter`))]),
    );
    return {
      rounds,
      loopRounds,
      loopCalls: LOOP_CALLS,
      startup: s,
      loopNsPerCall: l,
      dropped: { ...startup.dropped, ...loop.dropped },
      startupDeltaMs: delta(withP, without),
      // The same profile's startup cost under crun and runc, from the same run.
      runtimeDeltaMs,
      loopRatio: ratio(p50(l, 'default profile'), p50(l, 'no filter')),
    };
  } finally {
    for (const b of bundles) b.cleanup();
    probe.cleanup();
  }
}
