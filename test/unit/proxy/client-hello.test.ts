import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import fc from 'fast-check';
import { MAX_CLIENT_HELLO, parseClientHello } from '../../../src/proxy/client-hello.ts';

/** A real ClientHello, as Node's TLS client sends it, captured on loopback. */
async function captureHello(servername: string | undefined): Promise<Buffer> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const got = new Promise<Buffer>((resolve) => server.once('connection', (s) => s.once('data', (d: Buffer) => { resolve(d); s.destroy(); })));
  const client = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, ...(servername ? { servername } : {}), rejectUnauthorized: false });
  client.on('error', () => undefined);
  const hello = await got;
  client.destroy();
  server.close();
  return hello;
}

let hello: Buffer;
let noSni: Buffer;
before(async () => {
  hello = await captureHello('www.Example.com');
  noSni = await captureHello(undefined);
});

test('the SNI of a real ClientHello is read, lower-cased', () => {
  assert.deepEqual(parseClientHello(hello), { kind: 'complete', sni: 'www.example.com' });
});

test('a ClientHello without the server_name extension completes with no SNI', () => {
  assert.deepEqual(parseClientHello(noSni), { kind: 'complete', sni: undefined });
});

test('every truncation of a valid ClientHello asks for more, never fails', () => {
  for (let n = 0; n < hello.length; n += 1) assert.deepEqual(parseClientHello(hello.subarray(0, n)), { kind: 'need-more' }, `prefix of ${n} bytes`);
});

test('a ClientHello split across two TLS records is reassembled', () => {
  const body = hello.subarray(5);
  const cut = 40;
  const record = (part: Buffer): Buffer => Buffer.concat([Buffer.from([0x16, 0x03, 0x01, part.length >> 8, part.length & 0xff]), part]);
  assert.deepEqual(parseClientHello(Buffer.concat([record(body.subarray(0, cut)), record(body.subarray(cut))])), { kind: 'complete', sni: 'www.example.com' });
});

const invalid: Array<{ name: string; bytes: Buffer }> = [
  { name: 'an alert record instead of a handshake', bytes: Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x28]) },
  { name: 'a ServerHello instead of a ClientHello', bytes: Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00]) },
  { name: 'a zero-length record', bytes: Buffer.from([0x16, 0x03, 0x01, 0x00, 0x00]) },
  { name: 'an SSLv2-style version byte', bytes: Buffer.from([0x16, 0x02, 0x00, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00]) },
  { name: 'a handshake length beyond the bound', bytes: Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0xff, 0xff, 0xff]) },
];
for (const c of invalid) {
  test(`garbage is refused, not waited on: ${c.name}`, () => {
    assert.equal(parseClientHello(c.bytes).kind, 'invalid');
  });
}

test('a server name with a NUL or a slash is refused', () => {
  const forged = Buffer.from(hello);
  const at = forged.indexOf('www.Example.com', 0, 'latin1');
  assert.ok(at > 0);
  forged[at + 3] = 0x00;
  assert.equal(parseClientHello(forged).kind, 'invalid');
});

test('random bytes after a handshake header never throw and never exceed the bound', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (tail) => {
    const data = Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), Buffer.from(tail)]);
    const result = parseClientHello(data);
    assert.ok(['need-more', 'invalid', 'complete'].includes(result.kind));
  }), { numRuns: 2000 });
  assert.equal(parseClientHello(Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x48, 0x00]), Buffer.alloc(MAX_CLIENT_HELLO)])).kind, 'invalid');
});
