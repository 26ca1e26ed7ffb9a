// --log FILE / --log-format text|json / --debug, as runc (logrus) writes them:
//   text: time="2026-01-02T15:04:05Z" level=error msg="container \"x\" does not exist"
//   json: {"level":"error","msg":"container \"x\" does not exist","time":"2026-01-02T15:04:05Z"}
// one record a line, appended (conmon and podman read the last error line of the file).
import fs from 'node:fs';
import { CliError } from './errors.js';

export type LogFormat = 'text' | 'json';
export type LogLevel = 'debug' | 'info' | 'warning' | 'error';

/** Go's time.RFC3339 ("2006-01-02T15:04:05Z07:00") in local time: Z for UTC, else the offset. */
export function rfc3339(d: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  const base = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  const off = -d.getTimezoneOffset();
  if (off === 0) return `${base}Z`;
  const a = Math.abs(off);
  return `${base}${off > 0 ? '+' : '-'}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

/** logrus quotes a text value unless it is made only of [A-Za-z0-9-._/@^+]. */
function textValue(s: string): string {
  return s !== '' && /^[A-Za-z0-9\-._/@^+]+$/.test(s) ? s : JSON.stringify(s);
}

export function formatRecord(level: LogLevel, msg: string, time: Date, format: LogFormat): string {
  const t = rfc3339(time);
  if (format === 'json') return JSON.stringify({ level, msg, time: t });
  return `time=${textValue(t)} level=${level} msg=${textValue(msg)}`;
}

export function parseLogFormat(v: string | undefined): LogFormat {
  if (v === undefined || v === 'text') return 'text';
  if (v === 'json') return 'json';
  throw new CliError(`invalid log-format: ${v}`);
}

export interface LoggerOptions {
  file?: string;
  format?: LogFormat;
  debug?: boolean;
}

export class Logger {
  readonly file: string | undefined;
  readonly format: LogFormat;
  readonly debugEnabled: boolean;
  /** Where records go without --log (tests replace it). */
  stderr: (line: string) => void = (line) => process.stderr.write(line);

  constructor(opts: LoggerOptions = {}) {
    this.file = opts.file;
    this.format = opts.format ?? 'text';
    this.debugEnabled = opts.debug ?? false;
  }

  debug(msg: string): void {
    if (this.debugEnabled) this.write('debug', msg);
  }

  warn(msg: string): void {
    this.write('warning', msg);
  }

  /**
   * An error record goes to the --log file only: the CLI says the error itself
   * on stderr (`berth: …`), once.
   */
  error(msg: string): void {
    if (this.file !== undefined) this.write('error', msg);
  }

  private write(level: LogLevel, msg: string): void {
    const line = `${formatRecord(level, msg, new Date(), this.file !== undefined ? this.format : 'text')}\n`;
    if (this.file === undefined) {
      this.stderr(line);
      return;
    }
    try {
      // Synchronous and appended: the record is in the file before the process exits.
      fs.appendFileSync(this.file, line, { mode: 0o644 });
    } catch (err) {
      process.stderr.write(`berth: cannot write log ${this.file}: ${(err as Error).message}\n${line}`);
    }
  }
}
