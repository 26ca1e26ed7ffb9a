// features(): the runtime-spec features document (features.md,
// features-linux.md) for this build on this host, so a caller can ask before
// it configures. It lists what berth's validation accepts and this kernel can
// do now: a namespace type the kernel lacks, an LSM the host does not run or a
// memory policy mode it does not know is left out, because berth refuses it
// here (the spec would list what the build recognizes; an engine that
// trusts the list must not then be refused).
import { ACTIONS, ARCHITECTURES, FLAGS, OPERATORS } from './seccomp/vocabulary.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRootOf } from './package-root.js';
import type { LinuxNamespaceType } from '../types/oci.js';
import { MOUNT_OPTIONS } from './config/mounts.js';
import { HOOK_NAMES } from './config/hooks.js';
import { memoryPolicyModes } from './config/memory-policy.js';
import { normalizeNamespaces } from './config/namespaces.js';
import { kernelHasNamespace } from './host/index.js';
import { capLast, hostLsms } from './host/index.js';
import { CAPABILITIES, CLONE_NS } from './kernel/abi.js';
import { MPOL_FLAGS } from './kernel/task-attrs.js';

export interface Features {
  ociVersionMin: string;
  ociVersionMax: string;
  /** Hook names berth's config accepts (lib/config/hooks.ts). */
  hooks: string[];
  mountOptions: string[];
  linux: {
    namespaces: LinuxNamespaceType[];
    capabilities: string[];
    cgroup: { v1: boolean; v2: boolean; systemd: boolean; systemdUser: boolean; rdma: boolean };
    seccomp: { enabled: boolean; actions: string[]; operators: string[]; archs: string[]; knownFlags: string[]; supportedFlags: string[] };
    apparmor: { enabled: boolean };
    selinux: { enabled: boolean };
    memoryPolicy: { modes: string[]; flags: string[] };
    intelRdt: { enabled: boolean };
    mountExtensions: { idmap: { enabled: boolean } };
    netDevices: { enabled: boolean };
  };
  potentiallyUnsafeConfigAnnotations: string[];
  annotations: Record<string, string>;
}

const packageRoot = packageRootOf(import.meta.url);
let version: string | undefined;

function berthVersion(): string {
  try {
    version ??= String(JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')).version);
  } catch {
    version = 'unknown';
  }
  return version;
}

function acceptedNamespaces(): LinuxNamespaceType[] {
  return (Object.keys(CLONE_NS) as LinuxNamespaceType[]).sort().filter((type) => {
    try {
      normalizeNamespaces([{ type }], 'linux.namespaces');
      return true;
    } catch {
      return false;
    }
  });
}

/** WAIT_KILLABLE_RECV came with Linux 5.19; an older kernel refuses the filter with it (EINVAL). */
function kernelHasWaitKillableRecv(release: string = os.release()): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return !!m && (Number(m[1]) > 5 || (Number(m[1]) === 5 && Number(m[2]) >= 19));
}

// What linux.seccomp accepts: every action (NOTIFY answered by seccompNotify
// or an agent at listenerPath); LoongArch needs a newer libseccomp than the
// one this build links.
function seccompFeatures(): Features['linux']['seccomp'] {
  return {
    enabled: true,
    actions: Object.keys(ACTIONS),
    operators: [...OPERATORS],
    archs: Object.keys(ARCHITECTURES).filter((a) => a !== 'SCMP_ARCH_LOONGARCH64'),
    knownFlags: Object.keys(FLAGS),
    supportedFlags: Object.keys(FLAGS).filter((f) => f !== 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV' || kernelHasWaitKillableRecv()),
  };
}

/** A fresh document on every call (the caller may change it). */
export function features(): Features {
  const lsms = hostLsms();
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: '1.3.0',
    hooks: [...HOOK_NAMES],
    mountOptions: [...MOUNT_OPTIONS],
    linux: {
      namespaces: acceptedNamespaces(),
      capabilities: CAPABILITIES.slice(0, capLast() + 1),
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: false },
      seccomp: seccompFeatures(),
      apparmor: { enabled: lsms.apparmor },
      selinux: { enabled: lsms.selinux },
      memoryPolicy: { modes: memoryPolicyModes(), flags: Object.keys(MPOL_FLAGS) },
      intelRdt: { enabled: false },
      // Idmapped binds and rootfs take the container's own user namespace: there when user namespaces are.
      mountExtensions: { idmap: { enabled: kernelHasNamespace('user') } },
      netDevices: { enabled: false },
    },
    potentiallyUnsafeConfigAnnotations: [],
    annotations: { 'berth.version': berthVersion(), 'berth.kernel': os.release() },
  };
}
