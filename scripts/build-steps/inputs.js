// What a build step depends on, as content hashes, and the record of what the
// last successful build was made from. Content, not mtimes: a branch switch
// and back, or a fresh checkout, must not force a rebuild, and a file copied
// in with an old mtime must still cause one.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export function hashFile(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Every regular file under dir, relative to root, sorted. */
export function filesUnder(root, dir) {
  const out = [];
  const walk = (rel) => {
    for (const entry of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const child = path.join(rel, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) out.push(child);
    }
  };
  walk(dir);
  return out.sort();
}

/** { relative path: hash } for files relative to root. */
export function hashFiles(root, files) {
  return Object.fromEntries(files.map((f) => [f, hashFile(path.join(root, f))]));
}

export function packageVersion(require, name) {
  try {
    return require(`${name}/package.json`).version;
  } catch {
    return null;
  }
}

export function readRecord(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

export function writeRecord(file, record) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(record, null, 1) + '\n');
  fs.renameSync(`${file}.tmp`, file);
}

/** Files whose hash differs between two { path: hash } maps, either side. */
export function changedFiles(before, after) {
  const names = new Set([...Object.keys(before ?? {}), ...Object.keys(after)]);
  return [...names].filter((n) => (before ?? {})[n] !== after[n]).sort();
}

export function sameJson(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}
