// The far ends of network-objects.test.js's traffic, run under
// `nsenter --net=<namespace>` by the test (which kills the servers by pid):
//   serve-tcp <addr> <port>   answers every connection with the peer's address, then closes
//   serve-udp <addr> <port>   answers every datagram with the sender's address
//   tcp <addr> <port> [ms]    prints the answer, or "ERR <code>"
//   udp <addr> <port> [ms]    prints the answer, or "ERR <code>"
// A server prints "ready" once it listens.
import dgram from 'node:dgram';
import net from 'node:net';

const [mode, host, portText, msText] = process.argv.slice(2);
const port = Number(portText);
const ms = Number(msText ?? 3000);
const bare = (a) => a.replace(/^::ffff:/, '');

if (mode === 'serve-tcp') {
  const server = net.createServer((s) => s.end(`${bare(s.remoteAddress)}\n`));
  server.listen({ host, port }, () => process.stdout.write('ready\n'));
} else if (mode === 'serve-udp') {
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  sock.on('message', (_m, r) => sock.send(`${bare(r.address)}\n`, r.port, r.address));
  sock.bind(port, host, () => process.stdout.write('ready\n'));
} else if (mode === 'tcp') {
  let got = '';
  const s = net.connect({ host, port });
  const timer = setTimeout(() => {
    process.stdout.write('ERR ETIMEDOUT\n');
    process.exit(0);
  }, ms);
  s.on('data', (d) => (got += d));
  s.on('end', () => {
    clearTimeout(timer);
    process.stdout.write(got);
  });
  s.on('error', (e) => {
    clearTimeout(timer);
    process.stdout.write(`ERR ${e.code}\n`);
  });
} else if (mode === 'udp') {
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const timer = setTimeout(() => {
    process.stdout.write('ERR ETIMEDOUT\n');
    process.exit(0);
  }, ms);
  sock.on('message', (m) => {
    clearTimeout(timer);
    process.stdout.write(m.toString());
    sock.close();
  });
  sock.on('error', (e) => {
    clearTimeout(timer);
    process.stdout.write(`ERR ${e.code}\n`);
    sock.close();
  });
  sock.send('?', port, host);
} else {
  process.stderr.write(`network-peer: unknown mode ${mode}\n`);
  process.exit(2);
}
