// (7) What a user namespace costs at startup, in one interleaved run: berth
// run() of /bin/true without one, with a fixed mapping (container 0–65535 →
// host 100000–165535, the rootfs used as it is), and with userns: 'auto' (a
// leased range of its own and the rootfs idmapped with it); crun with the same
// fixed mapping and without, for the anchor's own delta.
import { berthConfig, timeBerthRun } from '../berth.js';
import { makeBundle } from '../bundle.js';
import { CGROUP_PARENT } from '../hygiene.js';
import { interleave } from '../interleave.js';
import { summarize } from '../stats.js';

const MAPPING = [{ containerID: 0, hostID: 100000, size: 65536 }];

/** The spec in a new user namespace with MAPPING (OCI form). */
function withUserns(spec) {
  const s = structuredClone(spec);
  s.linux.namespaces = [...s.linux.namespaces.filter((n) => n.type !== 'user'), { type: 'user' }];
  s.linux.uidMappings = MAPPING;
  s.linux.gidMappings = MAPPING;
  return s;
}

export async function userns(ctx, rounds) {
  const { berth, rootfs, crun } = ctx;
  const bundles = [];
  const bundle = (name, userSpec) => {
    const edit = userSpec ? (spec) => Object.assign(spec, withUserns(spec)) : undefined;
    const b = makeBundle({ rootfs, args: ['/bin/true'], cgroupsPath: `${CGROUP_PARENT}/userns-${name}`, edit });
    bundles.push(b);
    return b;
  };
  try {
    const plain = bundle('berth', false).spec;
    const runners = [
      { name: 'no user namespace', run: () => timeBerthRun(berth, berthConfig(plain, ctx.stateRoot)) },
      { name: 'user namespace', run: () => timeBerthRun(berth, berthConfig(withUserns(plain), ctx.stateRoot)) },
      { name: "userns 'auto' + idmapped rootfs", run: () => timeBerthRun(berth, { ...berthConfig(plain, ctx.stateRoot), userns: 'auto' }) },
    ];
    if (crun) {
      const [withDir, withoutDir] = [bundle('crun-userns', true).dir, bundle('crun', false).dir];
      runners.push({ name: 'crun user namespace', run: () => crun.run(withDir) }, { name: 'crun no user namespace', run: () => crun.run(withoutDir) });
    }
    const { samples, dropped } = await interleave(runners, rounds, { label: 'userns: startup' });
    const stats = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
    const p50 = (k) => (stats[k]?.n ? stats[k].p50 : null);
    const delta = (a, b) => (p50(a) != null && p50(b) != null ? Math.round((p50(a) - p50(b)) * 1000) / 1000 : null);
    return {
      rounds,
      mapping: MAPPING,
      stats,
      dropped,
      deltaMs: {
        userns: delta('user namespace', 'no user namespace'),
        auto: delta("userns 'auto' + idmapped rootfs", 'no user namespace'),
        crunUserns: delta('crun user namespace', 'crun no user namespace'),
      },
    };
  } finally {
    for (const b of bundles) b.cleanup();
  }
}
