// The per-request shortcuts: the routing memo, the synchronous endpoint, the HTTP series behind Prometheus.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MeshSnapshot } from '../../../src/mesh/config-store.ts';
import type { ServiceEntry, VirtualService } from '../../../src/mesh/resources.ts';
import { compileTable, decideHttp, httpRoute } from '../../../src/proxy/routing/table.ts';
import { createHttpSeries } from '../../../src/proxy/telemetry/http-series.ts';
import { cachedLookup, resolvePlanNow } from '../../../src/proxy/upstream.ts';

const snapshot: MeshSnapshot = {
  mesh: { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } },
  serviceEntries: [{ apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'httpbin', namespace: 'default' }, spec: { hosts: ['httpbin.org'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'DNS' } } satisfies ServiceEntry],
  virtualServices: [{ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'httpbin', namespace: 'default' }, spec: { hosts: ['httpbin.org'], http: [{ timeout: '3s', route: [{ destination: { host: 'httpbin.org' } }] }] } } satisfies VirtualService],
};

const hosts = [
  { name: 'an allowed host', host: 'httpbin.org', allowed: true, vs: true },
  { name: 'an unknown host', host: 'evil.example', allowed: false, vs: false },
];
for (const c of hosts) {
  test(`httpRoute gives decideHttp's answer and the host's VirtualService, for ${c.name}, and the same object again`, () => {
    const table = compileTable(snapshot);
    const first = httpRoute(table, c.host, 80, '10.0.0.1');
    assert.deepEqual(first.decision, decideHttp(table, c.host, 80, '10.0.0.1'));
    assert.equal(first.decision.allowed, c.allowed);
    assert.equal(first.vs !== undefined, c.vs);
    assert.equal(httpRoute(table, c.host, 80, '10.0.0.1'), first);
  });
}

test('httpRoute keeps a bounded memo: many client-chosen Hosts do not grow it past its limit', () => {
  const table = compileTable(snapshot);
  for (let i = 0; i < 5000; i += 1) httpRoute(table, `h${i}.example`, 80, '10.0.0.1');
  assert.ok(table.httpMemo.size <= 1024, `${table.httpMemo.size}`);
  assert.equal(httpRoute(table, 'httpbin.org', 80, '10.0.0.1').decision.allowed, true);
});

test('a recompiled table starts with an empty memo, so a config change is seen at once', () => {
  const before = compileTable(snapshot);
  httpRoute(before, 'httpbin.org', 80, '10.0.0.1');
  const after = compileTable({ ...snapshot, serviceEntries: [] });
  assert.equal(httpRoute(after, 'httpbin.org', 80, '10.0.0.1').decision.allowed, false);
});

test('resolvePlanNow answers at once for the original destination and a cached DNS name, and not before the lookup', async () => {
  const original = { address: '10.0.0.9', port: 80, family: 4 as const };
  let clock = 0;
  const lookup = cachedLookup(async () => '192.0.2.7', 5000, () => clock);
  assert.deepEqual(resolvePlanNow({ kind: 'original' }, original, lookup), { address: '10.0.0.9', port: 80 });
  assert.equal(resolvePlanNow({ kind: 'dns', host: 'httpbin.org', port: undefined }, original, lookup), undefined);
  assert.equal(await lookup('httpbin.org'), '192.0.2.7');
  assert.deepEqual(resolvePlanNow({ kind: 'dns', host: 'httpbin.org', port: 8080 }, original, lookup), { address: '192.0.2.7', port: 8080 });
  clock = 6000;
  assert.equal(resolvePlanNow({ kind: 'dns', host: 'httpbin.org', port: undefined }, original, lookup), undefined, 'an expired answer is asked again');
});

test('the HTTP series count per label set and export cumulative buckets, +Inf, sum and count', async () => {
  const series = createHttpSeries({ requests: 'r_total', duration: 'd_ms' }, { requests: 'r', duration: 'd' }, [1, 10]);
  const labels = (code: string) => () => ({ code });
  for (const [code, ms] of [['200', 0.5], ['200', 1], ['200', 7], ['200', 50], ['503', 2]] as const) series.record(code, labels(code), ms);
  const requests = (await series.requests.get()).values.map((v) => `${v.labels['code']}=${v.value}`);
  assert.deepEqual(requests, ['200=4', '503=1']);
  const duration = (await series.duration.get()).values.filter((v) => v.labels['code'] === '200').map((v) => `${v.metricName}${v.labels['le'] === undefined ? '' : `{le=${v.labels['le']}}`}=${v.value}`);
  assert.deepEqual(duration, ['d_ms_bucket{le=1}=2', 'd_ms_bucket{le=10}=3', 'd_ms_bucket{le=+Inf}=4', 'd_ms_sum=58.5', 'd_ms_count=4']);
});
