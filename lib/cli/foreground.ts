// A foreground run/exec: the CLI stands for the container's process, as runc
// does. Signals sent to the CLI go to the process; with a terminal the CLI's
// own stdin/stdout are joined to the pty master (raw mode, window size kept).
import type { TerminalLike } from './handle.js';

const FORWARDED: NodeJS.Signals[] = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGUSR1', 'SIGUSR2', 'SIGCONT'];

/** Forwards the signals until the returned function is called. */
export function forwardSignals(send: (sig: NodeJS.Signals) => void): () => void {
  const handlers = FORWARDED.map((sig) => {
    const h = (): void => {
      try {
        send(sig);
      } catch {
        // the process is gone: its exit ends the CLI
      }
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  return () => {
    for (const [sig, h] of handlers) process.off(sig, h);
  };
}

/** Joins the CLI's terminal to the pty master until the returned function is called. */
export function attachTerminal(term: TerminalLike): () => void {
  const stdin = process.stdin;
  const raw = stdin.isTTY === true;
  if (raw) stdin.setRawMode(true);
  const resize = (): void => {
    if (process.stdout.isTTY && term.resize) term.resize({ width: process.stdout.columns, height: process.stdout.rows });
  };
  resize();
  process.on('SIGWINCH', resize);
  stdin.pipe(term);
  term.pipe(process.stdout);
  return () => {
    process.off('SIGWINCH', resize);
    stdin.unpipe(term);
    if (raw) stdin.setRawMode(false);
    stdin.pause();
  };
}
