// dist/: tsc over tsconfig.json, run only when a source, the config or the
// dependencies changed, and incremental when it runs. tsc never deletes what a
// removed or renamed module emitted, so whatever in dist/ no current source
// emits is removed here: a stale module would still be importable.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { hashFile, hashFiles, readRecord, sameJson, writeRecord } from './inputs.js';
import { BuildError, run } from './run.js';

function parseConfig(ts, configFile) {
  const fail = (d) => {
    throw new BuildError(`${configFile}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
  };
  const parsed = ts.getParsedCommandLineOfConfigFile(configFile, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: fail });
  if (parsed.errors.length) fail(parsed.errors[0]);
  return parsed;
}

function removeStale(outDir, expected) {
  const removed = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        walk(file);
        if (fs.readdirSync(file).length === 0) fs.rmdirSync(file);
      } else if (!expected.has(file)) {
        fs.rmSync(file);
        removed.push(file);
      }
    }
  };
  if (fs.existsSync(outDir)) walk(outDir);
  return removed;
}

/** @returns what was done, for the build's one-line summary */
export function buildTypescript({ root, full = false }) {
  const require = createRequire(path.join(root, 'package.json'));
  const ts = require('typescript');
  const configFile = path.join(root, 'tsconfig.json');
  const parsed = parseConfig(ts, configFile);
  const outDir = parsed.options.outDir;
  // Pruning deletes files: only ever inside a directory of its own below the package.
  if (!outDir || !path.relative(root, outDir) || path.relative(root, outDir).startsWith('..')) {
    throw new BuildError(`tsconfig.json: outDir must be a directory inside the package (is ${outDir ?? 'unset'})`);
  }
  // Kept outside dist/ (which npm pack ships) and not in tsconfig.json, so a
  // plain `rm -rf dist && tsc -p tsconfig.json` is never told it is up to date.
  const stateDir = path.join(root, '.cache', 'build');
  const buildInfo = path.join(stateDir, 'tsc.tsbuildinfo');
  const record = path.join(stateDir, 'tsc-inputs.json');
  const lockFile = path.join(root, 'package-lock.json');
  const now = {
    typescript: ts.version,
    config: hashFile(configFile),
    // @types/* and anything else the type check reads come from node_modules.
    lock: fs.existsSync(lockFile) ? hashFile(lockFile) : null,
    files: hashFiles(root, parsed.fileNames.map((f) => path.relative(root, f)).sort()),
  };
  const expected = new Set(parsed.fileNames.flatMap((f) => ts.getOutputFileNames(parsed, f, false)).map((f) => path.resolve(f)));

  if (full) {
    fs.rmSync(outDir, { recursive: true, force: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
  const missing = [...expected].filter((f) => !fs.existsSync(f));
  let done = 'dist/ up to date';
  if (missing.length || !sameJson(readRecord(record), now)) {
    // An incremental tsc trusts its build info and would not re-emit an output deleted since.
    if (missing.length) fs.rmSync(buildInfo, { force: true });
    fs.rmSync(record, { force: true });
    run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', configFile, '--incremental', '--tsBuildInfoFile', buildInfo], { cwd: root }, 'tsc');
    writeRecord(record, now);
    done = full ? 'dist/ built from scratch' : 'dist/ compiled';
  }
  const removed = removeStale(outDir, expected);
  if (removed.length) done += `, removed ${removed.length} stale: ${removed.map((f) => path.relative(root, f)).join(' ')}`;
  return done;
}
