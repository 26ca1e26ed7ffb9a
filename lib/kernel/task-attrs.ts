// Kernel ABI numbers of the per-task attributes an OCI process can ask for:
// scheduling (sched_setattr), NUMA memory policy (set_mempolicy) and the
// execution domain (personality). Same on x86_64 and aarch64.

/** sched_attr.sched_policy (uapi/linux/sched.h); SCHED_ISO is reserved, never implemented. */
export const SCHED_POLICIES = {
  SCHED_OTHER: 0,
  SCHED_FIFO: 1,
  SCHED_RR: 2,
  SCHED_BATCH: 3,
  SCHED_ISO: 4,
  SCHED_IDLE: 5,
  SCHED_DEADLINE: 6,
} as const;

/** sched_attr.sched_flags. */
export const SCHED_FLAGS = {
  SCHED_FLAG_RESET_ON_FORK: 0x01,
  SCHED_FLAG_RECLAIM: 0x02,
  SCHED_FLAG_DL_OVERRUN: 0x04,
  SCHED_FLAG_KEEP_POLICY: 0x08,
  SCHED_FLAG_KEEP_PARAMS: 0x10,
  SCHED_FLAG_UTIL_CLAMP_MIN: 0x20,
  SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
} as const;

/** set_mempolicy modes (uapi/linux/mempolicy.h). */
export const MPOL_MODES = {
  MPOL_DEFAULT: 0,
  MPOL_PREFERRED: 1,
  MPOL_BIND: 2,
  MPOL_INTERLEAVE: 3,
  MPOL_LOCAL: 4,
  MPOL_PREFERRED_MANY: 5,
  MPOL_WEIGHTED_INTERLEAVE: 6,
} as const;

/** Mode flags, ORed into set_mempolicy's mode argument. */
export const MPOL_FLAGS = {
  MPOL_F_NUMA_BALANCING: 1 << 13,
  MPOL_F_RELATIVE_NODES: 1 << 14,
  MPOL_F_STATIC_NODES: 1 << 15,
} as const;

/** personality(2) execution domains the runtime-spec allows. */
export const PERSONALITY_DOMAINS = { LINUX: 0x0000, LINUX32: 0x0008 } as const;

/** The most CPUs (and NUMA nodes) a plan's masks can name: 16 64-bit words. */
export const MASK_BITS = 1024;
