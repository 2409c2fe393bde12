// Answers every connection on a port with a fixed HTTP body: a stand-in for a server whose identity the test reads
// from the answer (the redirect target on 15001, or a server behind another interface).
import net from 'node:net';

const port = Number(process.argv[2]);
const marker = process.argv[3] ?? 'marker';
const server = net.createServer((socket) => {
  socket.once('data', () => {
    socket.end(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${marker.length + 1}\r\nconnection: close\r\n\r\n${marker}\n`);
  });
  socket.on('error', () => socket.destroy());
});
server.listen({ port, host: '::' }, () => process.stdout.write(`ready ${marker}\n`));
process.on('SIGTERM', () => process.exit(0));
