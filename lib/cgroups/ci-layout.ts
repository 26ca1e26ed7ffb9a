// Pure decisions for cgroup trees berth does not own, as CI containers have
// them: a namespaced v2 tree whose root holds the caller (privileged Docker
// with a private cgroupns), or a read-only tree (an unprivileged job
// container, v2 or v1/hybrid). The I/O that acts on them is in caller-leaf.ts
// and index.ts; these are apart so root-free tests cover every branch.
import { ConfigError } from '../errors.js';
import type { CgroupHierarchies } from '../host/index.js';

/**
 * The leaf the caller moves to when the cgroup it sits in must hand domain
 * controllers down (Docker-in-Docker's entrypoint calls its own `/init`;
 * berth's says whose it is).
 */
export const CALLER_LEAF = 'berth-caller';

export const MOVE_ENV = 'BERTH_CGROUP_MOVE';

/** `caller`: only this process moves (the default). `all`: every process in that cgroup moves, as DinD's entrypoint does. */
export type MovePolicy = 'caller' | 'all';

/** BERTH_CGROUP_MOVE, checked: anything but unset/''/'caller'/'all' is refused, naming the variable. */
export function movePolicy(value: string | undefined): MovePolicy {
  if (value === undefined || value === '' || value === 'caller') return 'caller';
  if (value === 'all') return 'all';
  throw new ConfigError(MOVE_ENV, `must be "caller" or "all", not ${JSON.stringify(value)}`);
}

export interface RoomPlan {
  /** Pids to move into the leaf, the caller first. */
  move: number[];
  /** Pids that stay (not the caller's, and not told to move them). */
  stay: number[];
}

/**
 * What to move out of a cgroup that holds `procs` (its cgroup.procs) so it can
 * enable domain controllers for its children (the kernel's no-internal-processes
 * rule). Only the caller's own process unless the policy says all.
 */
export function planRoom(procs: number[], self: number, policy: MovePolicy): RoomPlan {
  const others = procs.filter((p) => p !== self);
  const mine = procs.includes(self) ? [self] : [];
  return policy === 'all' ? { move: [...mine, ...others], stay: [] } : { move: mine, stay: others };
}

/** Every mount point a manager for this layout writes to (v1 controllers, and the unified tree where it is used). */
export function hierarchyMounts(h: CgroupHierarchies): string[] {
  if (h.layout === 'v2') return h.unifiedMount ? [h.unifiedMount] : [];
  return [...new Set([...Object.values(h.v1), ...(h.unifiedMount ? [h.unifiedMount] : [])])];
}

/**
 * The first hierarchy berth would write to that is read-only: mounted `ro`
 * (mountinfo), or refused by `writable` (access(2) answers EROFS for a
 * read-only bind the mountinfo of a parent does not show). null when all are writable.
 */
export function readOnlyHierarchy(h: CgroupHierarchies, writable: (mount: string) => boolean = () => true): string | null {
  const ro = new Set(h.readOnly ?? []);
  return hierarchyMounts(h).find((m) => ro.has(m) || !writable(m)) ?? null;
}

/** The message for resources that need a cgroup where berth cannot make one. */
export function readOnlyRefusal(mount: string, fields: string[]): string {
  return (
    `${fields.join(', ')} ${fields.length === 1 ? 'needs' : 'need'} a cgroup, but the cgroup hierarchy ${mount} is mounted read-only ` +
    '(a CI job container without a writable cgroup tree); give the job a writable /sys/fs/cgroup (e.g. docker run --privileged or ' +
    '--cgroupns=private with a delegated tree), or run the container without linux.resources'
  );
}

/** The message for limits a cgroup holding other processes cannot hand down. */
export function busyParentRefusal(dir: string, controllers: string[], stay: number[], callerMoved: boolean): string {
  const shown = stay.slice(0, 5).join(', ') + (stay.length > 5 ? ', …' : '');
  return (
    `cannot enable ${controllers.join(' ')} in ${dir}/cgroup.subtree_control: ${dir} holds processes that are not berth's caller (${shown}), ` +
    'and the kernel lets a cgroup with processes hand no domain controller to its children (the no-internal-processes rule)' +
    (callerMoved ? `; berth moved only its own process, to ${dir}/${CALLER_LEAF}` : '') +
    `. Move the others into a leaf cgroup, or set ${MOVE_ENV}=all to let berth move every process of ${dir} into ${dir}/${CALLER_LEAF}`
  );
}

/** The message for resources a rootless caller cannot have: no cgroup it may write. */
export function rootlessRefusal(mount: string, uid: number, fields: string[]): string {
  return (
    `${fields.join(', ')} ${fields.length === 1 ? 'needs' : 'need'} a cgroup, but uid ${uid} cannot write the cgroup hierarchy ${mount} and has no ` +
    'cgroup v2 subtree delegated to it (its own cgroup, writable by it, as systemd makes one with Delegate=yes); run Node there, or as root, ' +
    'or run the container without linux.resources'
  );
}

/**
 * A rootless caller's delegated subtree: its own v2 cgroup (`own`, from
 * /proc/self/cgroup), or that cgroup's parent when berth already moved the
 * caller into its leaf there. null when it is the root (nothing delegated).
 */
export function delegatedBase(own: string): string | null {
  const parts = own.split('/').filter(Boolean);
  if (parts.at(-1) === CALLER_LEAF) parts.pop();
  return parts.length === 0 ? null : `/${parts.join('/')}`;
}
