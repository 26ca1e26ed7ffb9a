// Import progress for people: a pure part (the library's ImportProgress events
// folded into a view, the view rendered as one line of a given width, a
// throttle deciding when to redraw, all on an injected clock, so tests need no
// terminal and no timers) and the writer that puts it on stderr: a bar
// redrawn in place on a TTY, one line per finished step with --progress plain.
// Also the human units the image and volume tables share.
import type { ImportProgress } from '../image/import.js';
import { CliError } from './errors.js';

const BYTE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

/** Docker's sizes (go-units HumanSizeWithPrecision(n, 3)): decimal multiples, 3 significant digits: `1.23MB`, `512B`. */
export function humanBytes(n: number): string {
  let v = Number.isFinite(n) && n > 0 ? n : 0;
  let i = 0;
  // Rounded before the unit is chosen, so 999.7 kB is 1MB, not 1000kB.
  while (i < BYTE_UNITS.length - 1 && Number(v.toPrecision(3)) >= 1000) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(3))}${BYTE_UNITS[i]}`;
}

/** An elapsed time, short: `350ms`, `1.2s`, `2m05s`. */
export function humanElapsed(ms: number): string {
  const t = Math.max(0, Math.round(ms));
  if (t < 1000) return `${t}ms`;
  if (t < 60_000) return `${(t / 1000).toFixed(1)}s`;
  const s = Math.floor(t / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** How long ago, as `docker images` says it (go-units HumanDuration + " ago"). */
export function ago(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const minutes = Math.floor(ms / 60_000);
  const hours = Math.floor(ms / 3_600_000 + 0.5);
  let d: string;
  if (seconds < 1) d = 'Less than a second';
  else if (seconds === 1) d = '1 second';
  else if (seconds < 60) d = `${seconds} seconds`;
  else if (minutes === 1) d = 'About a minute';
  else if (minutes < 60) d = `${minutes} minutes`;
  else if (hours === 1) d = 'About an hour';
  else if (hours < 48) d = `${hours} hours`;
  else if (hours < 24 * 7 * 2) d = `${Math.floor(hours / 24)} days`;
  else if (hours < 24 * 30 * 2) d = `${Math.floor(hours / 24 / 7)} weeks`;
  else if (hours < 24 * 365 * 2) d = `${Math.floor(hours / 24 / 30)} months`;
  else d = `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
  return `${d} ago`;
}

/** What the line shows: a snapshot of the import so far. */
export interface ImportView {
  /** 'start' until the first event. */
  phase: ImportProgress['phase'] | 'start';
  /** Bytes of the source read, and its size when it is a file. */
  archiveBytes: number;
  archiveTotal?: number;
  /** The current layer, 1-based, of `layers`, and its bytes read so far. */
  layer: number;
  layers: number;
  layerBytes: number;
  /** Layer bytes read over all layers, this one included. */
  layerBytesTotal: number;
  /** Layers seen to the end so far: unpacked, and already in the store. */
  unpacked: number;
  existed: number;
  /** Bytes a second in the current phase (archive or layers); undefined before it can be measured. */
  rate?: number;
  elapsedMs: number;
}

/** A step that finished: what --progress plain says, one line each. */
export type ImportStep =
  | { kind: 'archive'; bytes: number }
  | { kind: 'layer'; layer: number; layers: number; digest?: string; bytes: number; existed: boolean };

/**
 * Folds ImportProgress events into an ImportView. A layer's last event looks
 * like its others, so a layer is known finished when the next one (or 'done')
 * is reported; `update` returns the steps that finished with this event.
 */
export class ImportTracker {
  private readonly started: number;
  private phaseStarted: number;
  private phase: ImportView['phase'] = 'start';
  private archiveBytes = 0;
  private current: { key: string; layer: number; layers: number; digest?: string; bytes: number; existed: boolean } | undefined;
  private layerBytesDone = 0;
  private unpacked = 0;
  private existed = 0;
  private archiveReported = false;
  private lastArchiveAt: number | undefined;

  constructor(
    private readonly clock: () => number,
    private readonly archiveTotal?: number,
  ) {
    this.started = this.phaseStarted = clock();
  }

  update(ev: ImportProgress): ImportStep[] {
    const steps: ImportStep[] = [];
    if (ev.phase === 'archive') {
      // A running total of the source's bytes read so far.
      this.archiveBytes = ev.bytes;
      this.lastArchiveAt = this.clock();
      this.phase = 'archive';
      return steps;
    }
    // Anything past the archive: reading it is over.
    if (!this.archiveReported && this.archiveBytes > 0) {
      this.archiveReported = true;
      steps.push({ kind: 'archive', bytes: this.archiveBytes });
    }
    if (ev.phase === 'done') {
      steps.push(...this.closeLayer());
      this.phase = 'done';
      return steps;
    }
    const layer = (ev.layer ?? 0) + 1;
    const layers = ev.layers ?? layer;
    const key = `${layer}/${layers}/${ev.digest ?? ''}`;
    // 'layer-exists' comes once a layer: always a step of its own.
    if (this.current?.key !== key || ev.phase === 'layer-exists') {
      steps.push(...this.closeLayer());
      // The layers' clock starts where reading the archive ended (a layer's first event comes only after its first MiB).
      if (this.phase === 'archive' || this.phase === 'start') this.phaseStarted = this.lastArchiveAt ?? this.started;
      this.current = { key, layer, layers, ...(ev.digest ? { digest: ev.digest } : {}), bytes: 0, existed: ev.phase === 'layer-exists' };
    }
    if (ev.phase === 'layer') this.current.bytes = Math.max(this.current.bytes, ev.bytes);
    this.phase = ev.phase;
    return steps;
  }

  private closeLayer(): ImportStep[] {
    const c = this.current;
    if (!c) return [];
    this.current = undefined;
    this.layerBytesDone += c.bytes;
    if (c.existed) this.existed++;
    else this.unpacked++;
    return [{ kind: 'layer', layer: c.layer, layers: c.layers, ...(c.digest ? { digest: c.digest } : {}), bytes: c.bytes, existed: c.existed }];
  }

  view(): ImportView {
    const now = this.clock();
    const layerBytes = this.current?.bytes ?? 0;
    const layerBytesTotal = this.layerBytesDone + layerBytes;
    const phaseBytes = this.phase === 'archive' ? this.archiveBytes : layerBytesTotal;
    const phaseMs = now - (this.phase === 'archive' ? this.started : this.phaseStarted);
    return {
      phase: this.phase,
      archiveBytes: this.archiveBytes,
      ...(this.archiveTotal !== undefined ? { archiveTotal: this.archiveTotal } : {}),
      layer: this.current?.layer ?? 0,
      layers: this.current?.layers ?? 0,
      layerBytes,
      layerBytesTotal,
      unpacked: this.unpacked,
      existed: this.existed,
      ...(phaseMs > 0 && phaseBytes > 0 ? { rate: (phaseBytes * 1000) / phaseMs } : {}),
      elapsedMs: now - this.started,
    };
  }
}

const MAX_BAR = 30;
const MIN_BAR = 5;

/** `[=====>      ]` with `inner` cells between the brackets. */
export function bar(fraction: number, inner: number): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const filled = Math.round(f * inner);
  const body = filled >= inner ? '='.repeat(inner) : filled === 0 ? ' '.repeat(inner) : `${'='.repeat(filled - 1)}>${' '.repeat(inner - filled)}`;
  return `[${body}]`;
}

/** A terminal's width as the line may use it: 80 when unknown, never below 20. */
export function lineWidth(columns: number | undefined): number {
  return Math.max(20, Number.isFinite(columns) && columns! > 0 ? Math.floor(columns!) : 80);
}

/**
 * One line of at most width - 1 characters (a character in the last column
 * makes some terminals wrap, and the next \r would then redraw the wrong line):
 * the label, a bar when there is room for one, the figures.
 */
export function renderLine(v: ImportView, columns?: number): string {
  const width = lineWidth(columns) - 1;
  const rate = v.rate !== undefined ? `  ${humanBytes(v.rate)}/s` : '';
  let label: string;
  let figures: string;
  let fraction: number | undefined;
  switch (v.phase) {
    case 'start':
      return 'Importing'.slice(0, width);
    case 'archive':
      label = 'Reading archive';
      figures = v.archiveTotal !== undefined ? `${humanBytes(v.archiveBytes)} / ${humanBytes(v.archiveTotal)}${rate}` : `${humanBytes(v.archiveBytes)}${rate}`;
      fraction = v.archiveTotal ? v.archiveBytes / v.archiveTotal : undefined;
      break;
    case 'layer':
    case 'layer-exists':
      label = `Layer ${v.layer}/${v.layers}`;
      figures = v.phase === 'layer-exists' ? 'already stored' : `${humanBytes(v.layerBytes)}${rate}`;
      // The bar counts finished layers: a layer's size is not known ahead.
      fraction = v.layers ? (v.layer - 1) / v.layers : undefined;
      break;
    case 'done':
      return doneLine(v).slice(0, width);
  }
  const text = `${label}  ${figures}`;
  const room = Math.min(MAX_BAR, width - text.length - 4);
  const line = fraction !== undefined && room >= MIN_BAR ? `${label}  ${bar(fraction, room)}  ${figures}` : text;
  return line.slice(0, width);
}

/** The summary once the import is through. */
export function doneLine(v: ImportView): string {
  const n = v.unpacked + v.existed;
  const existed = v.existed ? ` (${v.existed} already stored)` : '';
  // The bytes read: the archive's when there was one to read (also when every layer was stored already), else the layers'.
  const bytes = v.archiveBytes > 0 ? v.archiveBytes : v.layerBytesTotal;
  return `Imported ${n} layer${n === 1 ? '' : 's'}${existed}, ${humanBytes(bytes)} in ${humanElapsed(v.elapsedMs)}`;
}

/** --progress plain's line for a finished step. */
export function stepLine(s: ImportStep): string {
  if (s.kind === 'archive') return `Read archive: ${humanBytes(s.bytes)}`;
  const what = s.digest ? ` ${s.digest.slice(0, 19)}` : '';
  return `Layer ${s.layer}/${s.layers}${what}: ${s.existed ? 'already stored' : humanBytes(s.bytes)}`;
}

/**
 * At most one draw per interval. `wait(now)` is 0 when a draw may happen now
 * (and counts it as done), else the milliseconds until one may.
 */
export class Throttle {
  private last = -Infinity;
  constructor(readonly intervalMs = 100) {}
  wait(now: number): number {
    const due = this.last + this.intervalMs - now;
    if (due > 0) return due;
    this.last = now;
    return 0;
  }
}

export type ProgressMode = 'tty' | 'plain' | 'quiet';

/** --progress auto|tty|plain|quiet (auto: the bar on a terminal, nothing otherwise); --quiet wins. */
export function progressMode(flag: string | undefined, quiet: boolean, isTTY: boolean): ProgressMode {
  if (quiet) return 'quiet';
  if (flag === undefined || flag === 'auto') return isTTY ? 'tty' : 'quiet';
  if (flag === 'tty' || flag === 'plain' || flag === 'quiet') return flag;
  throw new CliError(`invalid --progress value "${flag}": auto, tty, plain or quiet`);
}

/** Where the progress goes: stderr (its width read at each draw: a terminal can be resized). */
export interface ProgressSink {
  write(text: string): void;
  columns?: number | undefined;
}

export interface ProgressTimers {
  clock: () => number;
  setTimer: (fn: () => void, ms: number) => unknown;
  clearTimer: (handle: unknown) => void;
}

const realTimers: ProgressTimers = {
  clock: () => performance.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
};

const REDRAW = '\r\x1b[2K';

/**
 * Draws an import's progress: give `onProgress` to importImage, call
 * `finish(ok)` once it settles. On a TTY the line is redrawn in place at most
 * every 100 ms; an event inside the interval is drawn when it ends (a timer),
 * so the line is never left behind the import. finish ends the line with a
 * newline: the summary on success, the last state on failure (the error line
 * then starts on a line of its own).
 */
export class ImportProgressWriter {
  private readonly tracker: ImportTracker;
  private readonly throttle = new Throttle(100);
  private timer: unknown;
  private drawn = false;
  private finished = false;

  constructor(
    private readonly sink: ProgressSink,
    private readonly mode: ProgressMode,
    archiveTotal?: number,
    private readonly timers: ProgressTimers = realTimers,
  ) {
    this.tracker = new ImportTracker(timers.clock, archiveTotal);
  }

  readonly onProgress = (ev: ImportProgress): void => {
    if (this.finished || this.mode === 'quiet') return;
    const steps = this.tracker.update(ev);
    if (this.mode === 'plain') {
      for (const s of steps) this.sink.write(`${stepLine(s)}\n`);
      return;
    }
    if (ev.phase !== 'done') this.tick();
  };

  private tick(): void {
    if (this.timer !== undefined) return; // a draw is due already; it shows the latest state
    const wait = this.throttle.wait(this.timers.clock());
    if (wait === 0) {
      this.draw();
      return;
    }
    this.timer = this.timers.setTimer(() => {
      this.timer = undefined;
      if (!this.finished) this.tick();
    }, wait);
  }

  private draw(): void {
    this.sink.write(`${REDRAW}${renderLine(this.tracker.view(), this.sink.columns)}`);
    this.drawn = true;
  }

  finish(ok: boolean): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer !== undefined) this.timers.clearTimer(this.timer);
    this.timer = undefined;
    if (this.mode === 'quiet') return;
    if (this.mode === 'plain') {
      if (ok) this.sink.write(`${doneLine(this.tracker.view())}\n`);
      return;
    }
    if (ok) this.sink.write(`${REDRAW}${renderLine({ ...this.tracker.view(), phase: 'done' }, this.sink.columns)}\n`);
    else if (this.drawn) this.sink.write(`${REDRAW}${renderLine(this.tracker.view(), this.sink.columns)}\n`);
  }
}
