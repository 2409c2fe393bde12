// Stands in for the proxy in the init-only tests: accepts on the redirect port and answers every connection with a
// tiny HTTP response whose body is originalDestination(socket) as JSON, which proves both the REDIRECT and the addon.
import net from 'node:net';
import { originalDestination, originalDestinationAvailable } from '../../../src/proxy/original-dst.ts';

const port = Number(process.argv[2] ?? 15001);
const server = net.createServer((socket) => {
  const body = JSON.stringify({ redirected: true, original: originalDestination(socket) ?? null }) + '\n';
  socket.once('data', () => {
    socket.end(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });
  socket.on('error', () => socket.destroy());
});
server.listen({ port, host: '::' }, () => process.stdout.write(`ready addon=${originalDestinationAvailable()}\n`));
process.on('SIGTERM', () => process.exit(0));
