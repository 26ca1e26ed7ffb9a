// How a reference the caller types finds a stored image: `busybox` is
// `busybox:latest`, and archives spell registry prefixes that callers leave
// out (`docker.io/library/busybox:latest`, podman's `localhost/x:latest`).
const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/** A name with its tag: `repo` -> `repo:latest`; a `@sha256:` or a tag after the last `/` is kept. */
export function withTag(name: string): string {
  const lastSlash = name.lastIndexOf('/');
  if (name.includes('@') || name.slice(lastSlash + 1).includes(':')) return name;
  return `${name}:latest`;
}

/** The stored names a reference may mean, most specific first. */
export function nameCandidates(ref: string): string[] {
  const tagged = withTag(ref);
  const out = [ref, tagged];
  const firstPart = tagged.split('/')[0];
  const hasRegistry = tagged.includes('/') && (firstPart.includes('.') || firstPart.includes(':') || firstPart === 'localhost');
  if (!hasRegistry) {
    out.push(`localhost/${tagged}`);
    out.push(tagged.includes('/') ? `docker.io/${tagged}` : `docker.io/library/${tagged}`);
  }
  return [...new Set(out)];
}

/** Whether ref is a full image id (`sha256:<64 hex>`). */
export function isImageId(ref: string): boolean {
  return DIGEST_RE.test(ref);
}

/** A file name for a name: reversible, no `/`. */
export function nameFile(name: string): string {
  return encodeURIComponent(name);
}
export function nameFromFile(file: string): string {
  return decodeURIComponent(file);
}

/** Whether a string can be an image name (refused otherwise, before anything is written). */
export function isValidName(name: string): boolean {
  return name.length > 0 && name.length <= 255 && /^[a-z0-9][a-z0-9._\-/:@]*$/i.test(name) && !name.includes('..') && !name.includes('//');
}
