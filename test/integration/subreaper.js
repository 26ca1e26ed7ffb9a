// What a test that stands as a subreaper (as conmon or containerd-shim) needs
// to look after the processes that come to it: their state and parent, and a
// reap of one by pid (pidfd_open + waitid(P_PIDFD)), never a wait for any.
import fs from 'node:fs';
import { native } from '../../dist/lib/native/addon.js';

/** /proc/<pid>/stat: state letter and parent pid, or undefined once reaped. */
export function procStat(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0], ppid: Number(rest[1]) };
  } catch {
    return undefined;
  }
}

/** Reaps one exited child by pid: its status, or null if it was not there (or not exited). */
export function reapPid(pid) {
  let fd;
  try {
    fd = native.pidfdOpen(pid);
  } catch {
    return null;
  }
  try {
    return native.reap(fd);
  } catch {
    return null;
  } finally {
    native.close(fd);
  }
}
