// process.apparmorProfile, process.selinuxLabel, linux.mountLabel: applied
// only where the host runs that LSM. Elsewhere they are refused, saying so: a
// caller who asked for confinement must never get a container without it.
import { ConfigError } from '../errors.js';
import { hostLsms } from '../host/index.js';
import { optStr } from './check.js';

type Lsm = 'apparmor' | 'selinux';
const LSM_NAME: Record<Lsm, string> = { apparmor: 'AppArmor', selinux: 'SELinux' };

/** The profile or label, or undefined for none ("" is how OCI writers say none). */
export function lsmSetting(v: unknown, field: string, lsm: Lsm): string | undefined {
  const s = optStr(v === null ? undefined : v, field);
  if (s === undefined || s === '') return undefined;
  const host = hostLsms();
  if (!host[lsm]) throw new ConfigError(field, `this host does not run ${LSM_NAME[lsm]} (${host.evidence[lsm]}), so it cannot be applied`);
  if (s.includes('\n')) throw new ConfigError(field, 'must be a single line');
  // berth-init builds "exec <profile>" in a fixed buffer (no allocation after clone).
  if (Buffer.byteLength(s) > 4000) throw new ConfigError(field, 'is longer than 4000 bytes');
  return s;
}
