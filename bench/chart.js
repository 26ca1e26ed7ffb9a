// results -> one SVG a person reads at a glance: per scenario, a horizontal bar
// per runtime at p50 with a whisker out to p99 (tick at p90), the value and the
// ratio that matters printed on the bar's row, then the targets as pass/fail.
// Plain string building: no dependencies.

const W = 1000;
const LABEL_W = 200;
const VALUE_W = 150; // "26.0 ms (p99 41.0)"
const NOTE_W = 210; // the ratio that matters for the row
const PLOT_W = W - LABEL_W - VALUE_W - NOTE_W - 20;
const ROW_H = 26;
const COLORS = { berth: '#0f8b8d', floor: '#555', other: '#8aa1c1' };

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (ms) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
const x = (s) => (s == null ? '—' : `${s.toFixed(2)}×`);

function colorFor(label) {
  if (label.startsWith('berth') || label.includes('running') || label.startsWith('heap')) return COLORS.berth;
  if (label.startsWith('floor')) return COLORS.floor;
  return COLORS.other;
}

/** A panel: title + rows of { label, stats: {p50,p90,p99}, note }. Returns [svg, height]. */
function panel(y0, title, rows) {
  rows = rows.filter((r) => r.stats && r.stats.n);
  if (!rows.length) return ['', 0];
  // Scale to the largest p99, unless one outlier would squash every other bar:
  // then cap at 1.3 × the largest p90 and mark clipped whiskers with an arrow.
  const maxP90 = Math.max(...rows.map((r) => r.stats.p90));
  const maxP99 = Math.max(...rows.map((r) => r.stats.p99));
  const scaleMax = maxP99 > 2 * maxP90 ? maxP90 * 1.3 : maxP99 * 1.05;
  const sx = (ms) => LABEL_W + Math.min(ms / scaleMax, 1) * PLOT_W;
  let out = `<text x="10" y="${y0 + 18}" class="h">${esc(title)}</text>`;
  rows.forEach((r, i) => {
    const y = y0 + 30 + i * ROW_H;
    const mid = y + ROW_H / 2 - 2;
    const { p50, p90, p99 } = r.stats;
    out += `<text x="${LABEL_W - 8}" y="${mid + 4}" text-anchor="end">${esc(r.label)}</text>`;
    out += `<rect x="${LABEL_W}" y="${y + 3}" width="${Math.max(1, sx(p50) - LABEL_W).toFixed(1)}" height="${ROW_H - 10}" fill="${colorFor(r.label)}"/>`;
    out += `<line x1="${sx(p50).toFixed(1)}" x2="${sx(p99).toFixed(1)}" y1="${mid}" y2="${mid}" class="w"/>`;
    out += `<line x1="${sx(p90).toFixed(1)}" x2="${sx(p90).toFixed(1)}" y1="${mid - 4}" y2="${mid + 4}" class="w"/>`;
    if (p99 > scaleMax) out += `<path d="M${sx(p99) - 6},${mid - 5} L${sx(p99)},${mid} L${sx(p99) - 6},${mid + 5}" class="w" fill="none"/>`;
    else out += `<line x1="${sx(p99).toFixed(1)}" x2="${sx(p99).toFixed(1)}" y1="${mid - 7}" y2="${mid + 7}" class="w"/>`;
    const value = `${fmt(p50)} ms  (p99 ${fmt(p99)})`;
    out += `<text x="${LABEL_W + PLOT_W + 12}" y="${mid + 4}">${esc(value)}</text>`;
    if (r.note) out += `<text x="${W - 10}" y="${mid + 4}" text-anchor="end" class="${r.strong ? 'r' : 'n'}">${esc(r.note)}</text>`;
  });
  return [out, 40 + rows.length * ROW_H];
}

export function renderChart(res) {
  const s = res.scenarios;
  const panels = [];
  if (s.startup?.stats) {
    const st = s.startup.stats;
    const r = s.startup.ratios;
    panels.push([
      'Startup — run /bin/true to exit (create + start + wait + delete)',
      [
        { label: 'berth run()', stats: st.berth, note: `${x(r['berth/crun'])} crun · ${x(r['berth/floor'])} floor`, strong: true },
        { label: 'crun run', stats: st.crun, note: `incl. ${s.startup.wrapperMs} ms nsenter` },
        { label: 'runc run', stats: st.runc, note: `incl. ${s.startup.wrapperMs} ms nsenter` },
        { label: 'floor (C, chroot)', stats: st.floor },
        { label: 'floor (C, pivot_root)', stats: st['floor-pivot'] },
        { label: 'floor + cgroups (C)', stats: st['floor-pivot-cgroup'], note: `berth = ${x(r["berth/floor-pivot-cgroup"])} this` },
      ],
    ]);
  }
  if (s.exec?.stats) {
    const st = s.exec.stats;
    panels.push([
      'Exec — /bin/true into a running container',
      [
        { label: 'berth exec()', stats: st.berth, note: `${x(s.exec.ratios['berth/crun'])} crun exec`, strong: true },
        { label: 'crun exec', stats: st.crun, note: `incl. ${s.exec.wrapperMs} ms nsenter` },
        { label: 'runc exec', stats: st.runc, note: `incl. ${s.exec.wrapperMs} ms nsenter` },
      ],
    ]);
  }
  if (s.cli?.stats) {
    const st = s.cli.stats;
    const r = s.cli.ratios;
    const sp = s.cli.splitMs;
    panels.push([
      'CLI — `run --bundle B ID` of /bin/true, spawned as an engine does (no seccomp for any)',
      [
        { label: 'berth run', stats: st['berth run'], note: `${x(r['berth/runc'])} runc · ${x(r['berth/crun'])} crun`, strong: true },
        { label: 'runc run', stats: st['runc run'], note: `incl. ${s.cli.wrapperMs} ms nsenter` },
        { label: 'crun run', stats: st['crun run'], note: `incl. ${s.cli.wrapperMs} ms nsenter` },
        { label: 'node -e 0', stats: st['node -e 0'], note: `berth run = node + ${sp.runAboveNode} ms` },
        { label: 'berth --version', stats: st['berth --version'], note: `node + ${sp.cliEntry} ms` },
        { label: 'berth state <missing>', stats: st['berth state <missing>'], note: `node + ${sp.commandWithoutLibrary} ms` },
      ],
    ]);
  }
  const rc = s.running;
  const hp = s.heap;
  if (rc?.baseline || hp?.small) {
    const rows = [];
    if (rc?.baseline) {
      rows.push({ label: 'berth, 0 running', stats: rc.baseline });
      rows.push({ label: `berth, ${rc.running} running`, stats: rc.loaded, note: `${x(rc.ratio)} baseline`, strong: true });
      if (rc.floorCgroup) {
        rows.push({ label: 'floor+cgroups, 0 running', stats: rc.floorCgroup.baseline });
        rows.push({ label: `floor+cgroups, ${rc.running} running`, stats: rc.floorCgroup.loaded, note: `${x(rc.floorCgroup.ratio)} (kernel share)` });
      }
    }
    if (hp?.small) {
      rows.push({ label: `heap ${hp.small.heapUsedMB} MB`, stats: hp.small.stats });
      rows.push({ label: `heap ${hp.large.heapUsedMB} MB`, stats: hp.large.stats, note: `${x(hp.ratio)} small heap`, strong: true });
    }
    panels.push(['Scaling — berth startup with containers running / a large Node heap', rows]);
  }

  if (s.image?.startup?.stats) {
    const st = s.image.startup.stats;
    const d = s.image.startup.deltaMs;
    panels.push([
      'Images — run /bin/true from an image (overlay) vs the same files as a plain directory',
      [
        { label: 'berth, plain dir', stats: st['plain dir'] },
        { label: 'berth, image', stats: st.image, note: `+${d.image} ms plain dir`, strong: true },
        { label: 'berth, rootfs overlay', stats: st['rootfs overlay'], note: `+${d.rootfsOverlay} ms plain dir` },
        { label: 'berth, plain, tmpfs state', stats: st['plain dir, tmpfs state'] },
        { label: 'berth, image, tmpfs state', stats: st['image, tmpfs state'], note: `+${d.imageTmpfsState} ms` },
        { label: 'crun run, plain dir', stats: st['crun plain dir'], note: `incl. ${s.image.startup.wrapperMs} ms nsenter` },
      ],
    ]);
    const im = s.image.import;
    if (im?.stats) {
      panels.push([
        `Image import — ${(im.archive.bytes / 1e6).toFixed(0)} MB docker-save tarball into a fresh store`,
        [
          { label: 'berth importImage', stats: im.stats['berth importImage'], note: `${im.mbPerSec.berth} MB/s · ${x(im.ratios['berth/podman throughput'])} podman`, strong: true },
          { label: 'podman load', stats: im.stats['podman load'], note: `${im.mbPerSec.podman} MB/s (wrapper off)` },
        ],
      ]);
    }
  }
  let body = '';
  let y = 10;
  for (const [title, rows] of panels) {
    const [svg, h] = panel(y, title, rows);
    body += svg;
    y += h + 10;
  }
  // Text facts: concurrency, memory, then each target's verdict.
  const lines = [];
  const c = s.concurrency;
  if (c?.wallMs) {
    lines.push([`Concurrency — ${c.succeeded}/${c.containers} berth run() at once: ${fmt(c.wallMs)} ms wall, ${c.containersPerSec} containers/s, event-loop delay p99 ${fmt(c.eventLoopDelay.p99)} ms, max ${fmt(c.eventLoopDelay.max)} ms (idle p99 ${fmt(c.idleEventLoopDelay.p99)} ms)`, 'n']);
  }
  if (rc?.memory) {
    const m = rc.memory;
    lines.push([`Memory — per running container: ${m.rssPerContainerKB} KB Node RSS (${m.jsHeapPerContainerKB} KB JS heap), ${m.fdsPerContainer} fds (${rc.running} containers: RSS ${m.rssBeforeMB} → ${m.rssDuringMB} MB after GC; fds ${m.fdsBefore} → ${m.fdsDuring} → ${m.fdsAfter} after destroy)`, 'n']);
  }
  for (const t of res.targets) {
    const mark = t.pass == null ? '–' : t.pass ? '✓' : '✗';
    const cls = t.pass == null ? 'n' : t.pass ? 'ok' : 'bad';
    lines.push([`${mark} ${t.name}: ${t.value ?? 'not measured'} (target ${t.op ?? ''} ${t.limit})`, cls]);
  }
  y += 8;
  for (const [text, cls] of lines) {
    body += `<text x="10" y="${y + 14}" class="${cls}">${esc(text)}</text>`;
    y += 20;
  }
  const env = res.environment;
  const foot = [
    'bar = p50 · whisker p50→p99 · tick = p90 · ratios against crun/runc have the nsenter wrapper cost subtracted (in their favour) · all figures from one interleaved run',
    `${res.name}${res.quick ? ' (--quick)' : ''} · ${env.date} · kernel ${env.kernel} · ${env.cgroupLayout} cgroups · ${env.cpus}× ${env.cpuModel} · node ${env.node} · ${env.crun} · ${env.runc} · berth ${env.berth}`,
  ];
  for (const f of foot) {
    body += `<text x="10" y="${y + 14}" class="f">${esc(f)}</text>`;
    y += 15;
  }
  y += 10;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">
<style>.h{font-weight:600;font-size:14px}.w{stroke:#222;stroke-width:1.2}.n{fill:#444}.r{fill:#0f8b8d;font-weight:600}.ok{fill:#1a7f37;font-weight:600}.bad{fill:#c62828;font-weight:600}.f{fill:#777;font-size:10px}</style>
<rect width="100%" height="100%" fill="#fff"/>
${body}
</svg>
`;
}
