// Making room in a v2 cgroup that must hand domain controllers to berth's
// cgroups but holds processes itself (the root of a private cgroup namespace,
// where a CI container's entrypoint and so the caller sit). The kernel refuses
// +memory there (no internal processes), and once threaded controllers are on
// it refuses to place anything below (clone3 EOPNOTSUPP). Docker-in-Docker's
// entrypoint and systemd move those processes into a leaf first; berth moves
// its own process, and others only when told (BERTH_CGROUP_MOVE=all).
import { mkdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CgroupError } from '../errors.js';
import { CALLER_LEAF, type MovePolicy, type RoomPlan, planRoom } from './ci-layout.js';
import { isErrno, parsePids, readOptional, toCgroupError, writeText } from './fsio.js';

// Processes forking while they are moved: a few passes catch their children.
const MOVE_PASSES = 5;

export interface Room {
  /** Pids still in `dir` (not the caller's, not told to move them). */
  stay: number[];
  /** Whether this call moved the caller. */
  callerMoved: boolean;
}

/** The pids in `dir`'s cgroup.procs (none when it is gone). */
async function procsOf(dir: string): Promise<number[]> {
  return parsePids(await readOptional(join(dir, 'cgroup.procs')));
}

/** Moves the processes `policy` allows out of `dir` into `dir/berth-caller`; says so once per move. */
export async function makeRoom(dir: string, policy: MovePolicy, self = process.pid): Promise<Room> {
  let plan = planRoom(await procsOf(dir), self, policy);
  if (plan.move.length === 0) return { stay: plan.stay, callerMoved: false };
  const leaf = join(dir, CALLER_LEAF);
  let made = false;
  try {
    await mkdir(leaf);
    made = true;
  } catch (err) {
    if (!isErrno(err, 'EEXIST')) throw toCgroupError('move-caller', err, leaf, `cannot create the leaf cgroup ${leaf} for berth's caller`);
  }
  const moved: number[] = [];
  // A leaf this call made and moved nothing into is not left behind.
  const unmake = async (): Promise<void> => {
    if (made && moved.length === 0) await rmdir(leaf).catch(() => undefined);
  };
  try {
    plan = await moveAll(leaf, dir, plan, self, policy, moved);
  } catch (err) {
    await unmake();
    throw err;
  }
  const callerMoved = moved.includes(self);
  const others = moved.filter((p) => p !== self);
  if (callerMoved) {
    process.emitWarning(
      `berth moved its own process (pid ${self}) from ${dir} to ${leaf}: ${dir} held processes, and a cgroup with processes cannot enable domain controllers for the containers' cgroups (the kernel's no-internal-processes rule)`,
      { code: 'BERTH_CGROUP_CALLER_MOVED' },
    );
  }
  if (others.length > 0) {
    process.emitWarning(`berth moved ${others.length} other process(es) (${others.slice(0, 5).join(', ')}${others.length > 5 ? ', …' : ''}) from ${dir} to ${leaf}, as BERTH_CGROUP_MOVE=all says`, {
      code: 'BERTH_CGROUP_PROCESSES_MOVED',
    });
  }
  // What a fork storm kept refilling after the last pass stays, too.
  return { stay: [...plan.stay, ...plan.move], callerMoved };
}

/** Moves `plan.move` into `leaf`, again for what forked meanwhile; returns what is left to move. */
async function moveAll(leaf: string, dir: string, plan: RoomPlan, self: number, policy: MovePolicy, moved: number[]): Promise<RoomPlan> {
  for (let pass = 0; pass < MOVE_PASSES && plan.move.length > 0; pass++) {
    for (const pid of plan.move) {
      try {
        // cgroup.procs moves the whole thread group (every Node thread with it).
        await writeText(join(leaf, 'cgroup.procs'), String(pid), 'move-caller');
        moved.push(pid);
      } catch (err) {
        if (isErrno((err as CgroupError).cause, 'ESRCH')) continue; // exited meanwhile
        // (Node names errno 95 ENOTSUP; the kernel's own name is EOPNOTSUPP.)
        if (isErrno((err as CgroupError).cause, 'ENOTSUP', 'EOPNOTSUPP')) {
          throw new CgroupError({
            step: 'move-caller',
            path: join(dir, 'cgroup.subtree_control'),
            errno: 'ENOTSUP',
            message: `cannot move process ${pid} to ${leaf}: ${dir} is a threaded-controller root (threaded controllers are enabled in ${dir}/cgroup.subtree_control while it holds processes), so no cgroup below it can hold processes; turn them off there first (e.g. echo '-cpu -cpuset -pids' > ${dir}/cgroup.subtree_control)`,
            cause: err,
          });
        }
        throw err;
      }
    }
    plan = planRoom(await procsOf(dir), self, policy);
  }
  return plan;
}
