// What every command gets from the global flags.
import type { Logger } from './log.js';

export interface Context {
  /** --root (absolute), or undefined for the library's default (/run/berth for root). */
  stateRoot: string | undefined;
  log: Logger;
  debug: boolean;
  /** --rootless true|false|auto: accepted; berth decides from the caller's uid. */
  rootless: 'true' | 'false' | 'auto' | undefined;
  /** Writes to stdout (tests replace it). */
  out: (text: string) => void;
}

/** The library's options naming the state root, omitted when --root was not given. */
export function rootOptions(ctx: Context): { stateRoot?: string } {
  return ctx.stateRoot === undefined ? {} : { stateRoot: ctx.stateRoot };
}
