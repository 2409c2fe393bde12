// An "app" for the inbound tests: answers every HTTP request with the peer address it sees, so a test can tell
// which source the sidecar's inbound passthrough connected from. Listens on every address of its namespace (IPv4
// and IPv6 apart, so an IPv4 peer is not shown as ::ffff:…); prints "ready" once listening.
import http from 'node:http';

const port = Number(process.argv[2] ?? '8080');
const answer = (req: http.IncomingMessage, res: http.ServerResponse): void => {
  const body = `${req.socket.remoteAddress ?? '-'}\n`;
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
  res.end(body);
};
const servers = ['0.0.0.0', '::'].map((host) => http.createServer(answer).listen({ port, host, ipv6Only: host === '::' }));
let listening = 0;
for (const server of servers) server.on('listening', () => { if (++listening === servers.length) process.stdout.write('ready\n'); });
process.on('SIGTERM', () => process.exit(0));
