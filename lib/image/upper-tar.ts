// What of a container's overlay upper directory a layer tar can carry, for
// commit. canonicalLayerTar (layer-tar.ts) writes a directory in Docker's
// form: whiteouts (0:0 character devices) back to `.wh.<name>`, the opaque
// mark (trusted. or user.overlay.opaque) to `.wh..wh..opq`, overlay's own
// xattrs left out, a walk in name order. An upper directory can hold two
// things that form cannot say; scanUpper refuses them first rather than
// commit a layer that differs from what the container saw:
//  - overlay's pointers into the lower layers: `overlay.redirect` (a lower
//    directory renamed, with redirect_dir=on) and `overlay.metacopy` (a file
//    whose data was never copied up, with metacopy=on). Their content lives
//    in a lower layer; Docker's overlay2 driver gives up its fast diff for a
//    full one there. berth's mounts leave both at the kernel's default (off,
//    unless the host's overlay module parameters say otherwise);
//  - a name that starts with `.wh.` and is not a whiteout: in the tar it would
//    read as the whiteout of the rest of its name (Docker has the same gap and
//    commits it as one).
import fs from 'node:fs';
import path from 'node:path';
import { native } from '../native/addon.js';
import { WHITEOUT_PREFIX, isOverlayWhiteout } from './whiteout.js';

/** Something in the upper directory that a layer tar cannot carry: `rel` names it (relative to the upper dir). */
export class UpperEntryError extends Error {
  constructor(readonly rel: string, message: string) {
    super(`${rel}: ${message}`);
  }
}

const POINTER_XATTRS = ['redirect', 'metacopy'].flatMap((x) => [`trusted.overlay.${x}`, `user.overlay.${x}`]);

/** Throws UpperEntryError for the first entry (in walk order) the tar could not represent. */
export function scanUpper(upper: string): void {
  const check = (rel: string, full: string, st: fs.Stats) => {
    if (st.isSymbolicLink()) return;
    const x = native.lgetxattrs(full);
    const p = POINTER_XATTRS.find((n) => n in x);
    if (p) throw new UpperEntryError(rel || '.', `overlay's ${p} xattr: its content is in a lower layer (the overlay was mounted with ${p.endsWith('redirect') ? 'redirect_dir' : 'metacopy'}=on), which a layer tar cannot point to`);
  };
  const walk = (rel: string): void => {
    for (const name of fs.readdirSync(rel === '' ? upper : path.join(upper, rel)).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const full = path.join(upper, r);
      const st = fs.lstatSync(full);
      if (isOverlayWhiteout(st)) continue;
      if (name.startsWith(WHITEOUT_PREFIX)) throw new UpperEntryError(r, `a name starting with "${WHITEOUT_PREFIX}" would be read as a whiteout in a layer tar`);
      check(r, full, st);
      if (st.isDirectory()) walk(r);
    }
  };
  check('', upper, fs.lstatSync(upper));
  walk('');
}
