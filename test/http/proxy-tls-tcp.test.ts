import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer as createTcpServer, connect, type AddressInfo, type Server } from 'node:net';
import { createServer as createTlsServer, connect as tlsConnect } from 'node:tls';
import { generate } from 'selfsigned';
import { meshConfigMap, serviceEntry, startHarness, waitFor, type Harness } from './proxy-harness.ts';

let h: Harness;
let tlsPort: number;
const servers: Server[] = [];

function curl(url: string, proxyPort: number): Promise<{ code: number; body: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['-sk', '--max-time', '5', '--connect-to', `::127.0.0.1:${proxyPort}`, url], (error, stdout) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, body: stdout });
    });
  });
}

async function tlsServer(host: string, port: number, body: string): Promise<number> {
  const pems = await generate([{ name: 'commonName', value: 'www.google.test' }], { keySize: 2048, algorithm: 'sha256' });
  const server = createTlsServer({ key: pems.private, cert: pems.cert }, (socket) => {
    socket.once('data', () => socket.end(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`));
  });
  await new Promise<void>((r) => server.listen(port, host, r));
  servers.push(server);
  return (server.address() as AddressInfo).port;
}

before(async () => {
  tlsPort = await tlsServer('127.0.0.1', 0, 'good-upstream');
  await tlsServer('127.0.0.2', tlsPort, 'spoofed-upstream');
  h = await startHarness([meshConfigMap('ALLOW_ANY')]);
  h.target = { address: '127.0.0.1', port: tlsPort, family: 4 };
});
after(async () => {
  await h.close();
  for (const s of servers) s.close();
});

const googleEntry = () => serviceEntry('google', { hosts: ['www.google.test'], ports: [{ number: tlsPort, name: 'https', protocol: 'HTTPS' }], resolution: 'DNS', location: 'MESH_EXTERNAL' });

test('ALLOW_ANY passes TLS through untouched and logs "- - -" with the SNI', async () => {
  const res = await curl(`https://www.google.test:${tlsPort}/`, h.proxy.port);
  assert.equal(res.code, 0);
  assert.equal(res.body, 'good-upstream');
  await waitFor(() => h.accessLog.some((l) => l.includes('"- - -"') && l.includes('www.google.test')));
  const line = h.accessLog.find((l) => l.includes('"- - -"'))!;
  assert.match(line, /"- - -" 0 - - - "-" \d+ \d+ \d+ - "-" "-" "-" "-" "127\.0\.0\.1:\d+" PassthroughCluster .* www\.google\.test -\n$/);
});

test('REGISTRY_ONLY closes TLS to an unknown SNI (curl exit 35) and counts it as BlackHoleCluster', async () => {
  h.setConfig([meshConfigMap('REGISTRY_ONLY')]);
  const res = await curl(`https://www.google.test:${tlsPort}/`, h.proxy.port);
  assert.equal(res.code, 35);
  await waitFor(() => h.accessLog.some((l) => l.includes('BlackHoleCluster')));
  assert.match(await h.proxy.metrics.registry.metrics(), /istio_tcp_connections_closed_total\{[^}]*destination_service_name="BlackHoleCluster"/);
});

test('a TLS ServiceEntry matched by SNI lets HTTPS through, logged with its cluster and SNI', async () => {
  h.setConfig([meshConfigMap('REGISTRY_ONLY'), googleEntry()]);
  const res = await curl(`https://www.google.test:${tlsPort}/`, h.proxy.port);
  assert.equal(res.code, 0);
  assert.equal(res.body, 'good-upstream');
  await waitFor(() => h.accessLog.some((l) => l.includes(`outbound|${tlsPort}||www.google.test`)));
  const event = JSON.parse(h.events.at(-1)!);
  assert.equal(event.requestedServerName, 'www.google.test');
  assert.ok(event.sentBytes > 0 && event.receivedBytes > 0);
});

test('resolution DNS connects to the DNS answer for the SNI, never to the dialled IP (SNI spoofing)', async () => {
  h.setConfig([meshConfigMap('REGISTRY_ONLY'), googleEntry()]);
  h.target = { address: '127.0.0.2', port: tlsPort, family: 4 };
  try {
    const res = await curl(`https://www.google.test:${tlsPort}/`, h.proxy.port);
    assert.equal(res.body, 'good-upstream');
  } finally {
    h.target = { address: '127.0.0.1', port: tlsPort, family: 4 };
  }
});

test('TLS without SNI is closed under REGISTRY_ONLY even when some SNI is allowed on the port', async () => {
  h.setConfig([meshConfigMap('REGISTRY_ONLY'), googleEntry()]);
  const outcome = await new Promise<string>((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: h.proxy.port, rejectUnauthorized: false }); // IP: no SNI sent
    socket.once('secureConnect', () => { socket.destroy(); resolve('handshake completed'); });
    socket.once('error', () => resolve('closed'));
    socket.once('close', () => resolve('closed'));
  });
  assert.equal(outcome, 'closed');
});

test('server-first TCP: silence becomes TCP after the sniff timeout; allowed by address, else closed', async () => {
  const banner = createTcpServer((s) => s.end('220 banner\r\n'));
  await new Promise<void>((r) => banner.listen(0, '127.0.0.1', r));
  servers.push(banner);
  const port = (banner.address() as AddressInfo).port;
  h.target = { address: '127.0.0.1', port, family: 4 };
  const read = (): Promise<string> => new Promise((resolve) => {
    const socket = connect(h.proxy.port, '127.0.0.1');
    let text = '';
    socket.on('data', (c) => { text += c; });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(text));
  });
  try {
    h.setConfig([meshConfigMap('REGISTRY_ONLY')]);
    assert.equal(await read(), '');
    h.setConfig([meshConfigMap('REGISTRY_ONLY'), serviceEntry('smtp', { hosts: ['smtp.test'], addresses: ['127.0.0.0/8'], ports: [{ number: port, name: 'tcp', protocol: 'TCP' }], resolution: 'NONE' })]);
    assert.equal(await read(), '220 banner\r\n');
  } finally {
    h.target = { address: '127.0.0.1', port: tlsPort, family: 4 };
  }
});
