// The addon (build/Release/berth.node, berth-init embedded in it), built by
// node-gyp only when binding.gyp, native/ or the toolchain changed. make does the
// per-file part: it recompiles what a changed .cc or .h touches, nothing else.
import { ensureBuildPackages } from './packages.js';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { changedFiles, filesUnder, hashFiles, packageVersion, readRecord, sameJson, writeRecord } from './inputs.js';
import { BuildError, run } from './run.js';

const OUTPUTS = ['build/Release/berth.node', 'build/Release/berth-init'];

/**
 * node-gyp downloads Node's headers unless told where they are; npm tells it
 * (npm_config_nodedir) only when it is configured to. Node's own headers, when
 * installed beside it, are the exact match and need no network.
 */
export function nativeEnv(env = process.env) {
  if (env.npm_config_nodedir) return env;
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const headers = path.join(prefix, 'include', 'node');
  if (!fs.existsSync(path.join(headers, 'node_api.h')) || !fs.existsSync(path.join(headers, 'common.gypi'))) return env;
  return { ...env, npm_config_nodedir: prefix };
}

function inputs(root, env) {
  const require = createRequire(path.join(root, 'package.json'));
  return {
    // A different Node, node-gyp or node-addon-api means different headers or
    // gyp rules under every object file: start from a clean build/.
    toolchain: {
      node: process.version,
      arch: process.arch,
      nodedir: env.npm_config_nodedir ?? null,
      nodeGyp: packageVersion(require, 'node-gyp'),
      nodeAddonApi: packageVersion(require, 'node-addon-api'),
    },
    files: hashFiles(root, ['binding.gyp', ...filesUnder(root, 'native')]),
  };
}

/** berth-init is linked with -static: without libc.a the link fails with a bare "cannot find -lc". */
function checkToolchain(env) {
  const cxx = env.CXX || 'g++';
  for (const lib of ['libc.a', 'libstdc++.a']) {
    const r = spawnSync(cxx, [`-print-file-name=${lib}`], { encoding: 'utf8', env });
    if (r.error) throw new BuildError(`building the addon needs a C++ compiler: ${cxx} not found (Debian: apt-get install -y g++)`);
    if (!r.stdout.trim().includes('/')) {
      throw new BuildError(`berth-init is linked statically and ${cxx} finds no ${lib} (Debian: apt-get install -y g++ libc6-dev; Fedora: glibc-static libstdc++-static)`);
    }
  }
}

function nodeGyp(root, env, args) {
  const require = createRequire(path.join(root, 'package.json'));
  run(process.execPath, [require.resolve('node-gyp/bin/node-gyp.js'), ...args], { cwd: root, env }, `node-gyp ${args[0]}`);
}

/** @returns what was done, for the build's one-line summary */
export function buildNative({ root, full = false, env = nativeEnv() }) {
  const record = path.join(root, 'build', 'berth-inputs.json');
  const now = inputs(root, env);
  const before = full ? null : readRecord(record);
  const configured = fs.existsSync(path.join(root, 'build', 'Makefile')) && fs.existsSync(path.join(root, 'build', 'config.gypi'));
  const built = OUTPUTS.every((f) => fs.existsSync(path.join(root, f)));

  if (!full && configured && before && sameJson(before, now) && built) return 'addon up to date';

  checkToolchain(env);
  ensureBuildPackages(root, 'build', env);
  if (full || !configured || (before && !sameJson(before.toolchain, now.toolchain))) {
    fs.rmSync(record, { force: true });
    nodeGyp(root, env, ['rebuild', '-j', 'max']);
    writeRecord(record, now);
    return 'addon built from scratch';
  }
  // With no record (build/ made by npm ci's install step or by prebuildify)
  // make alone decides; with one, the files whose content changed are made
  // newer than their objects, so make sees a change it would miss by mtime
  // (a file copied in with an older mtime).
  const changed = before ? changedFiles(before.files, now.files) : [];
  const stamp = new Date();
  for (const f of changed) if (f in now.files) fs.utimesSync(path.join(root, f), stamp, stamp);
  fs.rmSync(record, { force: true });
  if (changed.includes('binding.gyp')) nodeGyp(root, env, ['configure']);
  nodeGyp(root, env, ['build', '-j', 'max']);
  writeRecord(record, now);
  return changed.length ? `addon rebuilt (${changed.join(', ')})` : 'addon built (make)';
}

/** prebuilds/<platform>-<arch>/berth.node: the N-API build npm pack ships, so installs need no compiler. */
export function prebuild({ root, env = nativeEnv() }) {
  checkToolchain(env);
  fs.rmSync(path.join(root, 'prebuilds'), { recursive: true, force: true });
  const require = createRequire(path.join(root, 'package.json'));
  // N-API is ABI-stable, so one build serves every Node >= 20; prebuildify
  // would pick the newest Node that node-abi knows, whose headers may have to
  // be downloaded: build against the headers of the Node running this instead.
  const args = ['--napi', '--strip', `--target=${process.versions.node}`];
  run(process.execPath, [require.resolve('prebuildify/bin.js'), ...args], { cwd: root, env }, 'prebuildify');
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.node')) : [];
  if (files.length !== 1) throw new BuildError(`prebuildify left ${files.length} addons in ${path.relative(root, dir)}, expected 1`);
  return path.join(path.relative(root, dir), files[0]);
}
