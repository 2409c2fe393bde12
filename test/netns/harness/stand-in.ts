// A stand-in for an external site, run inside its own namespace: `--http` serves what the seed uses of httpbin.org
// (/headers echoing the request headers as JSON, /delay/N, /status/N); `--tls NAME` serves HTTPS with a leaf for NAME
// signed by the test CA. Prints "ready" once listening on every address.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';

function httpbin(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://stand-in');
  const reply = (status: number, body: unknown): void => {
    const text = JSON.stringify(body, null, 2) + '\n';
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  if (url.pathname === '/headers') {
    // httpbin's shape: header names in Canonical-Case, values as sent.
    const headers: Record<string, string> = {};
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = (req.rawHeaders[i] ?? '').split('-').map((w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()).join('-');
      headers[name] = req.rawHeaders[i + 1] ?? '';
    }
    return reply(200, { headers });
  }
  const delay = /^\/delay\/(\d+)$/.exec(url.pathname);
  if (delay) {
    const timer = setTimeout(() => reply(200, { delayed: Number(delay[1]) }), Math.min(Number(delay[1]), 10) * 1000);
    res.on('close', () => clearTimeout(timer));
    return;
  }
  const status = /^\/status\/(\d{3})$/.exec(url.pathname);
  if (status) return reply(Number(status[1]), {});
  reply(200, { stand_in: 'httpbin.org', path: url.pathname });
}

const args = process.argv.slice(2);
// Every address of its own namespace; STAND_IN_ADDRESS narrows it to one (a stand-in served on a shared host: the
// real-node suite's stand-in addresses on the node).
const addresses = process.env['STAND_IN_ADDRESS'] ? [process.env['STAND_IN_ADDRESS']] : ['0.0.0.0', '::'];
const servers: http.Server[] = [];
if (args[0] === '--http') {
  for (const host of addresses) servers.push(http.createServer(httpbin).listen({ port: 80, host, ipv6Only: host === '::' }));
} else if (args[0] === '--tls') {
  const [, name, certFile, keyFile] = args;
  const options = { cert: readFileSync(certFile as string), key: readFileSync(keyFile as string) };
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const body = `<html><title>${name}</title><body>stand-in for ${name}: ${req.method} ${req.url}</body></html>\n`;
    res.writeHead(200, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  for (const host of addresses) servers.push(https.createServer(options, handler).listen({ port: 443, host, ipv6Only: host === '::' }));
} else {
  process.stderr.write('usage: stand-in.ts --http | --tls NAME CERT KEY\n');
  process.exit(2);
}
let listening = 0;
for (const server of servers) server.on('listening', () => { if (++listening === servers.length) process.stdout.write('ready\n'); });
process.on('SIGTERM', () => process.exit(0));
// On a shared host (STAND_IN_ADDRESS) a stand-in orphaned by a killed test run exits rather than hold its address.
if (process.env['STAND_IN_ADDRESS']) {
  const parent = process.ppid;
  setInterval(() => { if (process.ppid !== parent) process.exit(0); }, 1000).unref();
}
