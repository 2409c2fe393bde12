import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { meshConfigMap, proxyRequest, serviceEntry, startHarness, startUpstream, type Harness } from './proxy-harness.ts';

let h: Harness;
let up: Awaited<ReturnType<typeof startUpstream>>;

const get = (port: number, path: string): Promise<{ status: number; body: string }> => new Promise((resolve, reject) => {
  request({ host: '127.0.0.1', port, path }, (res) => {
    let body = '';
    res.on('data', (c) => { body += c; });
    res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
  }).on('error', reject).end();
});

before(async () => {
  up = await startUpstream();
  h = await startHarness([meshConfigMap('REGISTRY_ONLY'), serviceEntry('httpbin-ext', { hosts: ['httpbin.test'], ports: [{ number: up.port, name: 'http', protocol: 'HTTP' }], resolution: 'DNS' })]);
  h.target = { address: '127.0.0.1', port: up.port, family: 4 };
});
after(async () => {
  await h.close();
  up.server.close();
});

test('readiness answers 200 on /healthz/ready once config and listener are up', async () => {
  assert.deepEqual(await get(h.proxy.statusPort!, '/healthz/ready'), { status: 200, body: 'ready\n' });
});

test('Prometheus metrics carry Istio names, destination_service and response_code', async () => {
  await proxyRequest(h.proxy.port, {});
  await proxyRequest(h.proxy.port, { host: 'blocked.example' });
  const { status, body } = await get(h.proxy.metricsPort!, '/stats/prometheus');
  assert.equal(status, 200);
  assert.match(body, /istio_requests_total\{[^}]*destination_service="httpbin\.test"[^}]*response_code="200"[^}]*\} 1/);
  assert.match(body, /istio_requests_total\{[^}]*destination_service_name="BlackHoleCluster"[^}]*response_code="502"[^}]*\} 1/);
  assert.match(body, /istio_request_duration_milliseconds_bucket/);
});

test('/explain names the rule that allows a destination and why another is denied', async () => {
  const allowed = JSON.parse((await get(h.proxy.adminPort!, '/explain?host=httpbin.test&port=' + up.port)).body);
  assert.equal(allowed.http.verdict, 'allow');
  assert.match(allowed.http.rule, /ServiceEntry default\/httpbin-ext/);
  const denied = JSON.parse((await get(h.proxy.adminPort!, '/explain?host=evil.example&port=443')).body);
  assert.equal(denied.tls.verdict, 'deny');
  assert.match(denied.tls.reason, /SNI evil\.example on port 443 matches no ServiceEntry/);
  assert.equal((await get(h.proxy.adminPort!, '/explain?port=80')).status, 400);
});

test('drain: readiness turns 503, new connections are refused, and the proxy stops', async () => {
  await h.proxy.drain(200);
  assert.equal((await get(h.proxy.statusPort!, '/healthz/ready')).status, 503);
  await assert.rejects(proxyRequest(h.proxy.port, {}));
});
