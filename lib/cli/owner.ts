// list's OWNER column: the user owning the container's state directory (runc:
// the uid of its state dir, by name from /etc/passwd, else "#<uid>").
import fs from 'node:fs';

let names: Map<number, string> | undefined;

function passwd(): Map<number, string> {
  if (names) return names;
  names = new Map();
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , uid] = line.split(':');
      if (name && uid !== undefined && /^\d+$/.test(uid) && !names.has(Number(uid))) names.set(Number(uid), name);
    }
  } catch {
    // no passwd: numbers
  }
  return names;
}

export function userName(uid: number): string {
  return passwd().get(uid) ?? `#${uid}`;
}

export function ownerOf(dir: string): string {
  try {
    return userName(fs.statSync(dir).uid);
  } catch {
    return '';
  }
}
