// The two spellings of "deleted in this layer": the tar's AUFS names (image
// spec) and overlayfs' own (a 0:0 character device, trusted.overlay.opaque=y).
// Layers are stored in overlay form, so they mount as lowerdirs unchanged;
// commit turns an upper directory back into tar form.
export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';
export const OPAQUE_XATTR = 'trusted.overlay.opaque';

export type TarName =
  | { kind: 'opaque' } // the directory holding the marker hides every lower entry
  | { kind: 'whiteout'; name: string } // `name` beside it is deleted
  | { kind: 'entry' };

/** What the last component of a tar entry's name means. */
export function classifyTarName(base: string): TarName {
  if (base === OPAQUE_MARKER) return { kind: 'opaque' };
  if (base.startsWith(WHITEOUT_PREFIX)) {
    const name = base.slice(WHITEOUT_PREFIX.length);
    if (name === '' || name === '.' || name === '..' || name.startsWith(WHITEOUT_PREFIX)) throw new Error(`malformed whiteout "${base}"`);
    return { kind: 'whiteout', name };
  }
  return { kind: 'entry' };
}

/** The tar entry name that says `name` was deleted. */
export function tarWhiteoutName(name: string): string {
  return WHITEOUT_PREFIX + name;
}

/** Whether an overlay upper-dir inode is a whiteout (a character device 0:0). */
export function isOverlayWhiteout(st: { isCharacterDevice(): boolean; rdev: number }): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}
