#!/usr/bin/env node
// berth cgroup v2 VM lane: boots Debian's linux-image-amd64 under QEMU (TCG,
// -M microvm, cgroup_no_v1=all) with node, the built package, the busybox test
// rootfs and the tests packed into an uncompressed initramfs, runs the tests
// there as root in a pure cgroup v2 system and exits with their status.
//
//   node scripts/vm/run.js [options] [test files or globs...]
//
// Options:
//   --smoke            run scripts/vm/smoke.sh (kernel/cgroup v2 checks, no package needed)
//   --cmd 'SHELL CMD'  run an arbitrary command in the VM (cwd is the package)
//   --build            run `npm run build` first even when dist/ and the addon exist
//   --timeout SECS     overall limit, QEMU is killed after it (default 1800, env BERTH_VM_TIMEOUT)
//   --mem MIB          guest memory (default 3072, env BERTH_VM_MEM)
//   --cpus N           guest CPUs (default 2, env BERTH_VM_CPUS)
//   --cgroup PATH      run the test command in this cgroup (e.g. /init.scope) instead of the root
//   --kernel FILE      /boot/vmlinuz-* to boot (default: newest with modules, env BERTH_VM_KERNEL)
//   --append 'ARGS'    extra kernel command line
//   --dry-run          build the vmlinux and the initramfs, print the QEMU command, do not boot
//   --debug            early console and full kernel log (for a guest that hangs while booting)
// Default test files: every test/integration/*.test.js (the kernel-facing suite, in pure cgroup v2 on an initramfs root).
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import { builtinModules } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const cacheDir = path.join(root, '.cache', 'vm');
// Per-run staging tree and initramfs (removed at exit unless --dry-run), so two
// runs in one checkout do not trip over each other; vmlinux and node are cached.
const runDir = path.join(cacheDir, `run-${process.pid}`);
const stageDir = path.join(runDir, 'root');
const initrdPath = path.join(runDir, 'initramfs.cpio');
const MARKER = 'BERTH-VM-EXIT=';
// The unit tests are root-free and kernel-independent (and some read sources the
// VM's payload does not ship): they run on the host, not here.
const DEFAULT_TESTS = ['test/integration/*.test.js'];
// Left out of the default run: files that touch no cgroup or kernel surface this lane exists
// for — the image store's tar/gzip/zstd work and volumes (pure JS and file I/O, ~15 min
// under TCG, the same on any kernel: the host lane runs them), and the engine and network
// files, which skip here anyway (no podman, no iproute2/nft in the guest). Named on the
// command line they still run.
const DEFAULT_SKIP = new Set(['image-import.test.js', 'image-export.test.js', 'image-hostile.test.js', 'volume.test.js', 'volume-mount.test.js', 'image-commit.test.js', 'cli-image.test.js', 'image-scale.test.js', 'image-podman.test.js', 'engine-podman.test.js', 'network-objects.test.js', 'network-rtnetlink.test.js', 'network-pasta.test.js']);
const MODULES = ['brd', 'loop', 'overlay']; // optional: block devices for io.max / loop tests; overlay for the overlay rootfs and image containers
// Host programs the tests spawn besides node and busybox's applets (perl -e
// forks without dying on EAGAIN, unlike a shell); copied with their libraries
// when the host has them. Override with BERTH_VM_TOOLS="perl other".
const TOOLS = (process.env.BERTH_VM_TOOLS ?? 'perl').split(/\s+/).filter(Boolean);
const t0 = Date.now();

function die(msg, code = 2) {
  process.stderr.write(`vm: error: ${msg}\n`);
  process.exit(code);
}
function log(msg) {
  process.stderr.write(`vm: ${msg}\n`);
}
function secs(ms) {
  return (ms / 1000).toFixed(1) + 's';
}

// ---- arguments ----
function parseArgs(argv) {
  const o = {
    smoke: false, cmd: null, build: false, dryRun: false, debug: false, files: [], append: '',
    timeout: Number(process.env.BERTH_VM_TIMEOUT || 1800),
    mem: Number(process.env.BERTH_VM_MEM || 3072),
    cpus: Number(process.env.BERTH_VM_CPUS || 2),
    cgroup: process.env.BERTH_VM_CGROUP || '',
    kernel: process.env.BERTH_VM_KERNEL || '',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const val = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) die(`${flag} needs a value`);
      return argv[++i];
    };
    switch (flag) {
      case '--smoke': o.smoke = true; break;
      case '--cmd': o.cmd = val(); break;
      case '--build': o.build = true; break;
      case '--dry-run': o.dryRun = true; break;
      case '--debug': o.debug = true; break;
      case '--timeout': o.timeout = Number(val()); break;
      case '--mem': o.mem = Number(val()); break;
      case '--cpus': o.cpus = Number(val()); break;
      case '--cgroup': o.cgroup = val(); break;
      case '--kernel': o.kernel = val(); break;
      case '--append': o.append = val(); break;
      case '-h': case '--help':
        process.stdout.write(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 21).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
        process.exit(0);
      default:
        if (a.startsWith('--')) die(`unknown option ${a} (see --help)`);
        o.files.push(a);
    }
  }
  for (const k of ['timeout', 'mem', 'cpus']) if (!(o[k] > 0)) die(`--${k} must be a positive number`);
  if (o.cgroup && !/^\/[A-Za-z0-9._/-]+$/.test(o.cgroup)) die('--cgroup must be an absolute cgroup path like /init.scope');
  return o;
}

// ---- host prerequisites ----
function which(cmd) {
  for (const dir of (process.env.PATH || '/usr/bin:/bin').split(':')) {
    const p = path.join(dir || '.', cmd);
    try { fs.accessSync(p, fs.constants.X_OK); return p; } catch { /* next */ }
  }
  return null;
}
function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.error) die(`${cmd}: ${r.error.message}`);
  return r;
}
function checkHost(o) {
  const missing = [];
  const qemu = process.env.BERTH_VM_QEMU || which('qemu-system-x86_64');
  if (!qemu) missing.push('qemu-system-x86_64 (apt-get install -y qemu-system-x86)');
  if (!which('cpio')) missing.push('cpio (apt-get install -y cpio)');
  if (!which('xz')) missing.push('xz (apt-get install -y xz-utils)');
  const busybox = '/bin/busybox';
  const bb = fs.existsSync(busybox) ? run('ldd', [busybox]) : null;
  if (!bb || /=>/.test(bb.stdout)) missing.push('a static /bin/busybox (apt-get install -y busybox-static)');
  let kernel = o.kernel;
  if (!kernel) {
    const ks = (fs.existsSync('/boot') ? fs.readdirSync('/boot') : [])
      .filter((f) => /^vmlinuz-/.test(f) && fs.existsSync(`/lib/modules/${f.slice(8)}`))
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    if (ks.length) kernel = `/boot/${ks[ks.length - 1]}`;
  }
  if (!kernel || !fs.existsSync(kernel)) missing.push('a Debian kernel in /boot/vmlinuz-* (apt-get install -y linux-image-amd64)');
  if (process.arch !== 'x64') missing.push(`an x86-64 host (this is ${process.arch})`);
  if (missing.length) die(`the VM lane needs:\n  - ${missing.join('\n  - ')}`, 3);
  const kver = path.basename(kernel).replace(/^vmlinuz-/, '');
  return { qemu, kernel, kver };
}

// ---- vmlinux: the ELF inside the xz stream of vmlinuz (PVH boot, no in-guest decompression) ----
function extractVmlinux(kernel, kver) {
  const st = fs.statSync(kernel);
  const out = path.join(cacheDir, `vmlinux-${kver}`);
  const stamp = `${st.size}:${st.mtimeMs}`;
  const stampFile = out + '.stamp';
  if (fs.existsSync(out) && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stamp) return out;
  const t = Date.now();
  const data = fs.readFileSync(kernel);
  const magic = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
  for (let off = data.indexOf(magic); off >= 0; off = data.indexOf(magic, off + 1)) {
    // --single-stream: stop at the end of the first xz stream, ignore what follows.
    const r = spawnSync('xz', ['-dc', '--single-stream'], { input: data.subarray(off), maxBuffer: 1 << 30 });
    if (r.status === 0 && r.stdout.length > 4 && r.stdout.subarray(0, 4).equals(Buffer.from('\x7fELF', 'latin1'))) {
      fs.writeFileSync(`${out}.tmp${process.pid}`, r.stdout);
      fs.renameSync(`${out}.tmp${process.pid}`, out);
      fs.writeFileSync(stampFile, stamp);
      log(`extracted ${path.relative(root, out)} (${(r.stdout.length / 2 ** 20).toFixed(0)} MiB ELF) from ${kernel} at offset ${off} in ${secs(Date.now() - t)}`);
      return out;
    }
  }
  die(`no xz-compressed ELF found in ${kernel} (only xz kernels are supported; Debian's linux-image-amd64 is one)`, 3);
}

// ---- host CPU MHz for tsc_early_khz (microvm can hang calibrating the TSC without it) ----
function hostKhz() {
  const m = /^cpu MHz\s*:\s*([0-9.]+)/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
  return m ? Math.round(Number(m[1]) * 1000) : 0;
}

// ---- initramfs staging ----
function mkdirp(p) { fs.mkdirSync(p, { recursive: true }); }
function copyFile(src, dst, mode) {
  mkdirp(path.dirname(dst));
  fs.copyFileSync(src, dst);
  if (mode !== undefined) fs.chmodSync(dst, mode);
}
function sharedLibs(binaries) {
  const libs = new Set();
  for (const b of binaries) {
    const r = run('ldd', [b]);
    if (r.status !== 0) continue; // static
    for (const line of r.stdout.split('\n')) {
      const m = /=>\s*(\/\S+)/.exec(line) || /^\s*(\/\S+)\s+\(/.exec(line);
      if (m) libs.add(m[1]);
      else if (/not found/.test(line)) die(`${b}: missing shared library: ${line.trim()}`);
    }
  }
  return [...libs];
}
// node: strip the debug info once (Debian's node is ~12 MiB smaller stripped), cached.
function nodeBinary() {
  const src = fs.realpathSync(process.execPath);
  const strip = which('strip');
  if (!strip) return src;
  const st = fs.statSync(src);
  const out = path.join(cacheDir, 'node.stripped');
  const stamp = `${src}:${st.size}:${st.mtimeMs}`;
  if (fs.existsSync(out) && fs.existsSync(out + '.stamp') && fs.readFileSync(out + '.stamp', 'utf8') === stamp) return out;
  const r = run(strip, ['-o', `${out}.tmp${process.pid}`, src]);
  if (r.status !== 0) { log(`strip failed, using ${src} as is`); return src; }
  fs.renameSync(`${out}.tmp${process.pid}`, out);
  fs.writeFileSync(out + '.stamp', stamp);
  return out;
}
// Runtime closure of node_modules: the package's dependencies, ava (the test
// runner) and every bare import of the test files, following node's resolution.
function moduleClosure(testDir) {
  const nm = path.join(root, 'node_modules');
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const roots = new Set([...Object.keys(pkg.dependencies || {}), 'ava']);
  const importRe = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"]([^'".\/][^'"]*)['"]/gm;
  const scan = (dir) => {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) { if (e.name !== 'rootfs' && e.name !== 'node_modules') scan(p); continue; }
      if (!/\.(m|c)?js$/.test(e.name)) continue;
      for (const m of fs.readFileSync(p, 'utf8').matchAll(importRe)) {
        const spec = m[1];
        if (spec.startsWith('node:') || spec === 'berth') continue;
        roots.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
      }
    }
  };
  scan(testDir);
  const seen = new Set();
  const resolveFrom = (dir, name) => {
    for (let d = dir; ; d = path.dirname(d)) {
      const p = path.join(d, 'node_modules', name);
      if (fs.existsSync(path.join(p, 'package.json'))) return p;
      if (d === root || d === path.dirname(d)) return null;
    }
  };
  const walk = (dir) => {
    if (seen.has(dir)) return;
    seen.add(dir);
    const pj = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    for (const n of Object.keys({ ...pj.dependencies, ...pj.optionalDependencies, ...pj.peerDependencies })) {
      const r = resolveFrom(dir, n);
      if (r) walk(r);
    }
  };
  for (const r of roots) {
    const p = resolveFrom(root, r);
    if (p) walk(p);
    else if (fs.existsSync(nm) && !builtinModules.includes(r)) log(`note: test import '${r}' not found in node_modules`);
  }
  return [...seen].sort();
}

function expandTests(patterns) {
  const files = [];
  for (const pat of patterns) {
    if (!pat.includes('*')) {
      if (!fs.existsSync(path.join(root, pat))) die(`test file not found: ${pat}`);
      files.push(pat);
      continue;
    }
    const dir = path.dirname(pat);
    const re = new RegExp('^' + path.basename(pat).replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*') + '$');
    const abs = path.join(root, dir);
    if (!fs.existsSync(abs)) continue;
    for (const f of fs.readdirSync(abs).sort()) if (re.test(f)) files.push(path.join(dir, f));
  }
  return [...new Set(files)];
}

function shQuote(s) { return `'${String(s).replace(/'/g, `'\\''`)}'`; }

function stage(o, kver, runId) {
  fs.rmSync(stageDir, { recursive: true, force: true });
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'run', 'root', 'mnt', 'vm/modules', 'berth']) mkdirp(path.join(stageDir, d));
  fs.chmodSync(path.join(stageDir, 'tmp'), 0o1777);
  copyFile('/bin/busybox', path.join(stageDir, 'bin/busybox'), 0o755);
  fs.symlinkSync('busybox', path.join(stageDir, 'bin/sh'));
  copyFile(path.join(here, 'init.sh'), path.join(stageDir, 'init'), 0o755);
  copyFile(path.join(here, 'smoke.sh'), path.join(stageDir, 'vm/smoke.sh'), 0o755);
  const node = nodeBinary();
  if (node.startsWith(cacheDir + '/')) fs.linkSync(node, path.join(stageDir, 'usr/bin/node')); // our own stripped copy
  else copyFile(node, path.join(stageDir, 'usr/bin/node'), 0o755);
  fs.writeFileSync(path.join(stageDir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  fs.writeFileSync(path.join(stageDir, 'etc/group'), 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n');
  fs.writeFileSync(path.join(stageDir, 'etc/hosts'), '127.0.0.1 localhost berth-vm\n::1 localhost\n');
  fs.writeFileSync(path.join(stageDir, 'etc/hostname'), 'berth-vm\n');

  const natives = [process.execPath];
  for (const tool of TOOLS) {
    const p = which(tool);
    if (!p) { log(`note: ${tool} not found on the host, not in the VM`); continue; }
    copyFile(fs.realpathSync(p), path.join(stageDir, 'usr/bin', tool), 0o755);
    natives.push(p);
  }
  let cmd;
  if (o.smoke) {
    cmd = 'exec sh /vm/smoke.sh';
  } else {
    // the package: what the built library needs at run time, plus the tests
    // (with --cmd, whatever of it exists)
    const rels = ['package.json', 'bin', 'dist', 'prebuilds', 'test'].filter((f) => fs.existsSync(path.join(root, f)));
    for (const m of moduleClosure(path.join(root, 'test'))) rels.push(path.relative(root, m));
    const rel = path.join(root, 'build/Release');
    if (fs.existsSync(rel)) for (const n of fs.readdirSync(rel)) if (n.endsWith('.node')) rels.push(path.join('build/Release', n));
    // One cp for everything; -a keeps the busybox rootfs's absolute symlinks as
    // they are. Hard links (-l) are 4x faster than copies and nothing in the
    // staging tree is ever written to; cpio stores each file's data once.
    let r = run('cp', ['-al', '--parents', ...rels, path.join(stageDir, 'berth')], { cwd: root });
    if (r.status !== 0) {
      fs.rmSync(path.join(stageDir, 'berth'), { recursive: true, force: true });
      mkdirp(path.join(stageDir, 'berth'));
      r = run('cp', ['-a', '--parents', ...rels, path.join(stageDir, 'berth')], { cwd: root });
    }
    if (r.status !== 0) die(`copying the package into the initramfs: ${r.stderr.trim()}`);
    for (const f of walkFiles(path.join(stageDir, 'berth'), (p) => p.endsWith('.node') && !p.includes('/test/fixtures/rootfs/'))) natives.push(f);
    if (o.cmd !== null) {
      cmd = o.cmd;
    } else {
      const files = o.files.length ? expandTests(o.files) : expandTests(DEFAULT_TESTS).filter((f) => !DEFAULT_SKIP.has(path.basename(f)));
      if (!files.length) die(`no test files match ${(o.files.length ? o.files : DEFAULT_TESTS).join(' ')}`);
      log(`tests: ${files.join(' ')}`);
      cmd = `exec node node_modules/ava/entrypoints/cli.mjs ${files.map(shQuote).join(' ')}`;
    }
  }
  for (const lib of sharedLibs(natives)) copyFile(fs.realpathSync(lib), path.join(stageDir, lib), 0o755);

  const modDir = `/lib/modules/${kver}`;
  const loaded = [];
  for (const m of MODULES) {
    const found = findModule(modDir, m);
    if (!found) continue;
    const dst = path.join(stageDir, 'vm/modules', `${m}.ko`);
    if (found.endsWith('.ko')) copyFile(found, dst);
    else if (found.endsWith('.ko.xz')) fs.writeFileSync(dst, run('xz', ['-dc', found], { encoding: 'buffer' }).stdout);
    else continue;
    loaded.push(m);
  }
  fs.writeFileSync(path.join(stageDir, 'vm/env'),
    `BERTH_VM_RUN=${runId}\nBERTH_VM_MODULES=${shQuote(loaded.join(' '))}\nBERTH_VM_CGROUP=${shQuote(o.cgroup)}\n`);
  fs.writeFileSync(path.join(stageDir, 'vm/cmd.sh'), `${cmd}\n`, { mode: 0o755 });
}
function walkFiles(dir, pred, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walkFiles(p, pred, out);
    else if (e.isFile() && pred(p)) out.push(p);
  }
  return out;
}
let modIndex = null;
function findModule(modDir, name) {
  if (!fs.existsSync(modDir)) return null;
  if (!modIndex) {
    modIndex = new Map();
    const dep = path.join(modDir, 'modules.dep');
    if (fs.existsSync(dep)) {
      for (const line of fs.readFileSync(dep, 'utf8').split('\n')) {
        const [mod, deps] = line.split(':');
        if (!mod) continue;
        const base = path.basename(mod).replace(/\.ko(\.\w+)?$/, '');
        modIndex.set(base, { file: path.join(modDir, mod), deps: (deps || '').trim() });
      }
    }
  }
  const e = modIndex.get(name);
  if (!e || e.deps) return null; // only dependency-free modules are supported
  return e.file;
}

function buildCpio() {
  // newc, uncompressed (the kernel unpacks it without decompressing), all files owned by root
  const r = spawnSync('sh', ['-c', `cd ${shQuote(stageDir)} && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet > ${shQuote(initrdPath + '.tmp')}`], { encoding: 'utf8' });
  if (r.status !== 0) die(`cpio failed: ${r.stderr}`);
  fs.renameSync(initrdPath + '.tmp', initrdPath);
  return fs.statSync(initrdPath).size;
}

// ---- main ----
const o = parseArgs(process.argv.slice(2));
const host = checkHost(o);
mkdirp(cacheDir);

if (!o.smoke && o.cmd === null) {
  const built = fs.existsSync(path.join(root, 'dist/lib/index.js')) && fs.existsSync(path.join(root, 'build/Release/berth.node'));
  if (o.build || !built) {
    log(built ? 'building (--build)' : 'package not built (dist/lib/index.js, build/Release/berth.node): running npm run build');
    const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) die('npm run build failed', 1);
  }
  const r = spawnSync('sh', [path.join(root, 'test/fixtures/make-rootfs.sh')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) die('test/fixtures/make-rootfs.sh failed', 1);
}

// leftovers of runs that were killed
for (const d of fs.readdirSync(cacheDir)) {
  const m = /^run-(\d+)$/.exec(d);
  if (m && !fs.existsSync(`/proc/${m[1]}`)) fs.rmSync(path.join(cacheDir, d), { recursive: true, force: true });
}
if (!o.dryRun) process.on('exit', () => fs.rmSync(runDir, { recursive: true, force: true }));

const vmlinux = extractVmlinux(host.kernel, host.kver);
const runId = crypto.randomBytes(6).toString('hex');
const tStage = Date.now();
stage(o, host.kver, runId);
const size = buildCpio();
log(`initramfs ${path.relative(root, initrdPath)}: ${(size / 2 ** 20).toFixed(0)} MiB, built in ${secs(Date.now() - tStage)}`);

const khz = hostKhz();
const cmdline = [
  'console=ttyS0', o.debug ? 'earlycon=uart,io,0x3f8 loglevel=7' : 'loglevel=4',
  'cgroup_no_v1=all', 'rdinit=/init', 'panic=-1', 'reboot=t', 'mitigations=off', 'random.trust_cpu=on',
  khz ? `tsc_early_khz=${khz}` : '', o.append,
].filter(Boolean).join(' ');
if (!khz) log('warning: no "cpu MHz" in /proc/cpuinfo; booting without tsc_early_khz (microvm may hang calibrating the TSC)');
const qemuArgs = [
  '-M', 'microvm,x-option-roms=off,rtc=on', '-accel', 'tcg', '-cpu', 'max',
  '-smp', String(o.cpus), '-m', `${o.mem}M`,
  '-nodefaults', '-no-user-config', '-display', 'none', '-serial', 'stdio', '-no-reboot',
  '-kernel', vmlinux, '-initrd', initrdPath, '-append', cmdline,
];
if (o.dryRun) {
  process.stdout.write([host.qemu, ...qemuArgs].map((a) => (/[\s'"]/.test(a) ? shQuote(a) : a)).join(' ') + '\n');
  process.exit(0);
}

log(`booting ${host.kernel} (${host.kver}) under QEMU TCG, microvm, ${o.cpus} CPUs, ${o.mem} MiB, timeout ${o.timeout}s`);
const tBoot = Date.now();
const qemu = spawn(host.qemu, qemuArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
let status = null;
let timedOut = false;
let tMarker = 0;
let guestUp = null;
let guestDone = null;
let buf = '';
const markerRe = new RegExp(`^${MARKER}(\\d+) run=${runId}$`);
const utf8 = new TextDecoder('utf-8'); // streaming: a character may straddle two chunks
qemu.stdout.on('data', (chunk) => {
  const text = utf8.decode(chunk, { stream: true }).replace(/\r/g, '');
  process.stdout.write(text);
  buf += text;
  let nl;
  while ((nl = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, nl).trim();
    buf = buf.slice(nl + 1);
    let m;
    if ((m = markerRe.exec(line))) {
      status = Number(m[1]);
      tMarker = Date.now();
      // give poweroff a moment, then make sure QEMU goes
      setTimeout(() => { if (qemu.exitCode === null) qemu.kill('SIGKILL'); }, 15000).unref();
    } else if ((m = /^vm-init: up ([0-9.]+)s/.exec(line))) guestUp = Number(m[1]);
    else if ((m = /^vm-init: done ([0-9.]+)s/.exec(line))) guestDone = Number(m[1]);
  }
});
qemu.stderr.on('data', (chunk) => process.stderr.write(chunk));
const timer = setTimeout(() => {
  timedOut = true;
  log(`timeout: no exit marker after ${o.timeout}s, killing QEMU (pid ${qemu.pid})`);
  qemu.kill('SIGKILL');
}, o.timeout * 1000);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    log(`${sig}: killing QEMU (pid ${qemu.pid})`);
    qemu.kill('SIGKILL');
    process.exit(130);
  });
}
qemu.on('error', (e) => die(`cannot start ${host.qemu}: ${e.message}`, 3));
qemu.on('close', (code, signal) => {
  clearTimeout(timer);
  const now = Date.now();
  const parts = [
    guestUp !== null ? `guest init up at ${guestUp.toFixed(1)}s` : null,
    guestUp !== null && guestDone !== null ? `payload ${(guestDone - guestUp).toFixed(1)}s` : null,
    `qemu ${secs((tMarker || now) - tBoot)}`,
    `lane total ${secs(now - t0)}`,
  ].filter(Boolean);
  if (status === null) {
    log(`FAILED: ${timedOut ? `timed out after ${o.timeout}s` : `QEMU exited (${signal || `code ${code}`})`} without printing the exit marker (${parts.join(', ')})`);
    process.exit(1);
  }
  log(`guest exit status ${status} (${parts.join(', ')})`);
  process.exit(status);
});
