import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAccessLog, sanitize } from '../../../src/proxy/telemetry/access-log.ts';
import { telemetryEvent } from '../../../src/proxy/telemetry/events.ts';

const start = Date.parse('2019-01-24T12:17:11.640Z');

test('an HTTP request logs in Envoy default format, fields in order', () => {
  const line = formatAccessLog({
    startMs: start, request: { method: 'GET', path: '/headers', protocol: 'HTTP/1.1', userAgent: 'curl/7.60.0', requestId: '17fde8f7-c24b-9dc8-b4ea-0d0d0e8d1b25', authority: 'httpbin.org' },
    code: 200, flags: '', details: 'via_upstream', bytesReceived: 0, bytesSent: 599, durationMs: 214.4, upstreamServiceTimeMs: 214, upstreamHost: '35.173.6.94:80',
    cluster: 'outbound|80||httpbin.org', upstreamLocal: '172.30.109.82:55314', downstreamLocal: '35.173.6.94:80', downstreamRemote: '172.30.109.82:55312', route: 'default',
  });
  assert.equal(line, '[2019-01-24T12:17:11.640Z] "GET /headers HTTP/1.1" 200 - via_upstream - "-" 0 599 214 214 "-" "curl/7.60.0" "17fde8f7-c24b-9dc8-b4ea-0d0d0e8d1b25" "httpbin.org" "35.173.6.94:80" outbound|80||httpbin.org 172.30.109.82:55314 35.173.6.94:80 172.30.109.82:55312 - default\n');
});

test('a TCP/TLS connection logs "- - -" and its SNI', () => {
  const line = formatAccessLog({
    startMs: start, code: 0, flags: '', bytesReceived: 601, bytesSent: 17766, durationMs: 1289, upstreamHost: '172.217.161.36:443',
    cluster: 'outbound|443||www.google.com', upstreamLocal: '172.30.109.82:59480', downstreamLocal: '172.217.161.36:443', downstreamRemote: '172.30.109.82:59478', sni: 'www.google.com',
  });
  assert.equal(line, '[2019-01-24T12:17:11.640Z] "- - -" 0 - - - "-" 601 17766 1289 - "-" "-" "-" "-" "172.217.161.36:443" outbound|443||www.google.com 172.30.109.82:59480 172.217.161.36:443 172.30.109.82:59478 www.google.com -\n');
});

test('client-controlled fields cannot break the line or a quoted field', () => {
  assert.equal(sanitize('a"b\nc\\'), 'a\\x22b\\x0ac\\x5c');
  assert.equal(sanitize(''), '-');
  assert.equal(sanitize('x'.repeat(600)).length, 512);
});

test('events carry Istio attribute names for requests and connections', () => {
  const source = { workload: 'sleep', namespace: 'default' };
  const ctx = { destinationServiceHost: 'httpbin.org', destinationIp: '1.2.3.4', destinationPort: 80, rule: 'r' };
  const http = telemetryEvent({ startMs: start, request: { method: 'GET', path: '/x', protocol: 'HTTP/1.1' }, code: 200, flags: '', bytesReceived: 1, bytesSent: 2, durationMs: 3, cluster: 'c', downstreamLocal: 'l', downstreamRemote: 'r' }, ctx, source);
  assert.deepEqual([http['sourceWorkload'], http['destinationServiceHost'], http['method'], http['url'], http['responseCode'], http['latency']], ['sleep', 'httpbin.org', 'GET', '/x', 200, '3.000ms']);
  const tcp = telemetryEvent({ startMs: start, code: 0, flags: '', bytesReceived: 5, bytesSent: 6, durationMs: 7, cluster: 'c', downstreamLocal: 'l', downstreamRemote: 'r', sni: 'www.google.com' }, ctx, source);
  assert.deepEqual([tcp['requestedServerName'], tcp['receivedBytes'], tcp['sentBytes'], tcp['connectionDuration']], ['www.google.com', 5, 6, '7.000ms']);
});
