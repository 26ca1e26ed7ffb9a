// What a volume may be called, and who may hold one: pure checks, run before
// anything touches the store.
import crypto from 'node:crypto';

/** Docker's rule for volume names, at most 255 bytes (one directory name). */
export const VOLUME_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** The container id rule of createContainer. */
export const CONTAINER_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Why `name` cannot be a volume name, or undefined. */
export function volumeNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return `a volume name is a string, not ${name === null ? 'null' : typeof name}`;
  if (name.length === 0) return 'a volume name cannot be empty';
  if (Buffer.byteLength(name) > 255) return 'a volume name has at most 255 bytes';
  if (!VOLUME_NAME_RE.test(name)) return `invalid volume name ${JSON.stringify(name)}: only [a-zA-Z0-9][a-zA-Z0-9_.-]* are allowed`;
  return undefined;
}

/** Why `labels` cannot be a volume's labels, or undefined. */
export function labelsProblem(labels: unknown): string | undefined {
  if (labels === undefined) return undefined;
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) return 'labels are an object of strings';
  for (const [k, v] of Object.entries(labels)) {
    if (k === '') return 'a label key cannot be empty';
    if (typeof v !== 'string') return `label ${JSON.stringify(k)} is not a string`;
  }
  return undefined;
}

/** An anonymous volume's name: 64 hex digits, as Docker makes them. */
export function anonymousVolumeName(): string {
  return crypto.randomBytes(32).toString('hex');
}

/** Same keys, same values. */
export function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}
