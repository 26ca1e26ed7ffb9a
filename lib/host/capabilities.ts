// The highest capability number this kernel knows: capabilities above it cannot
// be dropped from the bounding set (EINVAL), so the child stops there.
import fs from 'node:fs';
import { CAPABILITIES } from '../kernel/abi.js';

let cached: number | undefined;

export function capLast(): number {
  if (cached === undefined) {
    try {
      cached = Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
    } catch {
      cached = CAPABILITIES.length - 1;
    }
  }
  return cached;
}
