import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { meshConfigMap, proxyRequest, rawExchange, serviceEntry, startHarness, startUpstream, type Harness } from './proxy-harness.ts';

let h: Harness;
let good: Awaited<ReturnType<typeof startUpstream>>;
let evil: Awaited<ReturnType<typeof startUpstream>>;

before(async () => {
  good = await startUpstream('127.0.0.1');
  evil = await startUpstream('127.0.0.2', good.port);
  h = await startHarness([meshConfigMap('REGISTRY_ONLY'), serviceEntry('httpbin-ext', {
    hosts: ['httpbin.test', 'nowhere.invalid'], ports: [{ number: good.port, name: 'http', protocol: 'HTTP' }], resolution: 'DNS',
  })], { limits: { headersTimeoutMs: 400, maxHeaderBytes: 8192 } });
  h.target = { address: '127.0.0.1', port: good.port, family: 4 };
});
after(async () => {
  await h.close();
  good.server.close();
  evil.server.close();
});

const request = (lines: string[], body = ''): string => `${lines.join('\r\n')}\r\n\r\n${body}`;

test('oversized headers get 431', async () => {
  const res = await rawExchange(h.proxy.port, request(['GET / HTTP/1.1', 'Host: httpbin.test', `X-Big: ${'a'.repeat(10000)}`]));
  assert.match(res.text, /^HTTP\/1\.1 431 /);
});

test('too many headers get 431', async () => {
  const many = Array.from({ length: 150 }, (_, i) => `X-H${i}: v`);
  const res = await rawExchange(h.proxy.port, request(['GET / HTTP/1.1', 'Host: httpbin.test', ...many]));
  assert.match(res.text, /^HTTP\/1\.1 431 /);
});

const smuggling: Array<{ name: string; headers: string[] }> = [
  { name: 'Content-Length with Transfer-Encoding: chunked', headers: ['Content-Length: 4', 'Transfer-Encoding: chunked'] },
  { name: 'two different Content-Length values', headers: ['Content-Length: 4', 'Content-Length: 5'] },
  { name: 'an obfuscated Transfer-Encoding', headers: ['Transfer-Encoding: xchunked', 'Content-Length: 4'] },
  { name: 'Transfer-Encoding with a space before the colon', headers: ['Transfer-Encoding : chunked', 'Content-Length: 4'] },
];
for (const c of smuggling) {
  test(`request smuggling is refused with 400 and a closed connection: ${c.name}`, async () => {
    const res = await rawExchange(h.proxy.port, request(['POST / HTTP/1.1', 'Host: httpbin.test', ...c.headers], '0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: httpbin.test\r\n\r\n'));
    assert.match(res.text, /^HTTP\/1\.1 400 /);
    assert.equal(res.closed, true);
    assert.ok(!good.hits.includes('GET /smuggled'));
  });
}

test('duplicate Host headers are refused', async () => {
  const res = await rawExchange(h.proxy.port, request(['GET /headers HTTP/1.1', 'Host: httpbin.test', 'Host: blocked.example']));
  assert.match(res.text, /^HTTP\/1\.1 400 /);
});

test('an absolute-form target is authorised by its own authority, not by the Host header', async () => {
  const res = await rawExchange(h.proxy.port, request(['GET http://blocked.example/headers HTTP/1.1', 'Host: httpbin.test', 'Connection: close']));
  assert.match(res.text, /^HTTP\/1\.1 502 /);
  assert.match(res.text, /blocked\.example/);
  const allowed = await rawExchange(h.proxy.port, request(['GET http://httpbin.test/headers HTTP/1.1', 'Host: blocked.example', 'Connection: close']));
  assert.match(allowed.text, /^HTTP\/1\.1 200 /);
  assert.match(allowed.text, /"host":"httpbin\.test"/, 'the upstream sees the authority that was authorised');
});

test('a spoofed Host connects to the DNS answer for the allowed name, not to the dialled IP', async () => {
  h.target = { address: '127.0.0.2', port: good.port, family: 4 };
  try {
    const res = await proxyRequest(h.proxy.port, { host: 'httpbin.test' });
    assert.equal(res.headers['x-upstream'], '127.0.0.1');
    assert.equal(evil.hits.length, 0);
  } finally {
    h.target = { address: '127.0.0.1', port: good.port, family: 4 };
  }
});

test('an upstream reset mid-body reaches the client as a failure, never as a short 200', async () => {
  await assert.rejects(proxyRequest(h.proxy.port, { path: '/reset' }));
});

test('a DNS failure answers 503', async () => {
  const res = await proxyRequest(h.proxy.port, { host: 'nowhere.invalid' });
  assert.equal(res.status, 503);
  assert.match(res.body, /nowhere\.invalid/);
});

test('slowloris: a connection that never finishes its headers is closed at the header timeout', async () => {
  const socket = connect(h.proxy.port, '127.0.0.1');
  const t0 = Date.now();
  socket.write('GET / HTTP/1.1\r\nHost: httpbin.test\r\n');
  const drip = setInterval(() => { if (!socket.destroyed) socket.write('X-a: b\r\n'); }, 100);
  const closedAfter = await new Promise<number>((resolve) => {
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(Date.now() - t0));
    setTimeout(() => resolve(-1), 4000);
  });
  clearInterval(drip);
  socket.destroy();
  assert.ok(closedAfter > 0 && closedAfter < 2500, `closed after ${closedAfter} ms`);
});
