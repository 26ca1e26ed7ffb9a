// OCI hooks validation (lib/config/hooks.ts) and its place in normalizeConfig:
// every kind present after normalizing, bad fields named by their JSON path.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { HOOK_NAMES, normalizeHooks } from '../../dist/lib/config/hooks.js';
import { normalizeConfig } from '../../dist/lib/config/normalize.js';
import { features } from '../../dist/lib/index.js';
import { fakeCaller, fakeCgroupInfo, rejectsField, removeDir, scratchDir } from './helpers.js';

const empty = () => Object.fromEntries(HOOK_NAMES.map((n) => [n, []]));

test('the six runtime-spec hook kinds, in lifecycle order, and features() lists exactly them', (t) => {
  t.deepEqual([...HOOK_NAMES], ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
  t.deepEqual(features().hooks, [...HOOK_NAMES]);
});

test('absent, null and {} ask for no hooks: every kind present and empty', (t) => {
  for (const v of [undefined, null, {}, { poststop: null }, { prestart: [] }]) t.deepEqual(normalizeHooks(v), empty(), JSON.stringify(v));
});

test('a hook is normalized: args default to [path], env to [], timeout kept only when given', (t) => {
  const h = normalizeHooks({
    prestart: [{ path: '/bin/true' }],
    poststart: [{ path: '/usr/bin/env', args: ['env', '-i'], env: ['A=1', 'B=x=y', 'C='], timeout: 5 }],
    poststop: [{ path: '/bin/true', args: [] }],
  });
  t.deepEqual(h.prestart, [{ path: '/bin/true', args: ['/bin/true'], env: [] }]);
  t.deepEqual(h.poststart, [{ path: '/usr/bin/env', args: ['env', '-i'], env: ['A=1', 'B=x=y', 'C='], timeout: 5 }]);
  t.deepEqual(h.poststop, [{ path: '/bin/true', args: ['/bin/true'], env: [] }]);
  t.deepEqual(h.createRuntime, []);
});

const bad = [
  ['hooks not an object', [], 'hooks'],
  ['an unknown hook name', { postStart: [] }, 'hooks.postStart'],
  ['a kind that is not an array', { poststart: { path: '/bin/true' } }, 'hooks.poststart'],
  ['a hook that is not an object', { prestart: ['/bin/true'] }, 'hooks.prestart[0]'],
  ['no path', { createRuntime: [{ args: ['x'] }] }, 'hooks.createRuntime[0].path'],
  ['a relative path', { createContainer: [{ path: 'bin/true' }] }, 'hooks.createContainer[0].path'],
  ['a path that is not a string', { startContainer: [{ path: 7 }] }, 'hooks.startContainer[0].path'],
  ['a misspelt field', { poststart: [{ path: '/bin/true', timout: 3 }] }, 'hooks.poststart[0].timout'],
  ['args not an array', { poststart: [{ path: '/bin/true', args: 'true' }] }, 'hooks.poststart[0].args'],
  ['an arg that is not a string', { poststart: [{ path: '/bin/true', args: ['true', 1] }] }, 'hooks.poststart[0].args[1]'],
  ['an env entry without "="', { poststop: [{ path: '/bin/true', env: ['A=1', 'PATH'] }] }, 'hooks.poststop[0].env[1]'],
  ['an env entry with an empty key', { poststop: [{ path: '/bin/true', env: ['=x'] }] }, 'hooks.poststop[0].env[0]'],
  ['a NUL in an env entry', { poststop: [{ path: '/bin/true', env: ['A=\0'] }] }, 'hooks.poststop[0].env[0]'],
  ['timeout 0', { poststart: [{ path: '/bin/true' }, { path: '/bin/true', timeout: 0 }] }, 'hooks.poststart[1].timeout'],
  ['a negative timeout', { poststart: [{ path: '/bin/true', timeout: -1 }] }, 'hooks.poststart[0].timeout'],
  ['a fractional timeout', { poststart: [{ path: '/bin/true', timeout: 1.5 }] }, 'hooks.poststart[0].timeout'],
  ['a timeout as a string', { poststart: [{ path: '/bin/true', timeout: '5' }] }, 'hooks.poststart[0].timeout'],
  ['a timeout setTimeout cannot hold', { poststart: [{ path: '/bin/true', timeout: 3e6 }] }, 'hooks.poststart[0].timeout'],
];
for (const [what, hooks, field] of bad) {
  test(`refused: ${what} (${field})`, (t) => rejectsField(t, () => normalizeHooks(hooks), field));
}

let dir;
let rootfs;
test.before(() => {
  dir = scratchDir('hooks-config');
  rootfs = path.join(dir, 'rootfs');
  fs.mkdirSync(rootfs);
});
test.after.always(() => removeDir(dir));
const normalize = (extra) => normalizeConfig({ rootfs, process: { args: ['/bin/true'] }, ...extra }, fakeCgroupInfo('hybrid'), fakeCaller());

test('normalizeConfig: hooks are accepted onto ResolvedConfig.hooks, every kind present', async (t) => {
  t.deepEqual((await normalize({})).hooks, empty());
  const c = await normalize({ hooks: { prestart: [{ path: '/bin/true' }], poststop: [{ path: '/bin/echo', args: ['echo', 'bye'], timeout: 2 }] } });
  t.deepEqual(c.hooks, { ...empty(), prestart: [{ path: '/bin/true', args: ['/bin/true'], env: [] }], poststop: [{ path: '/bin/echo', args: ['echo', 'bye'], env: [], timeout: 2 }] });
});

test('normalizeConfig: a bad hook is a ConfigError naming its path', async (t) => {
  await rejectsField(t, () => normalize({ hooks: { poststart: [{ path: '/bin/true' }, { path: '/bin/true', timeout: 'soon' }] } }), 'hooks.poststart[1].timeout');
  await rejectsField(t, () => normalize({ hooks: { preStart: [] } }), 'hooks.preStart');
});

test('normalizeConfig: hooks from a bundle config.json are read too', async (t) => {
  const bundle = path.join(dir, 'bundle');
  fs.mkdirSync(bundle);
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify({
    ociVersion: '1.2.0',
    root: { path: rootfs },
    process: { args: ['/bin/true'], cwd: '/' },
    linux: { namespaces: [{ type: 'mount' }] },
    hooks: { createRuntime: [{ path: '/usr/bin/hook', env: ['X=1'] }] },
  }));
  const c = await normalizeConfig({ bundle }, fakeCgroupInfo('hybrid'), fakeCaller());
  t.deepEqual(c.hooks.createRuntime, [{ path: '/usr/bin/hook', args: ['/usr/bin/hook'], env: ['X=1'] }]);
});
