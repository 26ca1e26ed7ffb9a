// The cgroup v2 device program, root-free: the emitted instructions are run by
// a small eBPF interpreter written here from the instruction set (not from the
// generator), and every verdict is compared with a model of the v1 device
// controller written here from the kernel's security/device_cgroup.c. What v1
// allows, the program allows; what v1 denies, it denies.
import test from 'ava';
import { deviceFilter, deviceProgram, emulateDeviceRules, INSN_SIZE } from '../../dist/lib/cgroups/device-filter.js';
import { withDeviceRules } from '../../dist/lib/config/devices.js';
import { prng } from './helpers.js';

const MKNOD = 1;
const READ = 2;
const WRITE = 4;
const BLOCK = 1;
const CHAR = 2;
const ACCESS = { r: READ, w: WRITE, m: MKNOD };
const M64 = (1n << 64n) - 1n;
const M32 = (1n << 32n) - 1n;

// ---- an eBPF interpreter for what a device program may contain -------------

/** Runs `prog` on a struct bpf_cgroup_dev_ctx; returns r0. Throws on anything a verifier would refuse. */
function runProgram(prog, { type, major, minor, access }) {
  const ctx = Buffer.alloc(12);
  ctx.writeUInt32LE(((access << 16) | type) >>> 0, 0);
  ctx.writeUInt32LE(major >>> 0, 4);
  ctx.writeUInt32LE(minor >>> 0, 8);
  const n = prog.length / 8;
  if (!Number.isInteger(n) || n === 0 || n > 4096) throw new Error(`bad program length ${prog.length}`);
  const reg = new Array(11).fill(undefined);
  reg[1] = 'ctx';
  const val = (r) => {
    if (typeof reg[r] !== 'bigint') throw new Error(`read of r${r}, which holds ${String(reg[r])}`);
    return reg[r];
  };
  for (let pc = 0, steps = 0; ; steps++) {
    if (pc < 0 || pc >= n) throw new Error(`pc ${pc} out of the program`);
    if (steps > n) throw new Error('a loop');
    const at = pc * 8;
    const code = prog.readUInt8(at);
    const dst = prog.readUInt8(at + 1) & 0xf;
    const src = prog.readUInt8(at + 1) >> 4;
    const off = prog.readInt16LE(at + 2);
    const imm = prog.readInt32LE(at + 4);
    const cls = code & 0x07;
    const op = code & 0xf0;
    const useReg = (code & 0x08) !== 0;
    pc++;
    if (cls === 0x01) {
      // LDX: only from the context, in bounds.
      if ((code & 0xe0) !== 0x60) throw new Error(`unsupported load mode 0x${code.toString(16)}`);
      if (reg[src] !== 'ctx') throw new Error(`load through r${src}, not the context`);
      const size = { 0x00: 4, 0x08: 2, 0x10: 1, 0x18: 8 }[code & 0x18];
      if (off < 0 || off + size > 12) throw new Error(`context read at ${off}+${size}`);
      reg[dst] = size === 8 ? ctx.readBigUInt64LE(off) : BigInt(ctx.readUIntLE(off, size));
    } else if (cls === 0x04 || cls === 0x07) {
      const wide = cls === 0x07;
      const mask = wide ? M64 : M32;
      const b = (useReg ? val(src) : BigInt.asUintN(64, BigInt(imm))) & mask;
      const a = op === 0xb0 ? 0n : val(dst) & mask;
      let r;
      switch (op) {
        case 0xb0: r = b; break; // mov
        case 0x50: r = a & b; break; // and
        case 0x40: r = a | b; break; // or
        case 0x00: r = a + b; break; // add
        case 0x70: r = a >> (b & (wide ? 63n : 31n)); break; // rsh
        case 0x60: r = a << (b & (wide ? 63n : 31n)); break; // lsh
        default: throw new Error(`unsupported ALU op 0x${code.toString(16)}`);
      }
      reg[dst] = r & mask; // 32-bit ALU zero-extends into the 64-bit register
    } else if (cls === 0x05) {
      if (op === 0x90) {
        if (useReg || code !== 0x95) throw new Error(`bad exit 0x${code.toString(16)}`);
        return val(0);
      }
      const a = op === 0x00 ? 0n : val(dst);
      const b = useReg ? val(src) : BigInt.asUintN(64, BigInt(imm));
      let taken;
      switch (op) {
        case 0x00: taken = true; break; // ja
        case 0x10: taken = a === b; break; // jeq
        case 0x50: taken = a !== b; break; // jne
        case 0x20: taken = a > b; break; // jgt
        case 0x30: taken = a >= b; break; // jge
        case 0x40: taken = (a & b) !== 0n; break; // jset
        default: throw new Error(`unsupported jump 0x${code.toString(16)}`);
      }
      if (off < 0) throw new Error('a backward jump');
      if (taken) pc += off;
    } else {
      throw new Error(`unsupported instruction class 0x${code.toString(16)}`);
    }
  }
}

// ---- the v1 device controller, after security/device_cgroup.c -------------

const ANY = 0xffffffff; // the kernel's ~0 for '*'

function v1Controller(rules) {
  let behaviorAllow = false; // the starting state runc assumes too: deny all
  let exceptions = [];
  for (const r of rules) {
    const type = r.type ?? 'a';
    if (type === 'a') {
      behaviorAllow = r.allow;
      exceptions = [];
      continue;
    }
    const num = (x) => (x === undefined || x === null || x === -1 ? ANY : x);
    const ex = { type: type === 'b' ? BLOCK : CHAR, major: num(r.major), minor: num(r.minor), access: [...(r.access ?? 'rwm')].reduce((a, c) => a | ACCESS[c], 0) };
    const exact = (w) => w.type === ex.type && w.major === ex.major && w.minor === ex.minor;
    const add = () => {
      let merged = false;
      for (const w of exceptions) if (exact(w)) { w.access |= ex.access; merged = true; }
      if (!merged) exceptions.push({ ...ex });
    };
    const rm = () => {
      for (const w of exceptions) if (exact(w)) w.access &= ~ex.access;
      exceptions = exceptions.filter((w) => w.access !== 0);
    };
    if (r.allow) behaviorAllow ? rm() : add();
    else behaviorAllow ? add() : rm();
  }
  return { behaviorAllow, exceptions };
}

/** devcgroup_legacy_check_permission: true if allowed. */
function v1Allows({ behaviorAllow, exceptions }, { type, major, minor, access }) {
  const typeOk = (ex) => !((type & BLOCK) && !(ex.type & BLOCK)) && !((type & CHAR) && !(ex.type & CHAR));
  if (behaviorAllow) {
    // match_exception_partial: any overlap of access denies
    return !exceptions.some((ex) => typeOk(ex) && (ex.major === ANY || ex.major === major) && (ex.minor === ANY || ex.minor === minor) && (access & ex.access) !== 0);
  }
  // match_exception: one exception must grant every requested access
  return exceptions.some((ex) => typeOk(ex) && (ex.major === ANY || ex.major === major) && (ex.minor === ANY || ex.minor === minor) && (access & ~ex.access) === 0);
}

// ---- helpers ----------------------------------------------------------------

const programFor = (rules) => deviceFilter(rules) ?? null;
const verdict = (prog, req) => (prog === null ? true : runProgram(prog, req) === 1n);

const MAJORS = [0, 1, 4, 5, 7, 8, 10, 136, 189, 254, 4095];
const MINORS = [0, 1, 2, 3, 5, 7, 8, 200, 229, 0xfffff];
function* requests() {
  for (const type of [BLOCK, CHAR]) {
    for (const major of MAJORS) {
      for (const minor of MINORS) {
        for (let access = 1; access <= 7; access++) yield { type, major, minor, access };
      }
    }
  }
}

function fmt(req) {
  const acc = (req.access & READ ? 'r' : '') + (req.access & WRITE ? 'w' : '') + (req.access & MKNOD ? 'm' : '');
  return `${req.type === BLOCK ? 'b' : 'c'} ${req.major}:${req.minor} ${acc}`;
}

function assertSameAsV1(t, rules, label) {
  const prog = programFor(rules);
  const model = v1Controller(rules);
  const wrong = [];
  let count = 0;
  for (const req of requests()) {
    count++;
    const want = v1Allows(model, req);
    if (verdict(prog, req) !== want) wrong.push(`${fmt(req)}: v1 ${want ? 'allows' : 'denies'}`);
  }
  t.deepEqual(wrong.slice(0, 10), [], `${label}: ${wrong.length} of ${count} verdicts differ from v1`);
}


function randomRules(rand) {
  const pick = (list) => list[Math.floor(rand() * list.length)];
  const n = 1 + Math.floor(rand() * 12);
  const rules = [];
  for (let i = 0; i < n; i++) {
    const type = pick(['a', 'b', 'c', 'c', 'c', undefined, 'b', 'c']);
    const rule = { allow: rand() < 0.6 };
    if (type !== undefined) rule.type = type;
    const major = pick([null, -1, 1, 1, 5, 8, 136, undefined]);
    const minor = pick([null, -1, 3, 3, 5, 0, 1, undefined]);
    if (major !== undefined) rule.major = major;
    if (minor !== undefined) rule.minor = minor;
    const access = pick(['rwm', 'r', 'w', 'm', 'rw', 'rm', 'wm', undefined]);
    if (access !== undefined) rule.access = access;
    rules.push(rule);
  }
  return rules;
}

// ---- the tests ----------------------------------------------------------------

test('default container rules: the nodes every container needs open, others do not, mknod of any node is allowed', (t) => {
  const rules = withDeviceRules(undefined, []).devices;
  const prog = programFor(rules);
  t.truthy(prog);
  const allows = (type, major, minor, access) => verdict(prog, { type, major, minor, access });
  for (const [major, minor, name] of [[1, 3, 'null'], [1, 5, 'zero'], [1, 7, 'full'], [1, 8, 'random'], [1, 9, 'urandom'], [5, 0, 'tty'], [5, 1, 'console'], [5, 2, 'ptmx'], [136, 0, 'pts/0'], [136, 7, 'pts/7']]) {
    t.true(allows(CHAR, major, minor, READ | WRITE), `/dev/${name} opens read-write`);
  }
  t.false(allows(BLOCK, 8, 0, READ), 'a /dev/sda-like block node (8:0) is not readable');
  t.false(allows(BLOCK, 8, 0, WRITE), 'nor writable');
  t.false(allows(CHAR, 10, 200, READ | WRITE), '/dev/net/tun is not allowed by default');
  t.false(allows(CHAR, 1, 1, READ), '/dev/mem is not allowed');
  t.false(allows(CHAR, 1, 11, WRITE), '/dev/kmsg is not allowed');
  t.true(allows(BLOCK, 8, 0, MKNOD), 'mknod of a block node is allowed (opening it is not)');
  t.true(allows(CHAR, 10, 200, MKNOD), 'mknod of a char node is allowed');
  assertSameAsV1(t, rules, 'default rules');
});

test('linux.devices entries are allowed on top of the default', (t) => {
  const rules = withDeviceRules(undefined, [{ path: '/dev/net/tun', type: 'c', major: 10, minor: 200, fileMode: 0o666, uid: 0, gid: 0 }, { path: '/dev/fifo', type: 'p', major: 0, minor: 0, fileMode: 0o666, uid: 0, gid: 0 }]).devices;
  const prog = programFor(rules);
  t.true(verdict(prog, { type: CHAR, major: 10, minor: 200, access: READ | WRITE }));
  t.false(verdict(prog, { type: CHAR, major: 10, minor: 201, access: READ }));
  assertSameAsV1(t, rules, 'with linux.devices');
});

test('rules edit the v1 state in order: a later allow punches through a deny, a later deny takes access away', (t) => {
  const rules = [
    { allow: false, access: 'rwm' },
    { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
    { allow: false, type: 'c', major: 1, minor: 3, access: 'w' },
    { allow: true, type: 'b', major: 8, access: 'r' },
  ];
  const prog = programFor(rules);
  t.true(verdict(prog, { type: CHAR, major: 1, minor: 3, access: READ }));
  t.false(verdict(prog, { type: CHAR, major: 1, minor: 3, access: WRITE }));
  t.false(verdict(prog, { type: CHAR, major: 1, minor: 3, access: READ | WRITE }), 'an O_RDWR open needs both');
  t.true(verdict(prog, { type: BLOCK, major: 8, minor: 17, access: READ }), 'a wildcard minor');
  t.false(verdict(prog, { type: BLOCK, major: 8, minor: 17, access: READ | WRITE }));
  t.false(verdict(prog, { type: CHAR, major: 8, minor: 17, access: READ }), 'the type must match');
  assertSameAsV1(t, rules, 'ordered edits');
});

test('an "a" rule resets everything before it', (t) => {
  const rules = [
    { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
    { allow: true, type: 'a', major: 1, minor: 3, access: 'r' }, // v1 reads only the "a"
    { allow: false, type: 'b', major: 8, access: 'w' },
  ];
  const prog = programFor(rules);
  const state = emulateDeviceRules(rules);
  t.true(state.defaultAllow);
  t.true(verdict(prog, { type: CHAR, major: 4, minor: 1, access: READ | WRITE | MKNOD }), 'allow-all after "a"');
  t.false(verdict(prog, { type: BLOCK, major: 8, minor: 0, access: READ | WRITE }), 'a "w" deny refuses an O_RDWR open (v1 matches partially on allow-all)');
  t.true(verdict(prog, { type: BLOCK, major: 8, minor: 0, access: READ }));
  assertSameAsV1(t, rules, 'reset');
  t.is(deviceFilter([{ allow: false }, { allow: true }]), null, 'allow-all needs no program');
  const denyAll = deviceFilter([{ allow: true, type: 'c', major: 1, minor: 3 }, { allow: false }]);
  t.false(verdict(denyAll, { type: CHAR, major: 1, minor: 3, access: READ }));
});

test('a deny that v1 cannot apply (a hole in a wildcard) is flagged and, as in v1, changes nothing', (t) => {
  const rules = [
    { allow: false },
    { allow: true, type: 'c', access: 'rwm' },
    { allow: false, type: 'c', major: 1, minor: 3, access: 'rwm' },
    { allow: false, type: 'c', major: 4, minor: 0, access: 'r' },
  ];
  const state = emulateDeviceRules(rules);
  t.deepEqual(state.ineffective, [2, 3]);
  t.true(verdict(programFor(rules), { type: CHAR, major: 1, minor: 3, access: READ }));
  assertSameAsV1(t, rules, 'hole in a wildcard');
  t.deepEqual(emulateDeviceRules([{ allow: false }, { allow: true, type: 'c', major: 1, minor: 3 }, { allow: false, type: 'c', major: 1, minor: 3, access: 'w' }]).ineffective, [], 'removing from the exact entry takes effect');
  t.deepEqual(emulateDeviceRules([{ allow: false }, { allow: true, type: 'c', major: 1, access: 'm' }, { allow: false, type: 'c', major: 1, minor: 3, access: 'rw' }]).ineffective, [], 'no overlap in access');
});

test('numbers no device can have are left out; wildcards as null, -1 or absent', (t) => {
  const rules = [
    { allow: false },
    { allow: true, type: 'c', major: 2 ** 31, minor: 3 },
    { allow: true, type: 'c', major: 7, minor: 2 ** 32 + 3 },
    { allow: true, type: 'b', major: null, minor: 5, access: 'r' },
    { allow: true, type: 'b', major: -1, minor: 7, access: 'r' },
    { allow: true, type: 'c', minor: 9, access: 'r' },
  ];
  const prog = programFor(rules);
  t.false(verdict(prog, { type: CHAR, major: 0x7fffffff, minor: 3, access: READ }));
  t.false(verdict(prog, { type: CHAR, major: 7, minor: 3, access: READ }), 'a minor above 32 bits does not wrap to 3');
  t.true(verdict(prog, { type: BLOCK, major: 254, minor: 5, access: READ }));
  t.true(verdict(prog, { type: BLOCK, major: 1, minor: 7, access: READ }));
  t.true(verdict(prog, { type: CHAR, major: 136, minor: 9, access: READ }));
  for (let i = 0; i < prog.length; i += INSN_SIZE) {
    if ((prog[i] & 0x07) === 0x05 && (prog[i] & 0x08) === 0) t.true(prog.readInt32LE(i + 4) >= 0, 'no negative immediate in a compare');
  }
});

test('random rule lists: every verdict equals v1', (t) => {
  const rand = prng(0xdecaf);
  for (let i = 0; i < 200; i++) {
    const rules = randomRules(rand);
    assertSameAsV1(t, rules, `case ${i} ${JSON.stringify(rules)}`);
  }
});

test('random rule lists after berth\'s own allow list (what update() appends to)', (t) => {
  const rand = prng(11);
  const base = withDeviceRules(undefined, []).devices;
  for (let i = 0; i < 80; i++) {
    const rules = [...base, ...randomRules(rand)];
    assertSameAsV1(t, rules, `case ${i}`);
  }
});

test('program size is linear in the exceptions and within what the kernel loads', (t) => {
  const rules = [{ allow: false }];
  for (let i = 0; i < 500; i++) rules.push({ allow: true, type: i % 2 ? 'b' : 'c', major: i % 300, minor: i, access: 'rw' });
  const state = emulateDeviceRules(rules);
  const prog = deviceProgram(state);
  t.is(state.exceptions.length, 500);
  // prologue 6; per exception type, major, minor, 3 for access, 2 for the verdict; 2 for the default
  t.true(prog.length / INSN_SIZE <= 6 + 500 * 8 + 2);
  t.true(verdict(prog, { type: BLOCK, major: 199 % 300, minor: 199, access: READ | WRITE }));
  t.false(verdict(prog, { type: BLOCK, major: 199, minor: 199, access: MKNOD }));
});
