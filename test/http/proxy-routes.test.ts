import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { meshConfigMap, proxyRequest, serviceEntry, startHarness, startUpstream, virtualService, waitFor, type Harness } from './proxy-harness.ts';

let h: Harness;
let up: Awaited<ReturnType<typeof startUpstream>>;
let entry: Record<string, unknown>;

before(async () => {
  up = await startUpstream();
  entry = serviceEntry('httpbin-ext', { hosts: ['httpbin.test', 'other.test'], ports: [{ number: up.port, name: 'http', protocol: 'HTTP' }], resolution: 'DNS' });
  h = await startHarness([meshConfigMap('REGISTRY_ONLY'), entry], { random: () => 0.5 });
  h.target = { address: '127.0.0.1', port: up.port, family: 4 };
});
after(async () => {
  await h.close();
  up.server.close();
});

const withRoutes = (http: unknown[]): void => h.setConfig([meshConfigMap('REGISTRY_ONLY'), entry, virtualService('httpbin', { hosts: ['httpbin.test'], http })]);

test('a route timeout answers 504 "upstream request timeout" at the timeout and aborts the upstream request', async () => {
  withRoutes([{ timeout: '0.3s', route: [{ destination: { host: 'httpbin.test' } }] }]);
  const t0 = Date.now();
  const res = await proxyRequest(h.proxy.port, { path: '/delay/2' });
  const elapsed = Date.now() - t0;
  assert.equal(res.status, 504);
  assert.equal(res.body, 'upstream request timeout\n');
  assert.ok(elapsed >= 280 && elapsed < 1000, `answered after ${elapsed} ms`);
  await waitFor(() => up.aborted.includes('/delay/2'));
  await waitFor(() => h.accessLog.some((l) => l.includes('"GET /delay/2 HTTP/1.1" 504 UT')));
});

test('without a timeout a slow answer comes through', async () => {
  withRoutes([{ route: [{ destination: { host: 'httpbin.test' } }] }]);
  const res = await proxyRequest(h.proxy.port, { path: '/delay/0.3' });
  assert.equal(res.status, 200);
});

test('retries: a 503 is retried attempts times on retryOn 5xx', async () => {
  withRoutes([{ retries: { attempts: 2, retryOn: '5xx' }, route: [{ destination: { host: 'httpbin.test' } }] }]);
  const before = up.hits.length;
  const res = await proxyRequest(h.proxy.port, { path: '/status/503' });
  assert.equal(res.status, 503);
  assert.equal(up.hits.length - before, 3);
});

test('retries: perTryTimeout cuts each attempt and the last one answers 504', async () => {
  withRoutes([{ retries: { attempts: 1, perTryTimeout: '0.2s', retryOn: 'gateway-error' }, route: [{ destination: { host: 'httpbin.test' } }] }]);
  const before = up.hits.length;
  const t0 = Date.now();
  const res = await proxyRequest(h.proxy.port, { path: '/delay/1' });
  assert.equal(res.status, 504);
  assert.equal(up.hits.length - before, 2);
  assert.ok(Date.now() - t0 < 900);
});

test('fault injection: abort answers the status without calling the upstream; delay waits first', async () => {
  withRoutes([{ fault: { abort: { httpStatus: 418, percentage: { value: 100 } } }, route: [{ destination: { host: 'httpbin.test' } }] }]);
  const before = up.hits.length;
  assert.equal((await proxyRequest(h.proxy.port, {})).status, 418);
  assert.equal(up.hits.length, before);
  withRoutes([{ fault: { delay: { fixedDelay: '0.2s', percentage: { value: 100 } } }, route: [{ destination: { host: 'httpbin.test' } }] }]);
  const t0 = Date.now();
  assert.equal((await proxyRequest(h.proxy.port, {})).status, 200);
  assert.ok(Date.now() - t0 >= 190);
});

test('matches by uri, method and header, with header set/add/remove and a prefix rewrite', async () => {
  withRoutes([
    { match: [{ uri: { prefix: '/api/' }, method: { exact: 'GET' }, headers: { 'x-user': { exact: 'tester' } } }],
      rewrite: { uri: '/anything/' },
      headers: { request: { set: { 'x-set': 'yes' }, add: { 'x-added': 'one' }, remove: ['x-secret'] }, response: { set: { 'x-resp': 'r' } } },
      route: [{ destination: { host: 'httpbin.test' } }] },
    { route: [{ destination: { host: 'httpbin.test' } }] },
  ]);
  const res = await proxyRequest(h.proxy.port, { path: '/api/items?q=1', headers: { 'x-user': 'tester', 'x-secret': 's' } });
  const seen = JSON.parse(res.body);
  assert.equal(seen.url, '/anything/items?q=1');
  assert.equal(seen.headers['x-set'], 'yes');
  assert.equal(seen.headers['x-added'], 'one');
  assert.equal(seen.headers['x-secret'], undefined);
  assert.equal(res.headers['x-resp'], 'r');
  const other = JSON.parse((await proxyRequest(h.proxy.port, { path: '/api/items', headers: { 'x-user': 'someone' } })).body);
  assert.equal(other.url, '/api/items', 'a non-matching request falls to the next route');
});

test('redirect answers 301 with the Location built from the route', async () => {
  withRoutes([{ match: [{ uri: { exact: '/old' } }], redirect: { uri: '/new', authority: 'other.test' } }]);
  const res = await proxyRequest(h.proxy.port, { path: '/old' });
  assert.equal(res.status, 301);
  assert.equal(res.headers['location'], 'http://other.test/new');
});

test('weighted destinations split by weight (random pinned at 0.5)', async () => {
  withRoutes([{ route: [{ destination: { host: 'httpbin.test' }, weight: 40, headers: { request: { set: { 'x-dest': 'a' } } } }, { destination: { host: 'other.test' }, weight: 60, headers: { request: { set: { 'x-dest': 'b' } } } }] }]);
  const seen = JSON.parse((await proxyRequest(h.proxy.port, {})).body);
  assert.equal(seen.headers['x-dest'], 'b');
});

test('a route to a host outside the registry is refused (routing cannot open what the policy closes)', async () => {
  withRoutes([{ route: [{ destination: { host: 'elsewhere.test' } }] }]);
  const res = await proxyRequest(h.proxy.port, {});
  assert.equal(res.status, 503);
  assert.match(res.body, /elsewhere\.test/);
});
