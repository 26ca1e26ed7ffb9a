// `berth spec`: runc's default config.json (libcontainer/specconv Example) and
// its rootless variant (ToRootless): what an engine or a person starts a bundle from.
import type { Mount, Spec } from '../../types/oci.js';

const CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

export function defaultSpec(): Spec {
  return {
    ociVersion: '1.2.0',
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: [...CAPS], effective: [...CAPS], permitted: [...CAPS] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'berth',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'cgroup' }],
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

/**
 * runc's ToRootless: a user namespace mapping container root to the caller,
 * no network or cgroup namespace of its own, /sys bound from the host (a new
 * sysfs needs a network namespace one owns), no uid=/gid= mount options (ids
 * the map does not have), and no cgroup resources (a rootless caller cannot
 * be trusted to have them delegated).
 */
export function toRootless(spec: Spec, ids: { uid: number; gid: number }): Spec {
  const linux = spec.linux ?? {};
  const namespaces = (linux.namespaces ?? []).filter((ns) => ns.type !== 'network' && ns.type !== 'user' && ns.type !== 'cgroup');
  namespaces.push({ type: 'user' });
  const mounts: Mount[] = (spec.mounts ?? []).map((m) => {
    if (m.destination.replace(/\/+$/, '') === '/sys') {
      return { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] };
    }
    const options = m.options?.filter((o) => !o.startsWith('uid=') && !o.startsWith('gid='));
    return options ? { ...m, options } : { ...m };
  });
  const { resources: _resources, ...rest } = linux;
  return {
    ...spec,
    mounts,
    linux: {
      ...rest,
      uidMappings: [{ containerID: 0, hostID: ids.uid, size: 1 }],
      gidMappings: [{ containerID: 0, hostID: ids.gid, size: 1 }],
      namespaces,
    },
  };
}
