import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { meshConfigMap, proxyRequest, serviceEntry, startHarness, startUpstream, waitFor, type Harness } from './proxy-harness.ts';

let h: Harness;
let upstream: Awaited<ReturnType<typeof startUpstream>>;

before(async () => {
  upstream = await startUpstream();
  h = await startHarness([meshConfigMap('ALLOW_ANY')]);
  h.target = { address: '127.0.0.1', port: upstream.port, family: 4 };
});
after(async () => {
  await h.close();
  upstream.server.close();
});

test('ALLOW_ANY passes an unknown HTTP host to the original destination, logged as PassthroughCluster', async () => {
  const res = await proxyRequest(h.proxy.port, { host: 'unknown.example', path: '/headers' });
  assert.equal(res.status, 200);
  assert.equal(JSON.parse(res.body).headers['x-envoy-decorator-operation'], undefined);
  await waitFor(() => h.accessLog.some((l) => l.includes('PassthroughCluster')));
  const line = h.accessLog.find((l) => l.includes('PassthroughCluster'))!;
  assert.match(line, /^\[\S+Z\] "GET \/headers HTTP\/1\.1" 200 - via_upstream - "-" 0 \d+ \d+ \d+ "-" "-" "[0-9a-f-]{36}" "unknown\.example" "127\.0\.0\.1:\d+" PassthroughCluster 127\.0\.0\.1:\d+ 127\.0\.0\.1:\d+ 127\.0\.0\.1:\d+ - allow_any\n$/);
});

test('REGISTRY_ONLY answers an unknown HTTP host with 502 naming the host, and logs and counts the deny', async () => {
  h.setConfig([meshConfigMap('REGISTRY_ONLY')]);
  const res = await proxyRequest(h.proxy.port, { host: 'blocked.example' });
  assert.equal(res.status, 502);
  assert.match(res.body, /blocked\.example/);
  const metrics = await h.proxy.metrics.registry.metrics();
  assert.match(metrics, /meshgate_proxy_denied_total\{protocol="http",destination="blocked\.example:\d+"\} 1/);
  assert.equal(upstream.hits.filter((x) => x.includes('blocked')).length, 0);
});

test('an HTTP ServiceEntry lets its host through with the decorator header and its cluster name', async () => {
  h.setConfig([meshConfigMap('REGISTRY_ONLY'), serviceEntry('httpbin-ext', {
    hosts: ['httpbin.test'], ports: [{ number: upstream.port, name: 'http', protocol: 'HTTP' }], resolution: 'DNS', location: 'MESH_EXTERNAL',
  })]);
  const res = await proxyRequest(h.proxy.port, { host: 'httpbin.test', headers: { 'x-request-id': 'abc-123' } });
  assert.equal(res.status, 200);
  const seen = JSON.parse(res.body).headers;
  assert.equal(seen['x-envoy-decorator-operation'], `httpbin.test:${upstream.port}/*`);
  assert.equal(seen['x-request-id'], 'abc-123');
  await waitFor(() => h.accessLog.some((l) => l.includes(`outbound|${upstream.port}||httpbin.test`)));
  const event = JSON.parse(h.events.at(-1)!);
  assert.equal(event.destinationServiceHost, 'httpbin.test');
  assert.equal(event.responseCode, 200);
  assert.equal(event.method, 'GET');
});
