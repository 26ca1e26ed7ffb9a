// terminal: true — a pty from the container's own /dev/pts, controlling
// terminal of a new session, resizable from Node.
import test from 'ava';
import fs from 'node:fs';
import { createContainer } from '../../dist/lib/index.js';
import { assertNoLeaks, outputOf, ROOTFS, settledSnapshot, stateRootFor } from './helpers.js';

const stateRoot = stateRootFor('terminal');

function collect(terminal) {
  let text = '';
  terminal.on('data', (d) => (text += d));
  return {
    get text() {
      return text;
    },
    async until(re, ms = 5000) {
      const end = Date.now() + ms;
      while (!re.test(text)) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${re} in ${JSON.stringify(text)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
}

test.serial('exec with a terminal: tty is a /dev/pts path that exists inside, stty size follows resize()', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const c = await createContainer({ rootfs: ROOTFS, stateRoot, process: { args: ['sleep', '1000'] } });
  try {
    await c.start();
    const sh = await c.exec({ args: ['/bin/sh'], terminal: true, consoleSize: { width: 120, height: 40 } });
    t.is(sh.stdout, null, 'the terminal replaces the stdio pipes');
    const out = collect(sh.terminal);
    sh.terminal.write('echo T=$(tty); [ -c $(tty) ] && echo EXISTS; stty size; echo STAT $$ $(cut -d" " -f6,7 /proc/$$/stat)\n');
    await out.until(/STAT \d+ \d+ \d+/);
    t.regex(out.text, /T=\/dev\/pts\/\d+/);
    t.regex(out.text, /EXISTS/);
    t.regex(out.text, /\n40 120\r?\n/);
    const [, pid, session, ttyNr] = /STAT (\d+) (\d+) (\d+)/.exec(out.text);
    t.is(session, pid, 'sh leads a new session');
    t.not(ttyNr, '0', 'with the pty as its controlling terminal');
    sh.resize({ width: 100, height: 30 });
    sh.terminal.write('stty size; exit 3\n');
    t.deepEqual(await sh.wait(), { exitCode: 3, signal: null });
    await out.until(/\n30 100\r?\n/);
    t.regex(fs.readlinkSync(`/proc/${c.pid}/root`), /./);
  } finally {
    await c.destroy();
  }
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('the init can have a terminal too; TERM defaults to xterm; the tty belongs to the user', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const c = await createContainer({ rootfs: ROOTFS, stateRoot, process: { args: ['/bin/sh', '-c', 'tty; echo TERM=$TERM; stat -c %u $(tty)'], terminal: true, user: { uid: 1000, gid: 1000 } } });
  const init = await c.start();
  const out = collect(init.terminal);
  t.is((await init.wait()).exitCode, 0);
  await out.until(/\n1000\r?\n/);
  t.regex(out.text, /^\/dev\/pts\/0\r?\nTERM=xterm\r?\n1000/);
  await c.destroy();
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('the init with a terminal has it at /dev/console too (as runc); an exec with a terminal leaves /dev/console alone', async (t) => {
  const before = await settledSnapshot(stateRoot);
  const c = await createContainer({
    rootfs: ROOTFS,
    stateRoot,
    process: { args: ['/bin/sh', '-c', 'echo C=$(stat -c %t:%T /dev/console) T=$(stat -c %t:%T $(tty)); echo via-console > /dev/console; sleep 1000'], terminal: true },
  });
  try {
    const init = await c.start();
    const out = collect(init.terminal);
    await out.until(/via-console/);
    const [, con, tty] = /C=(\S+) T=(\S+)/.exec(out.text);
    t.is(con, tty, 'the same device: the pty slave');
    const { out: text } = await outputOf(await c.exec({ args: ['cat', '/proc/self/mountinfo'] }));
    t.is(text.split('\n').filter((l) => l.split(' ')[4] === '/dev/console').length, 1, 'one bind at /dev/console');
    const sh = await c.exec({ args: ['/bin/sh', '-c', 'echo E=$(stat -c %t:%T /dev/console) T=$(stat -c %t:%T $(tty))'], terminal: true });
    const eout = collect(sh.terminal);
    await sh.wait();
    await eout.until(/E=\S+ T=\S+/);
    const [, econ, etty] = /E=(\S+) T=(\S+)/.exec(eout.text);
    t.is(econ, con, "the exec sees the init's console");
    t.not(etty, econ, 'and its own pty');
  } finally {
    await c.destroy();
  }
  await assertNoLeaks(t, before, stateRoot);
});

test.serial('resize() without a terminal is an error', async (t) => {
  const c = await createContainer({ rootfs: ROOTFS, stateRoot, process: { args: ['true'] } });
  const init = await c.start();
  t.is(t.throws(() => init.resize({ width: 10, height: 10 })).code, 'NO_TERMINAL');
  await c.destroy();
});

test.serial('consoleSize without terminal is a ConfigError', async (t) => {
  const err = await t.throwsAsync(createContainer({ rootfs: ROOTFS, stateRoot, process: { args: ['true'], consoleSize: { width: 1, height: 1 } } }));
  t.is(err.field, 'process.consoleSize');
});
