// Plans encoded in TS (lib/native/plan-codec.gen.ts) and decoded by the C++
// that spawn and berth-init use (native/wire/plan_codec.gen.cc), read back
// through the addon's decodePlan: every field must arrive as it was sent.
import test from 'ava';
import { native } from '../../dist/lib/native/addon.js';
import { PLAN_MAGIC, encodePlan } from '../../dist/lib/native/plan-codec.gen.js';

const RLIM_INFINITY = 0xffffffffffffffffn;

// Every array non-empty, every optional field given, values at the edges of
// their C types.
const initPlan = {
  cloneFlags: 0x7e020000,
  joins: [{ fd: 17, nstype: 0x40000000 }, { fd: 18, nstype: 0x08000000 }],
  cgroupFd: 19,
  joinPidfd: -1,
  joinNsFlags: 0,
  joinRootFd: -1,
  cgroupDirs: [{ path: '/sys/fs/cgroup/cpuset/berth', leaf: false, cpuset: true }, { path: '/sys/fs/cgroup/memory/berth/c1', leaf: true, cpuset: false }],
  cgroupWrites: [{ path: '/sys/fs/cgroup/memory/berth/c1/memory.limit_in_bytes', value: '67108864', optional: false }, { path: '/x/memory.swappiness', value: '0', optional: true }],
  cgroupProcs: ['/sys/fs/cgroup/memory/berth/c1/cgroup.procs', '/sys/fs/cgroup/pids/berth/c1/cgroup.procs'],
  unshareCgroupns: true,
  setupRootfs: true,
  rootfs: '/srv/rootfs/ünïcødé-根',
  rootfsPropagation: 0x40000, // MS_PRIVATE
  readonlyRoot: true,
  mounts: [
    { source: 'proc', destination: '/proc', type: 'proc', flags: 0xe, attrSet: 0, propagation: 0, kind: 0, recursive: false, destIsFile: false },
    { source: '/host/data', destination: '/data', data: 'mode=755,size=65536k', flags: 0, attrSet: 0x1 | 0x2 | 0x100000, propagation: 0x40000, kind: 1, recursive: true, destIsFile: true },
    // MountSpec::flags is an unsigned long and attr_set a uint64_t: above 32 bits.
    { destination: '/big', type: 'tmpfs', flags: 2 ** 40 + 1, attrSet: 2 ** 52, propagation: 0, kind: 0, recursive: false, destIsFile: false },
  ],
  devices: [
    { path: '/dev/null', mode: 0o20666, major: 1, minor: 3, uid: 0, gid: 0 },
    // glibc's dev_t split: a major above 12 bits and a minor above 20 bits.
    { path: '/dev/odd', mode: 0o60600, major: 0xfff0f, minor: 0xfffff0, uid: 4294967294, gid: 65534 },
  ],
  links: [{ target: '/proc/self/fd', path: '/dev/fd' }, { target: 'pts/ptmx', path: '/dev/ptmx' }],
  masked: ['/proc/kcore', '/sys/firmware'],
  readonly: ['/proc/sys', '/proc/sysrq-trigger'],
  sysctls: [{ path: '/proc/sys/net/ipv4/ip_forward', value: '1' }, { path: '/proc/sys/kernel/shmmni', value: '1234' }],
  hostname: 'host-ß',
  domainname: 'example.org',
  loopbackUp: true,
  args: ['/bin/sh', '-c', 'echo "héllo wörld" 🐳', ''],
  env: ['PATH=/usr/bin:/bin', 'LANG=ja_JP.UTF-8', 'EMOJI=🦀'],
  pathEnv: '/usr/bin:/bin',
  cwd: '/home/ユーザー',
  uid: 4294967294,
  gid: 1000,
  groups: [10, 4294967294, 0],
  setGroups: true,
  umask: 0o077,
  setCaps: true,
  caps: [(1n << 41n) - 1n, 1n << 63n, 0xffffffffffffffffn, 0n, 1n << 40n],
  capLast: 40,
  noNewPrivs: true,
  // Raw bytes, not UTF-8: every byte value, a NUL among them.
  seccompFilter: Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff)),
  seccompFlags: 6,
  rlimits: [{ resource: 7, soft: 1024n, hard: 1048576n }, { resource: 4, soft: RLIM_INFINITY, hard: RLIM_INFINITY }],
  ioPriority: (2 << 13) | 4,
  oomScoreAdj: -1000,
  forkIntoPidns: true,
  timeOffsets: 'monotonic -86400 0\nboottime 4611686018 999999999\n',
  personality: 8,
  schedPolicy: 6,
  schedFlags: 0x7f,
  schedNice: -20,
  schedPriority: 99,
  // SCHED_DEADLINE ns, above 32 bits
  schedRuntime: 2 ** 40,
  schedDeadline: 2 ** 41,
  schedPeriod: Number.MAX_SAFE_INTEGER,
  cpuAffinityInitial: [1n],
  // 16 words: CPU 1023 is the top bit of the last
  cpuAffinityFinal: [...Array(15).fill(0n), 1n << 63n],
  memoryPolicyMode: 2 | (1 << 13) | (1 << 15),
  memoryPolicyNodes: [0xffffffffffffffffn, 3n],
  apparmorProfile: 'berth-ßandbox',
  selinuxLabel: 'system_u:system_r:container_t:s0:c1,c2',
  terminal: true,
  consoleWidth: 65535,
  consoleHeight: 24,
  fds: [0, 1, 2, 63],
  parentDeathSignal: 9,
  execAfterReady: true,
  startFd: 61,
  hooksPause: true,
  execPath: '/usr/libexec/oci/hooks.d/ßetup',
};

// exec: joins a running init through its pidfd; no rootfs of its own.
const execPlan = {
  cloneFlags: 0,
  joins: [],
  cgroupFd: -1,
  joinPidfd: 23,
  joinNsFlags: 0x7e020000,
  joinRootFd: 24,
  cgroupDirs: [],
  cgroupWrites: [],
  cgroupProcs: [],
  unshareCgroupns: false,
  setupRootfs: false,
  rootfs: '/srv/rootfs',
  rootfsPropagation: 0,
  readonlyRoot: false,
  mounts: [],
  devices: [],
  links: [],
  masked: [],
  readonly: [],
  sysctls: [],
  loopbackUp: false,
  args: ['ps'],
  env: [],
  pathEnv: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  cwd: '/',
  uid: 0,
  gid: 0,
  groups: [],
  setGroups: false,
  umask: -1,
  setCaps: false,
  caps: [0n, 0n, 0n, 0n, 0n],
  capLast: 40,
  noNewPrivs: false,
  seccompFlags: 0,
  rlimits: [],
  ioPriority: -1,
  forkIntoPidns: false,
  personality: -1,
  schedPolicy: -1,
  schedFlags: 0,
  schedNice: 0,
  schedPriority: 0,
  schedRuntime: 0,
  schedDeadline: 0,
  schedPeriod: 0,
  cpuAffinityInitial: [],
  cpuAffinityFinal: [],
  memoryPolicyMode: -1,
  memoryPolicyNodes: [],
  terminal: false,
  consoleWidth: 0,
  consoleHeight: 0,
  fds: [5, 6, 7],
  parentDeathSignal: 0,
  execAfterReady: false,
  startFd: -1,
  hooksPause: false,
};

function sameFields(t, decoded, expected) {
  t.truthy(decoded, 'the plan decodes');
  t.deepEqual(Object.keys(decoded).sort(), Object.keys(expected).sort(), 'the same fields');
  for (const [k, v] of Object.entries(expected)) t.deepEqual(decoded[k], v, k);
}

test('an init plan with every array filled arrives field by field', (t) => {
  sameFields(t, native.decodePlan(encodePlan(initPlan)), initPlan);
});

test('an exec plan arrives field by field', (t) => {
  sameFields(t, native.decodePlan(encodePlan(execPlan)), execPlan);
});

test('absent fields arrive as null strings and the numbers the child treats as "none"', (t) => {
  const {
    cgroupFd, joinPidfd, joinNsFlags, joinRootFd, cgroupDirs, cgroupWrites, cgroupProcs, unshareCgroupns, ioPriority, execAfterReady,
    forkIntoPidns, personality, schedPolicy, schedFlags, schedNice, schedPriority, schedRuntime, schedDeadline, schedPeriod,
    cpuAffinityInitial, cpuAffinityFinal, memoryPolicyMode, memoryPolicyNodes, ...given
  } = execPlan;
  const sparse = {
    ...given,
    mounts: [{ source: '', destination: '/tmp', type: '', data: '', flags: 0, attrSet: 0, propagation: 0, kind: 0, recursive: false, destIsFile: false }],
    cwd: '',
    hostname: '',
    timeOffsets: '',
    apparmorProfile: '',
  };
  const { cwd, ...rest } = given;
  sameFields(t, native.decodePlan(encodePlan(sparse)), {
    ...rest,
    cgroupFd: -1,
    joinPidfd: -1,
    joinNsFlags: 0,
    joinRootFd: -1,
    cgroupDirs: [],
    cgroupWrites: [],
    cgroupProcs: [],
    unshareCgroupns: false,
    ioPriority: -1,
    execAfterReady: false,
    ...{ forkIntoPidns, personality, schedPolicy, schedFlags, schedNice, schedPriority, schedRuntime, schedDeadline, schedPeriod },
    ...{ cpuAffinityInitial, cpuAffinityFinal, memoryPolicyMode, memoryPolicyNodes },
    // '' means "not given" for a mount's source/type/data, cwd, time offsets and LSM labels (absent) ...
    mounts: [{ destination: '/tmp', flags: 0, attrSet: 0, propagation: 0, kind: 0, recursive: false, destIsFile: false }],
    // ... but an empty hostname is a hostname: the child sets it.
    hostname: '',
  });
});

test('negative numbers keep their sign through the 64-bit two\'s complement', (t) => {
  const negative = { ...execPlan, umask: -1, oomScoreAdj: -999, ioPriority: -1, joinPidfd: -1, joinRootFd: -1, joins: [{ fd: -1, nstype: -2147483648 }], fds: [-1] };
  sameFields(t, native.decodePlan(encodePlan(negative)), negative);
});

test('a truncated, extended or foreign plan does not decode', (t) => {
  const bytes = encodePlan(initPlan);
  for (let n = 0; n < bytes.length; n++) {
    if (native.decodePlan(bytes.subarray(0, n)) !== null) return t.fail(`a plan cut at ${n} of ${bytes.length} bytes decoded`);
  }
  t.is(native.decodePlan(Buffer.concat([bytes, Buffer.alloc(8)])), null, 'trailing bytes');
  const foreign = Buffer.from(bytes);
  foreign.writeBigUInt64LE(PLAN_MAGIC + 1n, 0);
  t.is(native.decodePlan(foreign), null, 'another format version');
});

test('counts beyond the bounds of the C plan are refused on both sides', (t) => {
  const joins = Array.from({ length: 9 }, (_, i) => ({ fd: i, nstype: 0 }));
  t.throws(() => encodePlan({ ...execPlan, joins }), { instanceOf: RangeError, message: /joins/ });
  t.throws(() => encodePlan({ ...execPlan, fds: Array.from({ length: 65 }, (_, i) => i) }), { instanceOf: RangeError, message: /fds/ });
  t.throws(() => encodePlan({ ...execPlan, args: [] }), { instanceOf: RangeError, message: /args/ });
  t.throws(() => encodePlan({ ...execPlan, cpuAffinityFinal: Array(17).fill(1n) }), { instanceOf: RangeError, message: /cpuAffinityFinal/ });
  // The decoder does not trust the encoder: 9 joins written by hand.
  const bytes = Buffer.from(encodePlan({ ...execPlan, joins: joins.slice(0, 8) }));
  t.truthy(native.decodePlan(bytes));
  t.is(bytes.readBigUInt64LE(16), 8n, 'the joins count follows the magic and cloneFlags');
  bytes.writeBigUInt64LE(9n, 16);
  t.is(native.decodePlan(bytes), null, '9 joins');
  // 65 fds: the child places at most 64 (arrange_fds), so the plan must not promise more.
  const fds = Array.from({ length: 64 }, (_, i) => i);
  const full = encodePlan({ ...execPlan, fds });
  // magic; parentDeathSignal, execAfterReady, hooksPause, startFd and the six user-namespace fields; the fds; their count
  const countAt = full.length - 8 * (1 + 4 + 6 + 64 + 1);
  t.is(full.readBigUInt64LE(countAt), 64n);
  // A new count of 65 in front: the old count (64) becomes the first of 65 fds.
  const more = Buffer.concat([full.subarray(0, countAt), Buffer.alloc(8), full.subarray(countAt)]);
  more.writeBigUInt64LE(65n, countAt);
  t.is(native.decodePlan(more), null, '65 fds');
  t.is(native.decodePlan(full)?.fds.length, 64);
});
