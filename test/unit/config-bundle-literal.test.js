// An OCI bundle's config.json is taken literally, as runc reads it (DESIGN:
// engines pass what they want): berth's library defaults (no_new_privs, the
// default namespaces) apply only to configs given as objects.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../dist/lib/errors.js';
import { normalizeConfig } from '../../dist/lib/config/normalize.js';
import { CAPABILITIES } from '../../dist/lib/kernel/abi.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-literal-'));
fs.mkdirSync(path.join(dir, 'rootfs'));
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

const host = { layout: 'v2', cpus: new Set([0, 1]), mems: new Set([0]), hugepageSizes: ['2MB'], blockDevices: new Set(['8:0']) };
const allCaps = new Set(CAPABILITIES);
const caller = {
  euid: 0,
  egid: 0,
  nrOpen: 1048576,
  rlimit: () => ({ soft: 8 * 1024 * 1024, hard: Infinity }),
  caps: { effective: allCaps, permitted: allCaps, inheritable: new Set(), bounding: allCaps },
};

function bundleWith(spec) {
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ root: { path: 'rootfs' }, process: { args: ['/bin/true'] }, ...spec }));
  return { bundle: dir, stateRoot: '/run/berth-unit' };
}

const mountNs = { namespaces: [{ type: 'mount' }] };

test.serial('no_new_privs: off unless the bundle asks; on by default for an object config', async (t) => {
  t.false((await normalizeConfig(bundleWith({ linux: mountNs }), host, caller)).process.noNewPrivileges);
  const asked = bundleWith({ linux: mountNs, process: { args: ['/bin/true'], noNewPrivileges: true } });
  t.true((await normalizeConfig(asked, host, caller)).process.noNewPrivileges);
  t.true((await normalizeConfig({ rootfs: path.join(dir, 'rootfs'), process: { args: ['/bin/true'] } }, host, caller)).process.noNewPrivileges);
});

test.serial('namespaces: absent in a bundle means none (Go omits an empty list), so the missing mount namespace is named', async (t) => {
  const err = await t.throwsAsync(normalizeConfig(bundleWith({}), host, caller));
  t.true(err instanceof ConfigError);
  t.is(err.field, 'linux.namespaces');
  const cfg = await normalizeConfig({ rootfs: path.join(dir, 'rootfs'), process: { args: ['/bin/true'] } }, host, caller);
  t.true(cfg.namespaces.length > 1, 'an object config gets the default namespaces');
});

test.serial('a filesystem data option on a bind mount: a named warning from a bundle, refused in an object config', async (t) => {
  const warnings = [];
  const onWarning = (w) => warnings.push(w.message);
  process.on('warning', onWarning);
  const mounts = [{ destination: '/mnt/etc', source: '/etc', options: ['rbind', 'nosuid', 'mode=755'] }];
  try {
    const cfg = await normalizeConfig(bundleWith({ linux: mountNs, mounts }), host, caller);
    t.truthy(cfg.mounts.find((m) => m.destination === '/mnt/etc'));
    await new Promise((r) => setImmediate(r));
    t.true(warnings.some((w) => w.includes('mounts[0].options[2]') && w.includes('mode=755')), warnings.join('\n'));
  } finally {
    process.off('warning', onWarning);
  }
  const err = await t.throwsAsync(normalizeConfig({ rootfs: path.join(dir, 'rootfs'), process: { args: ['/bin/true'] }, mounts }, host, caller));
  t.is(err.field, 'mounts[0].options[2]');
});
