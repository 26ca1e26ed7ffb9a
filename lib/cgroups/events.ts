// Waiting on a cgroup2 "key value" file (cgroup.events, memory.events). The kernel sends
// inotify/fanotify modify events on these files when they change, so fs.watch wakes us
// promptly; a short poll backs it up because an event can fire between our read and the
// watch being armed, and because not every fs.watch backend sees kernfs notifications.
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { parseFlatKeyed, readOptional } from './fsio.js';

export async function waitForKeyValue(path: string, key: string, value: string, timeoutMs: number, pollMs = 50): Promise<boolean> {
  let wake: (() => void) | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(path, { persistent: false }, () => wake?.());
    watcher.on('error', () => undefined);
  } catch {
    watcher = undefined; // fall back to polling alone
  }
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (parseFlatKeyed(await readOptional(path)).get(key) === value) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(pollMs, left));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    watcher?.close();
  }
}

/**
 * Calls `cb` whenever the counter `key` in `path` grows. Returns a stop function.
 * The baseline is read synchronously when watching starts (one small cgroupfs
 * read): increments before that are history (see oomKillCount()), not events,
 * and one that happens while a slow thread pool would still be reading an
 * asynchronous baseline cannot be mistaken for history.
 */
export function watchCounter(
  path: string,
  key: string,
  cb: () => void,
  pollMs?: number,
  /** Another way to be woken (an eventfd, say); returns how to stop it. */
  wakeSource?: (wake: () => void) => () => void,
): () => void {
  let seen: number | undefined;
  try {
    seen = Number(parseFlatKeyed(readFileSync(path, 'utf8')).get(key) ?? 0);
  } catch {
    // not there (yet): the first check sets the baseline
  }
  let stopped = false;
  let checking = false;
  let again = false;
  const check = async (): Promise<void> => {
    if (checking) {
      again = true;
      return;
    }
    checking = true;
    try {
      do {
        again = false;
        const n = Number(parseFlatKeyed(await readOptional(path)).get(key) ?? 0);
        if (stopped) return;
        if (seen !== undefined && n > seen) {
          seen = n;
          cb();
        } else if (seen === undefined || n > seen) {
          seen = n;
        }
      } while (again && !stopped);
    } catch {
      // The cgroup went away (destroyed); nothing more to report.
    } finally {
      checking = false;
    }
  };
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopSource: (() => void) | undefined;
  if (wakeSource) {
    stopSource = wakeSource(() => void check());
    pollMs = undefined;
  } else if (pollMs === undefined) {
    try {
      watcher = watch(path, { persistent: false }, () => void check());
      watcher.on('error', () => undefined);
    } catch {
      pollMs = 100;
    }
  }
  if (pollMs !== undefined) {
    // Unref'd: watching for OOM must never keep the process alive by itself.
    timer = setInterval(() => void check(), pollMs);
    timer.unref();
  }
  void check();
  return () => {
    stopped = true;
    stopSource?.();
    watcher?.close();
    if (timer) clearInterval(timer);
  };
}
