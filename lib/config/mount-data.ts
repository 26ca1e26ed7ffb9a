// Filesystem options (mount(2)'s data string) of the types berth mounts by
// default, checked the way the kernel's own parsers check them (fs_parser.c,
// mm/shmem.c, fs/devpts, fs/proc) — but only where the answer is the same on
// every kernel berth runs on (5.12+). Everything else (other filesystems, keys
// a newer kernel may know, values only the running system can judge) is left
// to the kernel, which is then reported at step mount with the destination.
import { ConfigError } from '../errors.js';
import { lookup } from './check.js';

/** An error text for a value the kernel refuses, or null. `undefined` = the option had no "=". */
type ValueCheck = (value: string | undefined) => string | null;

const U32_MAX = 0xffffffff;

// kstrtouint(s, 0): an optional "+", then hex (0x..), octal (0..) or decimal.
function parseBase0(s: string): number | null {
  const m = /^\+?(?:0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([1-9][0-9]*))\n?$/.exec(s);
  if (!m) return null;
  return m[1] !== undefined ? parseInt(m[1], 16) : m[2] !== undefined ? parseInt(m[2], 8) : Number(m[3]);
}

const needsValue = (v: string | undefined): v is undefined => v === undefined;

const flag: ValueCheck = (v) => (v === undefined ? null : 'takes no value');

const u32: ValueCheck = (v) => {
  if (needsValue(v)) return 'needs a value';
  const n = parseBase0(v);
  return n === null || n > U32_MAX ? 'must be an unsigned 32-bit number' : null;
};

// fsparam_uid/gid, or a u32 checked with uid_valid(): (uid_t)-1 is no id.
const id: ValueCheck = (v) => u32(v) ?? (parseBase0(v!) === U32_MAX ? 'must be a valid id (not 4294967295)' : null);

const octal: ValueCheck = (v) => {
  if (needsValue(v)) return 'needs a value';
  const m = /^\+?([0-7]+)\n?$/.exec(v);
  return m === null || parseInt(m[1]!, 8) > U32_MAX ? 'must be an octal number' : null;
};

// memparse(): a base-0 number (digits optional), one K/M/G/T/P/E suffix, then
// for size only a "%" of RAM; nothing may follow.
const memSize = (percent: boolean): ValueCheck => (v) => {
  if (needsValue(v) || v === '') return 'needs a value';
  const re = percent ? /^(?:0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)?[KkMmGgTtPpEe]?%?$/ : /^(?:0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)?[KkMmGgTtPpEe]?$/;
  return re.test(v) ? null : `must be a size like 64m${percent ? ' or 50%' : ''}`;
};

const oneOf = (...allowed: string[]): ValueCheck => (v) => (v !== undefined && allowed.includes(v) ? null : `must be one of ${allowed.join(', ')}`);

// hidepid: 0, 1, 2, 4 or their names.
const hidepid: ValueCheck = (v) => {
  if (needsValue(v)) return 'needs a value';
  if (['off', 'noaccess', 'invisible', 'ptraceable'].includes(v)) return null;
  const n = parseBase0(v);
  return n !== null && [0, 1, 2, 4].includes(n) ? null : 'must be off, noaccess, invisible, ptraceable (or 0, 1, 2, 4)';
};

// s32 parse, then at most NR_UNIX98_PTY_MAX ptys.
const maxPtys: ValueCheck = (v) => {
  if (needsValue(v)) return 'needs a value';
  const n = v.startsWith('-') ? -(parseBase0(v.slice(1)) ?? NaN) : parseBase0(v);
  return n === null || !(n >= 0 && n <= 1 << 20) ? 'must be a number of ptys from 0 to 1048576' : null;
};

interface FsOptions {
  params: Record<string, ValueCheck>;
  /** True when the filesystem takes no other keys on any kernel (unknown ones are EINVAL). */
  closed: boolean;
}

const FILESYSTEMS: Record<string, FsOptions> = {
  tmpfs: {
    closed: false,
    params: { size: memSize(true), nr_blocks: memSize(false), nr_inodes: memSize(false), mode: octal, uid: id, gid: id, inode32: flag, inode64: flag, noswap: flag },
  },
  devpts: { closed: true, params: { uid: id, gid: id, mode: octal, ptmxmode: octal, newinstance: flag, max: maxPtys } },
  proc: { closed: false, params: { gid: u32, hidepid, subset: oneOf('pid') } },
  mqueue: { closed: true, params: {} },
  sysfs: { closed: true, params: {} },
};

// Taken by a security module (SELinux, Smack) before the filesystem sees them;
// whether one is active is the kernel's to say.
const LSM_KEYS = new Set(['context', 'fscontext', 'defcontext', 'rootcontext', 'seclabel', 'smackfsdef', 'smackfsfloor', 'smackfshat', 'smackfsroot', 'smackfstransmute']);

/** mount(2) copies one page of data and cuts it there: 4 KiB pages are the smallest. */
const MAX_DATA = 4095;

/** `options` are the data options (flags already taken out) with their index in `<field>.options`. */
export function checkFsOptions(type: string | undefined, options: Array<{ opt: string; index: number }>, field: string): void {
  const data = options.map((o) => o.opt).join(',');
  if (Buffer.byteLength(data) > MAX_DATA) {
    throw new ConfigError(`${field}.options`, `filesystem options take ${Buffer.byteLength(data)} bytes; mount(2) reads at most ${MAX_DATA}`);
  }
  const fs = type === undefined ? undefined : lookup(FILESYSTEMS, type);
  if (!fs) return;
  for (const { opt, index } of options) {
    const eq = opt.indexOf('=');
    const key = eq < 0 ? opt : opt.slice(0, eq);
    const value = eq < 0 ? undefined : opt.slice(eq + 1);
    // The kernel skips empty options; one that starts with "=" (no name) is
    // skipped by newer kernels and refused (EINVAL) by older ones: refused here.
    if (opt === '' || LSM_KEYS.has(key)) continue;
    const check = lookup(fs.params, key);
    const at = `${field}.options[${index}]`;
    if (eq === 0) throw new ConfigError(at, `"${opt.slice(0, 64)}" has no option name`);
    // Kernel option names are lowercase words; anything else ("toString",
    // "/etc", "a b") is an option of no kernel, old or new.
    if (!/^[a-z0-9_]+$/.test(key)) throw new ConfigError(at, `"${opt.slice(0, 64)}" is not a ${type} option`);
    if (!check) {
      if (fs.closed) {
        const known = Object.keys(fs.params);
        throw new ConfigError(at, `${type} has no option "${key}"${known.length ? ` (it takes ${known.join(', ')})` : ' (it takes none)'}`);
      }
      continue;
    }
    const why = check(value);
    if (why !== null) throw new ConfigError(at, `${type} option ${key}: ${why}, got "${opt.slice(0, 64)}"`);
  }
}
