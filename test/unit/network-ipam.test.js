// host-local-style address leases, root-free in a scratch directory: the
// round-robin pick, fixed addresses honoured or refused, release, reclaim of
// leases whose owner is gone, an exhausted pool, and allocation from several
// processes at once yielding distinct addresses.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../dist/lib/errors.js';
import { NetworkError } from '../../dist/lib/network/errors.js';
import { allocate, leasesDir, listLeases, reclaim, release, releaseOwner, selfOwner, transfer } from '../../dist/lib/network/ipam.js';
import { parseAddress, parseSubnet } from '../../dist/lib/network/subnet.js';
import { processStartTime } from '../../dist/lib/state/state-dir.js';
import { removeDir, scratchDir } from './helpers.js';

let root;
let seq = 0;
test.before(() => (root = scratchDir('network-ipam')));
test.after.always(() => removeDir(root));

function pool(subnet, gateway) {
  const s = parseSubnet(subnet, 'subnet');
  return { network: `net${++seq}`, dir: leasesDir(root, `net${seq}`), subnet: s, gateway: parseAddress(gateway, 'gateway') };
}

/** The pid and start time of a process that has exited (and been reaped): an owner that is gone. */
function deadOwner(id) {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(require("fs").readFileSync("/proc/self/stat","utf8"))']);
  const stat = r.stdout.toString();
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { id, pid: Number(stat.split(' ')[0]), startTime: Number(fields[19]) };
}

test('leasesDir: <stateRoot>/networks/<name>/leases, for names that cannot climb out', (t) => {
  t.is(leasesDir('/run/berth', 'br0'), '/run/berth/networks/br0/leases');
  for (const bad of ['', '..', '../x', 'a/b', '.hidden', 'x'.repeat(65)]) {
    t.throws(() => leasesDir('/run/berth', bad, 'network.name'), { instanceOf: ConfigError, message: /network\.name/ }, bad);
  }
});

test('dynamic addresses: the gateway is skipped, round robin after the last one given, released ones reused after a wrap', async (t) => {
  const p = pool('10.30.0.0/29', '10.30.0.1'); // hosts .1-.6, .1 the gateway
  const a = await allocate(p, selfOwner('a'));
  t.is(a.address, '10.30.0.2');
  t.like(a, { id: 'a', pid: process.pid, startTime: processStartTime(process.pid) });
  t.deepEqual(JSON.parse(fs.readFileSync(path.join(p.dir, '10.30.0.2'), 'utf8')), { id: 'a', pid: process.pid, startTime: processStartTime(process.pid) }, 'the lease file names its owner');
  t.is((await allocate(p, selfOwner('b'))).address, '10.30.0.3');
  t.true(await release(p.dir, '10.30.0.2', 'a'));
  t.is((await allocate(p, selfOwner('c'))).address, '10.30.0.4', 'a just released address is not given out again at once');
  t.is((await allocate(p, selfOwner('d'))).address, '10.30.0.5');
  t.is((await allocate(p, selfOwner('e'))).address, '10.30.0.6');
  t.is((await allocate(p, selfOwner('f'))).address, '10.30.0.2', 'after the end of the range: from its start, past the gateway');
  const e = await t.throwsAsync(allocate(p, selfOwner('g')), { instanceOf: NetworkError, message: new RegExp(`network "${p.network}" \\(10.30.0.0/29\\) has no free address`) });
  t.is(e.code, 'ADDRESS_POOL_EXHAUSTED');
  t.is(e.network, p.network);
  t.deepEqual(listLeases(p.dir).map((l) => [l.address, l.id, l.alive]), [
    ['10.30.0.2', 'f', true],
    ['10.30.0.3', 'b', true],
    ['10.30.0.4', 'c', true],
    ['10.30.0.5', 'd', true],
    ['10.30.0.6', 'e', true],
  ]);
});

test('a fixed address: honoured, refused when another holds it, checked against the subnet before any lock', async (t) => {
  const p = pool('10.31.0.0/24', '10.31.0.1');
  t.is((await allocate(p, selfOwner('a'), { ip: '10.31.0.100' })).address, '10.31.0.100');
  t.is((await allocate(p, selfOwner('b'))).address, '10.31.0.2', 'a fixed address does not move the round-robin cursor');
  t.is((await allocate(p, selfOwner('a'), { ip: '10.31.0.100' })).address, '10.31.0.100', 'its owner may ask again');
  const taken = await t.throwsAsync(allocate(p, selfOwner('c'), { ip: '10.31.0.100', field: 'network[0].ip' }), { instanceOf: NetworkError });
  t.is(taken.code, 'ADDRESS_IN_USE');
  t.is(taken.address, '10.31.0.100');
  t.regex(taken.message, /10.31.0.100 on network "net\d+" is leased to container "a"/);
  const refused = {
    '10.32.0.5': /outside the subnet/,
    '10.31.0.0': /network address/,
    '10.31.0.255': /broadcast address/,
    '10.31.0.1': /the gateway/,
    'fd00::5': /IPv6 address/,
    '10.31.0.300': /not an IP address/,
  };
  for (const [ip, message] of Object.entries(refused)) {
    const e = await t.throwsAsync(allocate(p, selfOwner('c'), { ip, field: 'network[0].ip' }), { instanceOf: ConfigError, message }, ip);
    t.is(e.field, 'network[0].ip');
  }
  t.is(listLeases(p.dir).length, 2, 'refusals leave no lease');
});

test("a lease whose owner is gone (exited, or its pid reused) is reclaimed; the living one's is not", async (t) => {
  const p = pool('10.33.0.0/29', '10.33.0.1');
  const gone = deadOwner('crashed');
  const reused = { id: 'reused', pid: process.pid, startTime: processStartTime(process.pid) + 12345 };
  t.is((await allocate(p, gone)).address, '10.33.0.2');
  t.is((await allocate(p, reused)).address, '10.33.0.3');
  t.is((await allocate(p, selfOwner('alive'))).address, '10.33.0.4');
  t.deepEqual(listLeases(p.dir).map((l) => l.alive), [false, false, true]);
  // A fixed address held by a dead owner is free.
  t.like(await allocate(p, selfOwner('fixed'), { ip: '10.33.0.2' }), { id: 'fixed', address: '10.33.0.2' });
  // A writer that died between its write and its rename left a temporary: swept.
  fs.writeFileSync(path.join(p.dir, '.tmp.99999.10.33.0.6'), '{');
  fs.writeFileSync(path.join(p.dir, '10.33.0.6'), 'not json'); // a damaged lease holds nothing
  t.deepEqual(await reclaim(p.dir), ['10.33.0.3', '10.33.0.6']);
  t.deepEqual(listLeases(p.dir).map((l) => l.address), ['10.33.0.2', '10.33.0.4']);
  t.false(fs.readdirSync(p.dir).some((n) => n.startsWith('.tmp.')));
  // The walk reclaims what lies in its way: fill up with dead owners, then one more.
  t.is((await allocate(p, gone)).address, '10.33.0.5');
  t.is((await allocate(p, gone)).address, '10.33.0.6');
  t.is((await allocate(p, gone)).address, '10.33.0.3');
  t.is((await allocate(p, selfOwner('late'))).address, '10.33.0.5', 'a full pool of dead leases still has room');
});

test('release and releaseOwner give back only what the owner holds; transfer hands a lease to its init', async (t) => {
  const p = pool('fd00:34::/120', 'fd00:34::1');
  const a1 = await allocate(p, selfOwner('a'));
  t.is(a1.address, 'fd00:34::2', 'IPv6 pools work the same way, in canonical spelling');
  await allocate(p, selfOwner('b'));
  const a2 = await allocate(p, selfOwner('a'), { ip: 'fd00:34:0:0::80' });
  t.is(a2.address, 'fd00:34::80');
  t.false(await release(p.dir, a1.address, 'b'), "someone else's lease is not released");
  t.false(await release(p.dir, 'fd00:34::99', 'a'));
  t.false(await release(path.join(root, 'nowhere'), a1.address, 'a'), 'a network without leases');
  const init = spawn('sleep', ['30']);
  t.teardown(() => init.kill('SIGKILL'));
  await transfer(p.dir, a1.address, { id: 'a', pid: init.pid, startTime: processStartTime(init.pid) });
  t.like(listLeases(p.dir).find((l) => l.address === a1.address), { id: 'a', pid: init.pid, alive: true });
  await t.throwsAsync(transfer(p.dir, a1.address, selfOwner('b')), { instanceOf: NetworkError, message: /is not leased to container "b" \(it is "a"'s\)/ });
  t.deepEqual(await releaseOwner(p.dir, 'a'), ['fd00:34::2', 'fd00:34::80']);
  t.deepEqual(listLeases(p.dir).map((l) => l.id), ['b']);
  t.deepEqual(await releaseOwner(path.join(root, 'nowhere'), 'a'), []);
});

// Each child allocates `per` addresses for owners of its own, all of them
// kept alive by this (the test's) process, starting together at `startAt`.
const CHILD = `
import { allocate } from ${JSON.stringify(new URL('../../dist/lib/network/ipam.js', import.meta.url).href)};
import { parseAddress, parseSubnet } from ${JSON.stringify(new URL('../../dist/lib/network/subnet.js', import.meta.url).href)};
const [dir, me, per, startAt, ownerPid, ownerStart] = process.argv.slice(1);
const pool = { network: 'shared', dir, subnet: parseSubnet('10.35.0.0/27', 's'), gateway: parseAddress('10.35.0.1', 'g') };
while (Date.now() < Number(startAt)) {}
const out = [];
for (let i = 0; i < Number(per); i++) {
  try {
    out.push((await allocate(pool, { id: me + '-' + i, pid: Number(ownerPid), startTime: Number(ownerStart) })).address);
  } catch (err) {
    out.push(err.code);
  }
}
process.stdout.write(JSON.stringify(out));
`;

test('several processes allocating at once get distinct addresses, and exactly the pool runs dry', async (t) => {
  const dir = leasesDir(root, 'shared');
  const children = 4;
  const per = 9; // 36 asks for the 29 addresses of a /27 beside its gateway
  const startAt = Date.now() + 800;
  const results = await Promise.all(
    Array.from({ length: children }, (_, i) =>
      new Promise((resolve, reject) => {
        const c = spawn(process.execPath, ['--input-type=module', '-e', CHILD, dir, `c${i}`, String(per), String(startAt), String(process.pid), String(processStartTime(process.pid))], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        c.stdout.on('data', (d) => (out += d));
        c.on('error', reject);
        c.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child ${i} exited ${code}`))));
      }),
    ),
  );
  const all = results.flat();
  const addresses = all.filter((a) => a.startsWith('10.'));
  t.is(addresses.length, 29);
  t.is(new Set(addresses).size, 29, 'no address was given twice');
  t.false(addresses.includes('10.35.0.1'));
  t.deepEqual(all.filter((a) => !a.startsWith('10.')), Array(7).fill('ADDRESS_POOL_EXHAUSTED'));
  const leases = listLeases(dir);
  t.is(leases.length, 29);
  t.deepEqual(leases.map((l) => l.address).sort(), [...addresses].sort(), 'the disk says what the children were told');
  t.true(leases.every((l) => l.alive && l.pid === process.pid));
});
