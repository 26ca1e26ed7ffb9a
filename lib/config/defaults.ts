// Secure defaults: what `runc spec` gives, so a bare { rootfs, process: { args } }
// is as isolated as an OCI bundle made the usual way.
import type { LinuxNamespaceType, Mount } from '../../types/oci.js';

/** runc spec's capability set; inheritable stays empty (CVE-2022-29162). */
export const DEFAULT_CAPABILITIES: readonly string[] = Object.freeze(['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']);

export const DEFAULT_NAMESPACES: readonly LinuxNamespaceType[] = Object.freeze(['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup']);

export function defaultMounts(): Mount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
  ];
}

/** runc spec's cgroup mount: added to the defaults for a container with a cgroup namespace of its own (normalize.ts). */
export const DEFAULT_CGROUP_MOUNT: Mount = Object.freeze({
  destination: '/sys/fs/cgroup',
  type: 'cgroup',
  source: 'cgroup',
  options: Object.freeze(['nosuid', 'noexec', 'nodev', 'relatime', 'ro']) as string[],
});

export const DEFAULT_MASKED_PATHS: readonly string[] = Object.freeze([
  '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
]);

export const DEFAULT_READONLY_PATHS: readonly string[] = Object.freeze([
  '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger',
]);

/** The device nodes every container gets in its /dev (char devices, mode 0666). */
export const DEFAULT_DEVICES: ReadonlyArray<{ path: string; major: number; minor: number }> = Object.freeze([
  { path: '/dev/null', major: 1, minor: 3 },
  { path: '/dev/zero', major: 1, minor: 5 },
  { path: '/dev/full', major: 1, minor: 7 },
  { path: '/dev/random', major: 1, minor: 8 },
  { path: '/dev/urandom', major: 1, minor: 9 },
  { path: '/dev/tty', major: 5, minor: 0 },
]);

export const DEFAULT_DEV_LINKS: ReadonlyArray<{ target: string; path: string }> = Object.freeze([
  { target: '/proc/self/fd', path: '/dev/fd' },
  { target: '/proc/self/fd/0', path: '/dev/stdin' },
  { target: '/proc/self/fd/1', path: '/dev/stdout' },
  { target: '/proc/self/fd/2', path: '/dev/stderr' },
  { target: 'pts/ptmx', path: '/dev/ptmx' },
]);

export const DEFAULT_RLIMITS = Object.freeze([{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }]);

/** PATH for a process whose env has none (what runc spec and Docker use). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
