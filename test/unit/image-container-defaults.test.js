// The image config as container defaults (Docker's rules): Entrypoint/Cmd
// overrides, env merge, WorkingDir, User through /etc/passwd and /etc/group,
// supplementary groups, HOME, Volumes, ExposedPorts, Labels, StopSignal; each
// refusal names the JSON path. Pure: no file system.
import test from 'ava';
import { ConfigError, ImageError } from '../../dist/lib/errors.js';
import { DEFAULT_PATH, parseGroup, parsePasswd, parseSignal, resolveContainerDefaults as resolve } from '../../dist/lib/image/container-defaults.js';

const img = (config) => ({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config });

const PASSWD = ['root:x:0:0:root:/root:/bin/sh', 'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin', '# a comment: never uid 0', '', 'app:x:1000:1000:App:/home/app:/bin/sh', 'nohome:x:1001:1001::', 'broken:x:notanumber:1:::', '+nis'].join('\n');
const GROUP = ['root:x:0:root', 'bin:x:1:root,daemon', 'wheel:x:10:root,app', 'app:x:1000:', 'staff:x:50:app', 'docker:x:999:app, other', 'again:x:10:app'].join('\n');
const FILES = { passwd: PASSWD, group: GROUP };

function refusedAt(t, fn, Kind, field, re) {
  const err = t.throws(fn, { instanceOf: Kind });
  t.is(err.field, field, err.message);
  t.true(err.message.includes(field), `the message names ${field}: ${err.message}`);
  if (re) t.regex(err.message, re);
  if (Kind === ImageError) t.is(err.code, 'IMAGE_INVALID');
  if (Kind === ConfigError) t.is(err.code, 'INVALID_CONFIG');
  return err;
}

test('args: Entrypoint + Cmd; caller args replace Cmd and keep Entrypoint', (t) => {
  const c = img({ Entrypoint: ['/entry', '-x'], Cmd: ['serve', '--port=80'] });
  t.deepEqual(resolve(c).process.args, ['/entry', '-x', 'serve', '--port=80']);
  t.deepEqual(resolve(c, { args: ['ls', '/'] }).process.args, ['/entry', '-x', 'ls', '/']);
  t.deepEqual(resolve(c, { args: [] }).process.args, ['/entry', '-x', 'serve', '--port=80'], 'empty args are no args (Docker: len(Cmd) == 0)');
  t.deepEqual(resolve(img({ Cmd: ['/bin/sh'] }), { args: ['echo', 'hi'] }).process.args, ['echo', 'hi']);
  t.deepEqual(resolve(img({ Cmd: '/bin/sh -c true' })).process.args, ['/bin/sh -c true'], 'a string Cmd is one argument (strslice)');
  t.deepEqual(resolve(img({ Entrypoint: null, Cmd: ['/bin/sh'] })).process.args, ['/bin/sh']);
});

test('args: a caller entrypoint replaces Entrypoint and drops Cmd; an empty one clears Entrypoint and keeps Cmd', (t) => {
  const c = img({ Entrypoint: ['/entry'], Cmd: ['serve'] });
  t.deepEqual(resolve(c, { entrypoint: ['/bin/sh'] }).process.args, ['/bin/sh'], 'the image Cmd is dropped');
  t.deepEqual(resolve(c, { entrypoint: ['/bin/sh'], args: ['-c', 'id'] }).process.args, ['/bin/sh', '-c', 'id']);
  t.deepEqual(resolve(c, { entrypoint: [] }).process.args, ['serve'], '--entrypoint "": the image Cmd runs');
  t.deepEqual(resolve(c, { entrypoint: null, args: ['/bin/true'] }).process.args, ['/bin/true']);
});

test('args: no command anywhere is refused at process.args; malformed lists name their element', (t) => {
  refusedAt(t, () => resolve(img({})), ConfigError, 'process.args', /no command/);
  refusedAt(t, () => resolve(img({ Entrypoint: ['/e'] }), { entrypoint: [] }), ConfigError, 'process.args');
  refusedAt(t, () => resolve(img({ Cmd: ['ok', 7] })), ImageError, 'config.Cmd[1]');
  refusedAt(t, () => resolve(img({ Entrypoint: { a: 1 } })), ImageError, 'config.Entrypoint');
  refusedAt(t, () => resolve(img({ Cmd: ['x'] }), { args: ['a', null] }), ConfigError, 'process.args[1]');
  refusedAt(t, () => resolve(img({ Cmd: ['x'] }), { entrypoint: 'sh' }), ConfigError, 'process.entrypoint');
  refusedAt(t, () => resolve({ config: [] }), ImageError, 'config');
});

test('env: the caller wins by key, image order first, new keys after; PATH and HOME added only when missing', (t) => {
  const c = img({ Env: ['PATH=/image/bin', 'A=1', 'B=2', 'EQ=x=y'], Cmd: ['x'] });
  t.deepEqual(resolve(c, { env: ['B=caller', 'C=3'] }, FILES).process.env, ['PATH=/image/bin', 'A=1', 'B=caller', 'EQ=x=y', 'C=3', 'HOME=/root']);
  t.true(resolve(c).process.env.includes('HOME=/'), 'no passwd: HOME=/');
  t.deepEqual(resolve(c, { env: { A: 'obj', HOME: '/h' } }).process.env, ['PATH=/image/bin', 'A=obj', 'B=2', 'EQ=x=y', 'HOME=/h']);
  t.deepEqual(resolve(img({ Cmd: ['x'] })).process.env, [`PATH=${DEFAULT_PATH}`, 'HOME=/'], 'no passwd: HOME=/');
  t.deepEqual(resolve(img({ Cmd: ['x'], Env: ['HOME=/img'] }), {}, FILES).process.env, ['HOME=/img', `PATH=${DEFAULT_PATH}`], "the image's HOME stays");
  refusedAt(t, () => resolve(img({ Cmd: ['x'], Env: ['OK=1', 'NOEQUALS'] })), ImageError, 'config.Env[1]', /KEY=value/);
  refusedAt(t, () => resolve(img({ Cmd: ['x'], Env: ['=v'] })), ImageError, 'config.Env[0]');
  refusedAt(t, () => resolve(c, { env: ['X=1', 'BAD'] }), ConfigError, 'process.env[1]');
  refusedAt(t, () => resolve(c, { env: { 'A=B': 'x' } }), ConfigError, 'process.env["A=B"]');
  refusedAt(t, () => resolve(c, { env: { N: 5 } }), ConfigError, 'process.env.N');
  refusedAt(t, () => resolve(c, { env: 'A=1' }), ConfigError, 'process.env');
});

test('cwd: the caller, else WorkingDir, else /; absolute and normalized', (t) => {
  const c = img({ Cmd: ['x'], WorkingDir: '/srv//app/' });
  t.is(resolve(c).process.cwd, '/srv/app');
  t.is(resolve(c, { cwd: '/tmp/../var' }).process.cwd, '/var');
  t.is(resolve(img({ Cmd: ['x'] })).process.cwd, '/');
  t.is(resolve(img({ Cmd: ['x'], WorkingDir: '' })).process.cwd, '/');
  refusedAt(t, () => resolve(img({ Cmd: ['x'], WorkingDir: 'rel/dir' })), ImageError, 'config.WorkingDir', /absolute/);
  refusedAt(t, () => resolve(c, { cwd: 'here' }), ConfigError, 'process.cwd', /absolute/);
  refusedAt(t, () => resolve(c, { cwd: '' }), ConfigError, 'process.cwd');
});

test('user: root by default, with the groups that list root (as `docker run alpine id`) and its HOME', (t) => {
  const d = resolve(img({ Cmd: ['x'] }), {}, FILES);
  t.deepEqual(d.process.user, { uid: 0, gid: 0, username: 'root', additionalGids: [0, 1, 10] });
  t.true(d.process.env.includes('HOME=/root'));
  t.deepEqual(resolve(img({ Cmd: ['x'] })).process.user, { uid: 0, gid: 0 }, 'no passwd: plain root');
});

test('user: "name" and "uid" through /etc/passwd: its gid, its home, supplementary groups listing it', (t) => {
  const byName = resolve(img({ Cmd: ['x'], User: 'app' }), {}, FILES);
  t.deepEqual(byName.process.user, { uid: 1000, gid: 1000, username: 'app', additionalGids: [10, 50, 999] }, 'wheel, staff, docker (" other" trimmed); a second gid 10 once');
  t.true(byName.process.env.includes('HOME=/home/app'));
  t.deepEqual(resolve(img({ Cmd: ['x'], User: '1000' }), {}, FILES).process.user, byName.process.user, 'a uid with an entry is that user');
  const unknownUid = resolve(img({ Cmd: ['x'], User: '4242' }), {}, FILES);
  t.deepEqual(unknownUid.process.user, { uid: 4242, gid: 0 }, 'a uid without an entry: gid 0, no groups');
  t.true(unknownUid.process.env.includes('HOME=/'));
  t.true(resolve(img({ Cmd: ['x'], User: 'nohome' }), {}, FILES).process.env.includes('HOME=/'), 'an empty home is /');
  t.deepEqual(resolve(img({ Cmd: ['x'], User: 'daemon' }), {}, FILES).process.user, { uid: 1, gid: 1, username: 'daemon', additionalGids: [1] });
});

test('user: "name:group" and "uid:gid": the group replaces the gid, and no supplementary groups are added', (t) => {
  const x = (User, files = FILES) => resolve(img({ Cmd: ['x'], User }), {}, files).process.user;
  t.deepEqual(x('app:staff'), { uid: 1000, gid: 50, username: 'app' });
  t.deepEqual(x('app:999'), { uid: 1000, gid: 999, username: 'app' });
  t.deepEqual(x('1000:4242'), { uid: 1000, gid: 4242, username: 'app' }, 'a gid without an entry');
  t.deepEqual(x('4242:4343'), { uid: 4242, gid: 4343 });
  t.deepEqual(x('4242:4343', {}), { uid: 4242, gid: 4343 }, 'numbers need no files');
  t.deepEqual(x('root:wheel'), { uid: 0, gid: 10, username: 'root' });
});

test('user: unknown names and malformed specs are refused at config.User (image) or process.user (caller)', (t) => {
  const c = (User) => img({ Cmd: ['x'], User });
  refusedAt(t, () => resolve(c('nobody'), {}, FILES), ImageError, 'config.User', /no user "nobody" in the image's \/etc\/passwd/);
  refusedAt(t, () => resolve(c('app:nogroup'), {}, FILES), ImageError, 'config.User', /no group "nogroup"/);
  refusedAt(t, () => resolve(c('app'), {}, {}), ImageError, 'config.User', /has no \/etc\/passwd/);
  refusedAt(t, () => resolve(c('1000:staff'), {}, { passwd: PASSWD }), ImageError, 'config.User', /has no \/etc\/group/);
  refusedAt(t, () => resolve(c('app:'), {}, FILES), ImageError, 'config.User');
  refusedAt(t, () => resolve(c('a:b:c'), {}, FILES), ImageError, 'config.User');
  refusedAt(t, () => resolve(c('99999999999'), {}, FILES), ImageError, 'config.User', /at most/);
  refusedAt(t, () => resolve(c(7), {}, FILES), ImageError, 'config.User');
  refusedAt(t, () => resolve(c('app'), { user: 'ghost' }, FILES), ConfigError, 'process.user', /no user "ghost"/);
  refusedAt(t, () => resolve(c('app'), { user: ['x'] }, FILES), ConfigError, 'process.user');
  refusedAt(t, () => resolve(c('app'), { user: { uid: -1 } }, FILES), ConfigError, 'process.user.uid');
  refusedAt(t, () => resolve(c('app'), { user: { uid: 1, additionalGids: [1, 'x'] } }, FILES), ConfigError, 'process.user.additionalGids[1]');
});

test('user: the caller wins over User; numeric OCI ids are taken as given (HOME still from passwd)', (t) => {
  const c = img({ Cmd: ['x'], User: 'app' });
  t.deepEqual(resolve(c, { user: 'daemon' }, FILES).process.user, { uid: 1, gid: 1, username: 'daemon', additionalGids: [1] });
  const oci = resolve(c, { user: { uid: 1000, gid: 5, additionalGids: [7], umask: 0o077 } }, FILES);
  t.deepEqual(oci.process.user, { uid: 1000, gid: 5, additionalGids: [7], umask: 0o077, username: 'app' });
  t.true(oci.process.env.includes('HOME=/home/app'));
  t.deepEqual(resolve(c, { user: {} }, FILES).process.user, { uid: 0, gid: 0, username: 'root' });
});

test('passwd and group parsing: comments, NIS and malformed lines never match', (t) => {
  t.deepEqual(parsePasswd(PASSWD).map((u) => u.name), ['root', 'daemon', 'app', 'nohome']);
  t.deepEqual(parseGroup(GROUP).find((g) => g.name === 'docker').members, ['app', 'other']);
  t.deepEqual(parsePasswd('#root:x:0:0::/:/bin/sh\n'), []);
});

test('volumes, exposed ports, labels, stop signal: normalized, and refused by JSON path', (t) => {
  const d = resolve(img({ Cmd: ['x'], Volumes: { '/data/': {}, '/var/log': {}, '/data': {} }, ExposedPorts: { '80/tcp': {}, '53/udp': {}, 8080: {}, '9000-9002/tcp': {}, '80': {} }, Labels: { 'org.x': 'y' }, StopSignal: 'SIGQUIT' }));
  t.deepEqual(d.volumes, ['/data', '/var/log']);
  t.deepEqual(d.exposedPorts, [
    { port: 53, protocol: 'udp' },
    { port: 80, protocol: 'tcp' },
    { port: 8080, protocol: 'tcp' },
    { port: 9000, protocol: 'tcp' },
    { port: 9001, protocol: 'tcp' },
    { port: 9002, protocol: 'tcp' },
  ]);
  t.deepEqual(d.labels, { 'org.x': 'y' });
  t.is(d.stopSignal, 'SIGQUIT');
  const none = resolve(img({ Cmd: ['x'] }));
  t.deepEqual([none.volumes, none.exposedPorts, none.labels, none.stopSignal], [[], [], {}, 'SIGTERM']);
  t.is(resolve(img({ Cmd: ['x'], StopSignal: '9' })).stopSignal, 'SIGKILL');
  t.is(resolve(img({ Cmd: ['x'], StopSignal: 'term' })).stopSignal, 'SIGTERM');
  t.is(resolve(img({ Cmd: ['x'], StopSignal: 'SIGRTMIN+3' })).stopSignal, 37);
  t.is(parseSignal(64, 'x'), 64);
  refusedAt(t, () => resolve(img({ Cmd: ['x'], Volumes: { 'rel/path': {} } })), ImageError, 'config.Volumes["rel/path"]', /absolute/);
  refusedAt(t, () => resolve(img({ Cmd: ['x'], Volumes: ['/data'] })), ImageError, 'config.Volumes');
  refusedAt(t, () => resolve(img({ Cmd: ['x'], ExposedPorts: { '70000/tcp': {} } })), ImageError, 'config.ExposedPorts["70000/tcp"]');
  refusedAt(t, () => resolve(img({ Cmd: ['x'], ExposedPorts: { '80/icmp': {} } })), ImageError, 'config.ExposedPorts["80/icmp"]');
  refusedAt(t, () => resolve(img({ Cmd: ['x'], Labels: { 'a.b': 1 } })), ImageError, 'config.Labels["a.b"]');
  refusedAt(t, () => resolve(img({ Cmd: ['x'], StopSignal: 'SIGNOPE' })), ImageError, 'config.StopSignal');
  refusedAt(t, () => resolve(img({ Cmd: ['x'], StopSignal: '200' })), ImageError, 'config.StopSignal');
});

test('an image config without a config section: the caller must give the command', (t) => {
  const d = resolve({ rootfs: { type: 'layers', diff_ids: [] } }, { args: ['/bin/true'] });
  t.deepEqual(d.process, { args: ['/bin/true'], env: [`PATH=${DEFAULT_PATH}`, 'HOME=/'], cwd: '/', user: { uid: 0, gid: 0 } });
});
