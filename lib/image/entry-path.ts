// Where a layer's tar entry may land. A hostile layer names `../x`, `/etc/x`,
// or plants a symlink and then a file "through" it; every one of these must end
// inside the layer directory. Names are cleaned lexically with the layer
// directory as `/` (what umoci and Docker do: a leading `/` is the layer's
// root), and parent directories are resolved the way openat2(RESOLVE_IN_ROOT)
// would: a symlink is followed, but `..` and absolute targets stop at the root.
// The layer is unpacked into a fresh 0700 directory nobody else writes to, so
// what is resolved here is what the next syscall sees.
import path from 'node:path';

/** The entry name as components below the layer root; null when it names the root itself. Throws on a NUL byte. */
export function entryComponents(name: string): string[] {
  if (name.includes('\0')) throw new Error('the name holds a NUL byte');
  const out: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      // Climbing above the root is where an escape starts: Docker clamps it,
      // but an archive that tries it is hostile and refused as a whole.
      if (out.length === 0) throw new Error('the name climbs out of the layer with ".."');
      out.pop();
    } else out.push(c);
  }
  return out;
}

export interface Lookup {
  /** 'dir' | 'symlink' | 'other' | null (absent) for a host path. */
  kind(hostPath: string): 'dir' | 'symlink' | 'other' | null;
  readlink(hostPath: string): string;
}

const MAX_LINKS = 255;

/**
 * The host path of `components` inside `root`, every symlink among them
 * followed inside the root (the last one too when followLast). Components that
 * do not exist yet are kept as they are. The result never leaves root.
 */
export function resolveInRoot(root: string, components: readonly string[], lookup: Lookup, followLast = false): string {
  const done: string[] = [];
  const todo = [...components].reverse();
  let links = 0;
  while (todo.length > 0) {
    const c = todo.pop()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      done.pop();
      continue;
    }
    const candidate = path.join(root, ...done, c);
    const last = todo.length === 0;
    const kind = lookup.kind(candidate);
    if (kind === 'symlink' && (!last || followLast)) {
      if (++links > MAX_LINKS) throw new Error('too many levels of symbolic links');
      const target = lookup.readlink(candidate);
      if (target.startsWith('/')) done.length = 0;
      todo.push(...target.split('/').reverse());
      continue;
    }
    done.push(c);
  }
  return path.join(root, ...done);
}

/** True when p is root or below it (lexically). */
export function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}
