// The issue's targets as pass/fail lines, and a compact terminal table.
import { target } from './stats.js';

export function evaluateTargets(res) {
  const s = res.scenarios;
  return [
    target('startup p50 / crun run p50', s.startup?.ratios?.['berth/crun'] ?? null, 0.5),
    target('startup p50 / C floor p50', s.startup?.ratios?.['berth/floor'] ?? null, 2),
    target('exec p50 / crun exec p50', s.exec?.ratios?.['berth/crun'] ?? null, 0.5),
    // Only meaningful when every container actually started.
    target(
      'event-loop delay p99 (ms) during 100 concurrent starts',
      s.concurrency?.succeeded === s.concurrency?.containers ? (s.concurrency?.eventLoopDelay?.p99 ?? null) : null,
      5,
      { lessThan: true },
    ),
    target('startup p50 with 200 running / with 0 running', s.running?.ratio ?? null, 1.3),
    target('startup p50 with ~2 GB heap / with ~50 MB heap', s.heap?.ratio ?? null, 1.3),
    target('seccomp: startup p50 with the default profile − without (ms)', s.seccomp?.startupDeltaMs ?? null, 0.1),
    target('seccomp: 1e6 getppid in the container, with the default profile / without', s.seccomp?.loopRatio ?? null, 1.2),
    target('network: startup p50 with a bridge network + 1 port mapping − without (ms)', s.network?.deltaMs?.bridgeAndPort ?? null, 1.5),
    target('image: startup p50 from an image − from the same files as a plain directory (ms)', s.image?.startup?.deltaMs?.image ?? null, 0.5),
    target('image: bytes of layers copied per container (N at once)', s.image?.bytes?.perContainer?.layerBytes ?? null, 0),
    // Throughput ≥ 1 × podman's, i.e. importImage's p50 ≤ podman load's (wrapper off).
    target('image: import of ~100 MB, importImage p50 / podman load p50', s.image?.import?.ratios?.['berth/podman throughput'] ? Math.round(1000 / s.image.import.ratios['berth/podman throughput']) / 1000 : null, 1),
  ];
}

const pad = (v, n) => String(v ?? '—').padStart(n);

function statsTable(title, stats, notes = {}) {
  console.log(`\n${title}`);
  console.log(`  ${'runner'.padEnd(22)}${pad('n', 5)}${pad('p50', 10)}${pad('p90', 10)}${pad('p99', 10)}   (ms)`);
  for (const [k, v] of Object.entries(stats)) {
    if (!v?.n) continue;
    console.log(`  ${k.padEnd(22)}${pad(v.n, 5)}${pad(v.p50.toFixed(2), 10)}${pad(v.p90.toFixed(2), 10)}${pad(v.p99.toFixed(2), 10)}   ${notes[k] ?? ''}`);
  }
}

export function printTable(res) {
  const s = res.scenarios;
  const fmtRatios = (r) => Object.entries(r ?? {}).map(([k, v]) => `${k} ${v ?? '—'}`).join(' · ');
  if (s.startup?.stats) {
    statsTable('startup (run /bin/true)', s.startup.stats);
    console.log(`  wrapper ${s.startup.wrapperMs} ms subtracted from crun/runc · ${fmtRatios(s.startup.ratios)}`);
  }
  if (s.breakdown?.steps) {
    const b = s.breakdown;
    const parts = Object.entries(b.steps).map(([k, v]) => `${k} ${v.p50}`).join(' + ');
    console.log(`  berth p50 by step (ms): ${parts} (total ${b.total.p50}; floor-pivot ${b.floorPivot.p50})`);
    const marks = Object.entries(b.setupMarksP50 ?? {}).map(([k, v]) => `${k} ${v}`).join(', ');
    if (marks) console.log(`  create's setup marks, ms since create began (p50): ${marks}`);
  }
  if (s.exec?.stats) {
    statsTable('exec (/bin/true into running container)', s.exec.stats);
    console.log(`  ${fmtRatios(s.exec.ratios)}`);
  }
  const c = s.concurrency;
  if (c?.wallMs) {
    console.log(`\nconcurrency: ${c.succeeded}/${c.containers} in ${c.wallMs.toFixed(0)} ms = ${c.containersPerSec}/s; event-loop delay p99 ${c.eventLoopDelay.p99} ms, max ${c.eventLoopDelay.max} ms (idle p99 ${c.idleEventLoopDelay.p99} ms)`);
  }
  if (s.running?.baseline) {
    const r = s.running;
    console.log(`\nscaling: p50 ${r.baseline.p50} ms with 0 running, ${r.loaded.p50} ms with ${r.running} running (×${r.ratio}); started ${r.running} in ${r.startAllMs} ms`);
    console.log(`  floor-pivot-cgroup alongside: ${r.floorCgroup.baseline.p50} -> ${r.floorCgroup.loaded.p50} ms (×${r.floorCgroup.ratio})`);
    const m = r.memory;
    console.log(`memory: ${m.rssPerContainerKB} KB RSS (${m.jsHeapPerContainerKB} KB JS heap+external) and ${m.fdsPerContainer} fds per running container; fds ${m.fdsBefore} -> ${m.fdsDuring} -> ${m.fdsAfter} after destroy`);
  }
  if (s.heap?.small) {
    const h = s.heap;
    console.log(`heap: p50 ${h.small.stats.p50} ms at ${h.small.heapUsedMB} MB heap, ${h.large.stats.p50} ms at ${h.large.heapUsedMB} MB (×${h.ratio})`);
  }
  if (s.seccomp?.startup) {
    const sc = s.seccomp;
    statsTable('seccomp: startup (run /bin/true)', sc.startup);
    statsTable(`seccomp: ${sc.loopCalls} getppid() in the container (ns per call)`, sc.loopNsPerCall);
    const others = Object.entries(sc.runtimeDeltaMs ?? {}).map(([rt, d]) => `${rt} +${d} ms`).join(', ');
    console.log(`  startup +${sc.startupDeltaMs} ms with the default profile${others ? ` (the same profile: ${others})` : ''}; the loop ×${sc.loopRatio}`);
  }
  if (s.userns?.stats) {
    const u = s.userns;
    statsTable('userns: startup (run /bin/true)', u.stats);
    console.log(`  a user namespace +${u.deltaMs.userns} ms; userns 'auto' + idmapped rootfs +${u.deltaMs.auto} ms; crun with the same mapping +${u.deltaMs.crunUserns} ms`);
  }
  if (s.cli?.stats) {
    const c = s.cli;
    statsTable('cli: `<runtime> run --bundle B ID` of /bin/true, spawned', c.stats);
    console.log(`  ${fmtRatios(c.ratios)} (unwrapped: ${c.wrapperMs} ms nsenter taken off runc/crun)`);
    const sp = c.splitMs;
    console.log(`  p50 split (ms): node ${sp.node} · CLI entry +${sp.cliEntry} · a command without the library +${sp.commandWithoutLibrary} · run above node +${sp.runAboveNode}${c.nodeEnvDropped?.length ? ` · Node children without ${c.nodeEnvDropped.join(', ')}` : ''}`);
  }
  if (s.network?.stats) {
    const n = s.network;
    statsTable('network: startup (run /bin/true)', n.stats);
    console.log(`  a bridge network +${n.deltaMs.bridge} ms; with one port mapping +${n.deltaMs.bridgeAndPort} ms (the mapping alone +${n.deltaMs.port} ms)`);
    if (n.deltaMs.podmanBridgeAndPort != null) console.log(`  podman (${n.podman.backend}, ${n.podman.rounds} rounds): --network bridge -p 80 − --network none +${n.deltaMs.podmanBridgeAndPort} ms`);
    else if (n.podman?.skipped) console.log(`  podman: skipped: ${n.podman.skipped}`);
  }
  if (s.image?.startup?.stats) {
    const im = s.image;
    statsTable('image: startup (run /bin/true)', im.startup.stats);
    console.log(`  image − plain dir +${im.startup.deltaMs.image} ms; rootfs overlay − plain +${im.startup.deltaMs.rootfsOverlay} ms; tmpfs state: image − plain +${im.startup.deltaMs.imageTmpfsState} ms`);
    const pc = im.bytes.perContainer;
    console.log(`  ${im.bytes.alive} at once: ${pc.layerBytes} B of layers and ${pc.filesInUpper} files copied per container (${pc.upperWorkBytes} B of upper/work dirs)`);
    statsTable(`image: import of ${(im.import.archive.bytes / 1e6).toFixed(1)} MB`, im.import.stats);
    console.log(`  berth ${im.import.mbPerSec.berth} MB/s, podman ${im.import.mbPerSec.podman} MB/s (×${im.import.ratios['berth/podman throughput']})`);
  }
  for (const [k, v] of Object.entries(s)) if (v?.error) console.log(`\n${k}: FAILED: ${v.error}`);
  for (const [k, v] of Object.entries(res.skipped)) console.log(`${k}: skipped: ${v}`);
  console.log('\ntargets:');
  for (const t of res.targets) {
    const verdict = t.pass == null ? 'n/a ' : t.pass ? 'PASS' : 'FAIL';
    console.log(`  ${verdict}  ${t.name}: ${t.value ?? '—'} (${t.op ?? ''} ${t.limit})`);
  }
}
