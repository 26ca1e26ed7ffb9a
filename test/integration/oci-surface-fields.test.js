// The OCI fields the config audit looked at, against the real kernel: those berth
// applies are read back from inside the container (the init's oom_score_adj and
// I/O priority, the runtime-spec 1.1 mount options nosymfollow and the recursive
// r-variants), and those it does not implement are refused before anything exists
// (no state directory, no cgroup, no process, no mount left).
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, run } from '../../dist/lib/index.js';
import { assertNoLeaks, ROOTFS, settledSnapshot, stateRootFor } from './helpers.js';

const stateRoot = stateRootFor('oci-surface-fields');

const sh = async (t, script, extra = {}) => {
  const r = await run({ rootfs: ROOTFS, stateRoot, ...extra, process: { args: ['/bin/sh', '-c', script], ...(extra.process ?? {}) } });
  t.is(r.exitCode, 0, `${script}: ${r.stderr.toString()}`);
  return r.stdout.toString();
};

test.serial('process.oomScoreAdj and process.ioPriority are the init\'s own (read back from /proc and ioprio_get)', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const out = await sh(t, 'cat /proc/self/oom_score_adj; ionice -p $$', { process: { oomScoreAdj: 317, ioPriority: { class: 'IOPRIO_CLASS_BE', priority: 6 } } });
  t.is(out, '317\nbest-effort: prio 6\n');
  const idle = await sh(t, 'ionice -p $$', { process: { ioPriority: { class: 'IOPRIO_CLASS_IDLE', priority: 0 } } });
  t.is(idle, 'idle\n');
  // Without either, the init keeps what it inherits from this process.
  const inherited = fs.readFileSync('/proc/self/oom_score_adj', 'utf8').trim();
  t.is((await sh(t, 'cat /proc/self/oom_score_adj')).trim(), inherited);
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('mount options nosymfollow and rro/rnoexec: the kernel shows them on the bind, and a symlink in it is not followed', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const src = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-fields-'));
  t.teardown(() => fs.rmSync(src, { recursive: true, force: true }));
  fs.writeFileSync(path.join(src, 'file'), 'data\n');
  fs.symlinkSync('file', path.join(src, 'link'));
  const mounts = (options) => [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/mnt', type: 'bind', source: src, options },
  ];
  const script = 'awk \'$5 == "/mnt" { print $6 }\' /proc/self/mountinfo; cat /mnt/file; cat /mnt/link 2>&1 || true; touch /mnt/new 2>&1 || true';
  const plain = await sh(t, script, { mounts: mounts(['rbind']) });
  t.regex(plain, /^rw,/);
  t.regex(plain, /^data\ndata\n/m, 'without nosymfollow the link is followed');
  t.true(fs.existsSync(path.join(src, 'new')), 'and the bind is writable');
  fs.rmSync(path.join(src, 'new'));
  const strict = await sh(t, script, { mounts: mounts(['rbind', 'rro', 'rnoexec', 'nosymfollow']) });
  const [attrs] = strict.split('\n');
  t.deepEqual(attrs.split(',').filter((a) => ['ro', 'noexec', 'nosymfollow'].includes(a)).sort(), ['noexec', 'nosymfollow', 'ro'], attrs);
  t.regex(strict, /^data\n.*link.*(Too many levels of symbolic links|Symbolic link loop)/m, strict);
  t.regex(strict, /Read-only file system/);
  t.false(fs.existsSync(path.join(src, 'new')));
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('OCI fields berth does not implement are refused before anything is created, naming the field', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const cases = [
    [{ linux: { intelRdt: { closID: 'gold', l3CacheSchema: 'L3:0=ff' } } }, 'linux.intelRdt', /Intel RDT \(resctrl\) is not supported by berth/],
    [{ linux: { netDevices: { eth9: {} } } }, 'linux.netDevices', /network devices/],
    [{ linux: { resources: { rdma: { mlx5_0: { hcaHandles: 4 } } } } }, 'linux.resources.rdma.mlx5_0', /rdma/],
    [{ linux: { resources: { network: { classID: 0x100001 } } } }, 'linux.resources.network.classID', /net_cls/],
    [{ linux: { resources: { blockIO: { leafWeight: 500 } } } }, 'linux.resources.blockIO.leafWeight', /CFQ/],
    [{ process: { args: ['true'], commandLine: 'cmd.exe' } }, 'process.commandLine', /Windows-only/],
    [{ windows: { layerFolders: ['C:\\layers'] } }, 'windows', /Windows/],
    [{ vm: { kernel: { path: '/vmlinuz' } } }, 'vm', /VM-based/],
    [{ mounts: [{ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup'] }] }, 'mounts[0].options[0]', /tmpcopyup/],
  ];
  for (const [config, field, message] of cases) {
    const id = `fields-${process.pid}-${field.replace(/[^a-z0-9]/gi, '')}`;
    const err = await t.throwsAsync(run({ id, rootfs: ROOTFS, stateRoot, ...config, process: { args: ['true'], ...(config.process ?? {}) } }), { instanceOf: ConfigError }, field);
    t.is(err?.field, field, err?.message);
    t.regex(err?.message ?? '', message);
    t.false(fs.existsSync(path.join(stateRoot, id)), `${field}: no state directory`);
  }
  await assertNoLeaks(t, before, stateRoot);
});
