import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classify } from '../../../src/proxy/sniff.ts';

const cases: Array<{ name: string; bytes: string | Buffer; expected: ReturnType<typeof classify> }> = [
  { name: 'a GET request line is HTTP', bytes: 'GET / HTTP/1.1\r\n', expected: 'http' },
  { name: 'a PATCH request line is HTTP', bytes: 'PATCH /x HTTP/1.1\r\n', expected: 'http' },
  { name: 'an extension method with a dash is HTTP', bytes: 'VERSION-CONTROL / HTTP/1.1\r\n', expected: 'http' },
  { name: 'a partial method waits for more', bytes: 'GE', expected: 'need-more' },
  { name: 'a TLS handshake byte is TLS', bytes: Buffer.from([0x16, 0x03, 0x01]), expected: 'tls' },
  { name: 'HTTP/2 prior knowledge is passed on as TCP', bytes: 'PRI * HTTP/2.0\r\n', expected: 'tcp' },
  { name: 'an SSH banner is TCP', bytes: 'SSH-2.0-OpenSSH\r\n', expected: 'tcp' },
  { name: 'lower-case text is TCP', bytes: 'hello', expected: 'tcp' },
  { name: 'binary is TCP', bytes: Buffer.from([0x00, 0x01, 0x02]), expected: 'tcp' },
  { name: 'a long upper-case token without a space is TCP', bytes: 'A'.repeat(30), expected: 'tcp' },
  { name: 'nothing yet waits', bytes: '', expected: 'need-more' },
];
for (const c of cases) {
  test(`sniffing: ${c.name}`, () => {
    assert.equal(classify(Buffer.isBuffer(c.bytes) ? c.bytes : Buffer.from(c.bytes)), c.expected);
  });
}
