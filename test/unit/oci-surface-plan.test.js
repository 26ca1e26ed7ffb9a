// The plan the OCI Linux surface becomes (root-free): what berth-init is
// told for time offsets, a joined pid namespace, CPU and node masks, and the
// SELinux mount label, which this host (no SELinux) can never reach end to end.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { normalizeConfig } from '../../dist/lib/config/normalize.js';
import { resolveExecProcess } from '../../dist/lib/config/exec.js';
import { containerPlan, execPlan } from '../../dist/lib/launch/plan.js';

const host = { capLast: 40, cgroups: { layout: 'v2', unifiedMount: '/sys/fs/cgroup', v1: {} } };
const cgroupInfo = { layout: 'v2', cpus: new Set([0, 1]), mems: new Set([0]), hugepageSizes: [], blockDevices: new Set() };

async function config(t, extra) {
  const rootfs = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-plan-'));
  t.teardown(() => fs.rmSync(rootfs, { recursive: true, force: true }));
  return normalizeConfig({ rootfs, ...extra, process: { args: ['true'], ...(extra.process ?? {}) } }, cgroupInfo);
}

const inputs = { host, fds: [0, 1, 2], joins: [] };
const CLONE_NEWTIME = 0x80;

test('time offsets: berth-init makes the time namespace itself, so clone3 does not', async (t) => {
  const withTime = ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup', 'time'].map((type) => ({ type }));
  const plain = containerPlan(await config(t, { linux: { namespaces: withTime } }), inputs);
  t.is(plain.cloneFlags & CLONE_NEWTIME, CLONE_NEWTIME, 'no offsets: clone3 makes it');
  t.is(plain.timeOffsets, undefined);
  const offsets = containerPlan(await config(t, { linux: { namespaces: withTime, timeOffsets: { boottime: { secs: -5, nanosecs: 7 }, monotonic: { secs: 9 } } } }), inputs);
  t.is(offsets.cloneFlags & CLONE_NEWTIME, 0);
  t.is(offsets.timeOffsets, 'monotonic 9 0\nboottime -5 7\n');
});

test('a pid namespace joined by path makes the init fork; a new one does not', async (t) => {
  const joined = await config(t, { linux: { namespaces: [{ type: 'mount' }, { type: 'pid', path: '/proc/self/ns/pid' }] } });
  t.true(containerPlan(joined, inputs).forkIntoPidns);
  t.is(containerPlan(await config(t, {}), inputs).forkIntoPidns, undefined);
});

test('CPU and node lists become 64-bit mask words; exec CPU affinity goes to exec plans only', async (t) => {
  const cfg = await config(t, { process: { execCPUAffinity: { initial: '1', final: '0-1' } }, linux: { memoryPolicy: { mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_STATIC_NODES'] } } });
  const init = containerPlan(cfg, inputs);
  t.is(init.cpuAffinityInitial, undefined, 'not for the init (runtime-spec)');
  t.is(init.memoryPolicyMode, 2 | (1 << 15));
  t.deepEqual(init.memoryPolicyNodes, [1n]);
  const exec = execPlan(cfg, resolveExecProcess(cfg.process, { args: ['ps'] }), { host, fds: [0, 1, 2], joinPidfd: 5, joinRootFd: 6 });
  t.deepEqual(exec.cpuAffinityInitial, [2n]);
  t.deepEqual(exec.cpuAffinityFinal, [3n]);
  t.is(exec.memoryPolicyMode, 2 | (1 << 15), 'the container\'s memory policy holds for exec too');
});

test('linux.mountLabel: context= on the container\'s tmpfs, devpts and mqueue, never on proc, sysfs or binds', async (t) => {
  const bindSource = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-plan-bind-'));
  t.teardown(() => fs.rmSync(bindSource, { recursive: true, force: true }));
  const cfg = await config(t, {});
  cfg.mounts.push({ destination: '/data', source: bindSource, bind: true, recursive: false, flags: 0, attrSet: 0, propagation: 0, data: '', destIsFile: false });
  // Validation refuses a mount label on a host without SELinux: set it on the resolved config.
  const label = 'system_u:object_r:container_file_t:s0:c1,c2';
  const mounts = containerPlan({ ...cfg, mountLabel: label }, inputs).mounts;
  const data = Object.fromEntries(mounts.map((m) => [m.destination, m.data]));
  t.is(data['/dev'], `mode=755,size=65536k,context="${label}"`);
  t.true(data['/dev/pts'].endsWith(`,context="${label}"`));
  t.true(data['/dev/mqueue'].includes('context='));
  t.is(data['/proc'], undefined);
  t.is(data['/sys'], undefined);
  t.is(data['/data'], undefined, 'a bind mount keeps the label of its source');
  t.false(containerPlan(cfg, inputs).mounts.some((m) => m.data?.includes('context=')), 'no label, no context=');
});
