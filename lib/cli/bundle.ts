// The bundle's config.json read by the CLI itself: for the terminal rules of
// create/run and as exec's base process (runc's exec starts from it too).
import fs from 'node:fs';
import path from 'node:path';
import type { Spec } from '../../types/oci.js';

/** The bundle's config, or undefined when it cannot be read (the library says why, if it matters). */
export function readBundleSpec(bundle: string | undefined): Spec | undefined {
  if (!bundle) return undefined;
  try {
    const spec = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8')) as unknown;
    return spec && typeof spec === 'object' ? (spec as Spec) : undefined;
  } catch {
    return undefined;
  }
}
