// Which Linux security modules are active here. The authoritative list is
// securityfs's /sys/kernel/security/lsm; where securityfs is not mounted
// (containers, minimal VMs) each LSM's own trace is read instead, as runc does:
// AppArmor's module parameter, SELinux's selinuxfs mount.
import fs from 'node:fs';

export interface HostLsms {
  apparmor: boolean;
  selinux: boolean;
  /** Why each one is taken as absent or present, for messages. */
  evidence: { apparmor: string; selinux: string };
}

function readOrNull(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function detect(): HostLsms {
  const list = readOrNull('/sys/kernel/security/lsm');
  if (list !== null) {
    const active = list.trim().split(',').filter(Boolean);
    const why = `the active LSMs are: ${active.join(',') || 'none'}`;
    return { apparmor: active.includes('apparmor'), selinux: active.includes('selinux'), evidence: { apparmor: why, selinux: why } };
  }
  const apparmor = (readOrNull('/sys/module/apparmor/parameters/enabled') ?? '').startsWith('Y') && fs.existsSync('/proc/self/attr/apparmor');
  const selinux = / - selinuxfs /.test(readOrNull('/proc/self/mountinfo') ?? '');
  return {
    apparmor,
    selinux,
    evidence: {
      apparmor: apparmor ? 'its module is enabled' : '/sys/module/apparmor/parameters/enabled does not say Y',
      selinux: selinux ? 'selinuxfs is mounted' : 'no selinuxfs is mounted',
    },
  };
}

let cached: HostLsms | undefined;

/** Read once per process: an LSM is chosen at boot. */
export function hostLsms(): HostLsms {
  cached ??= detect();
  return cached;
}
