// Joins a TCP port inside a network namespace to a TCP port on the host through a Unix socket, which both sides
// can reach on the shared filesystem (a process cannot hold sockets in two network namespaces at once).
//   host side:      node --import tsx test/helpers/unix-bridge.ts unix-to-tcp SOCKET HOST:PORT
//   namespace side: node --import tsx test/helpers/unix-bridge.ts tcp-to-unix 127.0.0.1:PORT SOCKET
import { chmodSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';

const [mode, from, to] = process.argv.slice(2);
if (!mode || !from || !to) {
  process.stderr.write('usage: unix-bridge.ts unix-to-tcp SOCKET HOST:PORT | tcp-to-unix HOST:PORT SOCKET\n');
  process.exit(2);
}
const hostPort = (text: string): { host: string; port: number } => {
  const at = text.lastIndexOf(':');
  return { host: text.slice(0, at), port: Number(text.slice(at + 1)) };
};
const splice = (client: Socket, upstream: Socket): void => {
  client.pipe(upstream).pipe(client);
  const close = (): void => { client.destroy(); upstream.destroy(); };
  client.on('error', close);
  upstream.on('error', close);
  client.on('close', close);
  upstream.on('close', close);
};

if (mode === 'unix-to-tcp') {
  rmSync(from, { force: true });
  const target = hostPort(to);
  createServer((client) => splice(client, connect(target.port, target.host))).listen(from, () => {
    chmodSync(from, 0o666);
    process.stdout.write('ready\n');
  });
} else {
  const listen = hostPort(from);
  createServer((client) => splice(client, connect(to))).listen(listen.port, listen.host, () => process.stdout.write('ready\n'));
}
