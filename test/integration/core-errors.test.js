// Every failure rejects with a typed error that names the step/field, errno and
// path, and leaves nothing behind: no mount, state dir, process, zombie or fd.
import test from 'ava';
import fs from 'node:fs';
import { BerthError, ConfigError, createContainer, run } from '../../dist/lib/index.js';
import { assertNoLeaks, quiesce, ROOTFS, settledSnapshot, stateRootFor } from './helpers.js';

const stateRoot = stateRootFor('errors');
const base = (extra = {}) => ({ rootfs: ROOTFS, stateRoot, process: { args: ['/bin/true'] }, ...extra });

async function rejectsCleanly(t, make, expected) {
  await quiesce(); // the previous test's streams may still be closing
  const before = await settledSnapshot(stateRoot);
  const err = await t.throwsAsync(make());
  t.true(err instanceof BerthError, `${err}`);
  for (const [k, v] of Object.entries(expected)) {
    if (v instanceof RegExp) t.regex(String(err[k]), v, k);
    else t.is(err[k], v, k);
  }
  await assertNoLeaks(t, before, stateRoot);
  return err;
}

test.serial('a rootfs that does not exist is a ConfigError naming the field', async (t) => {
  const err = await rejectsCleanly(t, () => createContainer(base({ rootfs: '/nonexistent/rootfs' })), {
    code: 'INVALID_CONFIG', field: 'rootfs', message: /\/nonexistent\/rootfs: ENOENT/,
  });
  t.true(err instanceof ConfigError);
});

test.serial('a missing executable rejects start() with EXECUTABLE_NOT_FOUND and destroys the container', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const c = await createContainer(base({ process: { args: ['/bin/nope'] } }));
  const err = await t.throwsAsync(c.start());
  t.is(err.code, 'EXECUTABLE_NOT_FOUND');
  t.is(err.message, 'executable not found in container: /bin/nope');
  t.is(err.step, 'exec');
  t.is(err.errno, 'ENOENT');
  t.is(err.syscall, 'execve');
  t.is(err.path, '/bin/nope');
  t.is(c.status, 'stopped');
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('a missing executable looked up in PATH, through run()', async (t) => {
  await rejectsCleanly(t, () => run(base({ process: { args: ['no-such-program'] } })), {
    code: 'EXECUTABLE_NOT_FOUND', path: 'no-such-program',
  });
});

test.serial('a cwd that does not exist in the container fails create at step cwd', async (t) => {
  await rejectsCleanly(t, () => createContainer(base({ process: { args: ['/bin/true'], cwd: '/does/not/exist' } })), {
    code: 'SETUP_FAILED', step: 'cwd', errno: 'ENOENT', syscall: 'chdir', path: '/does/not/exist', message: /working directory not found in container: \/does\/not\/exist/,
  });
});

test.serial('a bind mount source that does not exist is rejected before anything is made', async (t) => {
  await rejectsCleanly(t, () => createContainer(base({ mounts: [{ destination: '/x', type: 'bind', source: '/nonexistent/src', options: ['bind'] }] })), {
    code: 'INVALID_CONFIG', field: 'mounts[0].source', message: /\/nonexistent\/src: ENOENT/,
  });
});

test.serial('a mount the kernel refuses fails at step mount with errno and destination, leaving nothing', async (t) => {
  await rejectsCleanly(t, () => createContainer(base({ mounts: [{ destination: '/bad', type: 'no-such-fs', source: 'x' }] })), {
    code: 'SETUP_FAILED', step: 'mount', errno: 'ENODEV', syscall: 'mount', path: '/bad',
  });
  fs.rmSync(`${ROOTFS}/bad`, { recursive: true, force: true });
});

test.serial('invalid ids are refused naming the field', async (t) => {
  for (const id of ['', '../escape', 'a/b', '.hidden', 'x'.repeat(200), 'sp ace']) {
    await rejectsCleanly(t, () => createContainer(base({ id })), { code: 'INVALID_CONFIG', field: 'id' });
  }
});

test.serial('a duplicate id is refused with CONTAINER_EXISTS and the first container is untouched', async (t) => {
  const id = `dup-${process.pid}`;
  const first = await createContainer(base({ id, process: { args: ['sleep', '100'] } }));
  try {
    await rejectsCleanly(t, () => createContainer(base({ id })), { code: 'CONTAINER_EXISTS', errno: 'EEXIST' });
    t.is(first.status, 'created');
    await first.start();
    t.is(first.status, 'running');
  } finally {
    await first.destroy();
  }
});

test.serial('bad fields are named by their JSON path', async (t) => {
  const cases = [
    [{ process: { args: [] } }, 'process.args'],
    [{ process: { args: 'ls' } }, 'process.args'],
    [{ process: { args: ['/bin/true'], cwd: 'relative' } }, 'process.cwd'],
    [{ process: { args: ['/bin/true'], env: ['NOEQUALS'] } }, 'process.env[0]'],
    [{ process: { args: ['/bin/true'], user: { uid: -1 } } }, 'process.user.uid'],
    [{ process: { args: ['/bin/true'], capabilities: { bounding: ['CAP_NOPE'] } } }, 'process.capabilities.bounding[0]'],
    [{ process: { args: ['/bin/true'], rlimits: [{ type: 'RLIMIT_NOFILE', soft: 10, hard: 5 }] } }, 'process.rlimits[0].soft'],
    [{ mounts: [{ destination: 'relative', type: 'tmpfs' }] }, 'mounts[0].destination'],
    [{ mounts: [{ destination: '/x', type: 'bind', source: '/tmp', options: ['bogus'] }] }, 'mounts[0].options[0]'],
    [{ linux: { namespaces: [{ type: 'bogus' }] } }, 'linux.namespaces[0].type'],
    [{ linux: { namespaces: [{ type: 'network', path: '/nonexistent/ns' }] } }, 'linux.namespaces[0].path'],
    [{ linux: { sysctl: { 'kernel.panic': '1' } } }, 'linux.sysctl.kernel.panic'],
    [{ hostname: 'bad host' }, 'hostname'],
    [{ linux: { seccomp: { defaultAction: 'SCMP_ACT_NOTIFY' } } }, 'linux.seccomp.defaultAction'],
    [{ linux: { uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }] } }, 'linux.uidMappings'],
    [{ hooks: { prestart: [{ path: 'true' }] } }, 'hooks.prestart[0].path'],
    [{ process: { args: ['/bin/true'], stdio: ['pipe', 'pipe', 'pipe', 'pipe'] } }, 'process.stdio[3]'],
    [{ process: { args: ['/bin/true'], terminal: 'yes' } }, 'process.terminal'],
    [{ root: { path: ROOTFS }, rootfs: undefined, linux: { rootfsPropagation: 'sideways' } }, 'linux.rootfsPropagation'],
  ];
  for (const [extra, field] of cases) {
    const cfg = { ...base(), ...extra };
    await rejectsCleanly(t, () => createContainer(cfg), { code: 'INVALID_CONFIG', field });
  }
});

test.serial('operations in the wrong state reject with INVALID_STATE', async (t) => {
  const c = await createContainer(base());
  const init = await c.start();
  await init.wait();
  const err = await t.throwsAsync(c.start());
  t.is(err.code, 'INVALID_STATE');
  t.is((await t.throwsAsync(c.kill())).code, 'INVALID_STATE');
  await c.destroy();
});
