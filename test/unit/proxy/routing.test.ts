import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MeshSnapshot } from '../../../src/mesh/config-store.ts';
import type { ServiceEntry, VirtualService } from '../../../src/mesh/resources.ts';
import { pickDestination, redirectLocation, rewritePath, selectHttpRoute } from '../../../src/proxy/routing/http-route.ts';
import { compileTable, decideHttp, decideTcp, decideTls, routingProblem } from '../../../src/proxy/routing/table.ts';
import { compileVirtualService } from '../../../src/proxy/routing/virtual-services.ts';

const se = (name: string, spec: ServiceEntry['spec'], namespace = 'default'): ServiceEntry => ({ apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name, namespace }, spec });
const vs = (name: string, spec: VirtualService['spec']): VirtualService => ({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name, namespace: 'default' }, spec });
const snapshot = (mode: 'ALLOW_ANY' | 'REGISTRY_ONLY', serviceEntries: ServiceEntry[], virtualServices: VirtualService[] = []): MeshSnapshot => ({ mesh: { outboundTrafficPolicy: { mode } }, serviceEntries, virtualServices });

const entries = [
  se('httpbin', { hosts: ['httpbin.org'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'DNS' }),
  se('google', { hosts: ['www.google.com'], ports: [{ number: 443, name: 'https', protocol: 'HTTPS' }], resolution: 'DNS' }),
  se('wiki', { hosts: ['*.wikipedia.org'], ports: [{ number: 443, name: 'tls', protocol: 'TLS' }], resolution: 'NONE' }),
  se('db', { hosts: ['db.internal'], addresses: ['10.1.0.0/16'], ports: [{ number: 5432, name: 'tcp', protocol: 'TCP' }], resolution: 'STATIC', endpoints: [{ address: '10.1.2.3' }] }),
  se('private', { hosts: ['private.example'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], exportTo: ['.'] }, 'other'),
];
const table = compileTable(snapshot('REGISTRY_ONLY', entries), { namespace: 'default' });

const decisions: Array<{ name: string; decide: () => ReturnType<typeof decideHttp>; allowed: boolean; cluster: string; plan?: string }> = [
  { name: 'HTTP by Host, DNS resolution of that name', decide: () => decideHttp(table, 'httpbin.org', 80, '1.2.3.4'), allowed: true, cluster: 'outbound|80||httpbin.org', plan: 'dns:httpbin.org' },
  { name: 'HTTP Host on a port the entry does not declare', decide: () => decideHttp(table, 'httpbin.org', 8080, '1.2.3.4'), allowed: false, cluster: 'BlackHoleCluster' },
  { name: 'an HTTPS entry does not open HTTP to the same host', decide: () => decideHttp(table, 'www.google.com', 443, '1.2.3.4'), allowed: false, cluster: 'BlackHoleCluster' },
  { name: 'TLS by SNI', decide: () => decideTls(table, 'www.google.com', 443, '1.2.3.4'), allowed: true, cluster: 'outbound|443||www.google.com', plan: 'dns:www.google.com' },
  { name: 'one HTTPS entry does not open every host on 443', decide: () => decideTls(table, 'evil.example', 443, '1.2.3.4'), allowed: false, cluster: 'BlackHoleCluster' },
  { name: 'TLS by wildcard SNI, resolution NONE to the original destination', decide: () => decideTls(table, 'en.wikipedia.org', 443, '1.2.3.4'), allowed: true, cluster: 'outbound|443||*.wikipedia.org', plan: 'original' },
  { name: 'TLS without SNI', decide: () => decideTls(table, undefined, 443, '1.2.3.4'), allowed: false, cluster: 'BlackHoleCluster' },
  { name: 'TCP by address range', decide: () => decideTcp(table, '10.1.9.9', 5432), allowed: true, cluster: 'outbound|5432||db.internal', plan: 'static' },
  { name: 'TCP to an address outside the range', decide: () => decideTcp(table, '10.2.0.1', 5432), allowed: false, cluster: 'BlackHoleCluster' },
  { name: 'an entry exported only to its own namespace is invisible elsewhere', decide: () => decideHttp(table, 'private.example', 80, '1.2.3.4'), allowed: false, cluster: 'BlackHoleCluster' },
];
for (const c of decisions) {
  test(`REGISTRY_ONLY: ${c.name}`, () => {
    const d = c.decide();
    assert.equal(d.allowed, c.allowed, d.reason);
    assert.equal(d.cluster, c.cluster);
    if (c.plan && d.allowed) assert.equal(d.plan.kind === 'dns' ? `dns:${d.plan.host}` : d.plan.kind, c.plan);
  });
}

test('ALLOW_ANY passes unknown destinations to the original destination via PassthroughCluster', () => {
  const open = compileTable(snapshot('ALLOW_ANY', entries));
  for (const d of [decideHttp(open, 'x.example', 80, '1.2.3.4'), decideTls(open, 'x.example', 443, '1.2.3.4'), decideTcp(open, '1.2.3.4', 22)]) {
    assert.equal(d.allowed, true);
    assert.equal(d.cluster, 'PassthroughCluster');
    assert.ok(d.allowed && d.plan.kind === 'original');
  }
});

const routes = compileVirtualService(vs('r', { hosts: ['httpbin.org'], http: [
  { name: 'api', match: [{ uri: { prefix: '/api/' }, method: { exact: 'POST' } }], route: [{ destination: { host: 'httpbin.org' } }] },
  { name: 'regex', match: [{ uri: { regex: '/v[0-9]+/.*' } }], route: [{ destination: { host: 'httpbin.org' } }] },
  { name: 'header', match: [{ headers: { 'x-canary': { exact: 'yes' } } }], route: [{ destination: { host: 'httpbin.org' } }] },
  { name: 'authority', match: [{ authority: { exact: 'httpbin.org:8080' } }], route: [{ destination: { host: 'httpbin.org' } }] },
  { name: 'rest', route: [{ destination: { host: 'httpbin.org' } }] },
] }));
const routeCases: Array<{ name: string; method?: string; path: string; headers?: Record<string, string>; authority?: string; expected: string }> = [
  { name: 'prefix and method', method: 'POST', path: '/api/x', expected: 'api' },
  { name: 'the method must match too', method: 'GET', path: '/api/x', expected: 'rest' },
  { name: 'a regex matches the whole path, query ignored', path: '/v2/items?x=1', expected: 'regex' },
  { name: 'a regex is anchored', path: '/a/v2/items', expected: 'rest' },
  { name: 'a header', path: '/', headers: { 'x-canary': 'yes' }, expected: 'header' },
  { name: 'the authority with its port', path: '/', authority: 'httpbin.org:8080', expected: 'authority' },
  { name: 'a route without match catches the rest', path: '/other', expected: 'rest' },
];
for (const c of routeCases) {
  test(`VirtualService http match: ${c.name}`, () => {
    const selected = selectHttpRoute(routes, { method: c.method ?? 'GET', path: c.path, authority: c.authority ?? 'httpbin.org', port: 80, headers: c.headers ?? {} });
    assert.equal(selected?.route.name, c.expected);
  });
}

test('weighted choice follows the weights across the range of the random number', () => {
  const list = [{ weight: 20, id: 'a' }, { weight: 80, id: 'b' }];
  const counts = { a: 0, b: 0 };
  for (let i = 0; i < 100; i += 1) counts[pickDestination(list, 100, i / 100)!.id as 'a' | 'b'] += 1;
  assert.deepEqual(counts, { a: 20, b: 80 });
});

test('rewrite replaces a matched prefix, else the whole path keeping the query', () => {
  const prefix = { headers: [], withoutHeaders: [], uri: { test: () => true, prefix: '/api/' } };
  assert.equal(rewritePath('/api/x?q=1', '/v2/', prefix), '/v2/x?q=1');
  assert.equal(rewritePath('/anything?q=1', '/fixed', undefined), '/fixed?q=1');
});

test('redirect keeps the request authority unless the route changes it', () => {
  const r = { method: 'GET', path: '/a?b=1', authority: 'httpbin.org:80', port: 80, headers: {} };
  assert.equal(redirectLocation({ uri: '/b', code: 301 }, r, 'httpbin.org'), 'http://httpbin.org:80/b');
  assert.equal(redirectLocation({ authority: 'new.example', scheme: 'https', code: 302 }, r, 'httpbin.org'), 'https://new.example/a?b=1');
});

const badRoutes: Array<{ name: string; spec: VirtualService['spec']; message: RegExp }> = [
  { name: 'a regex that does not compile', spec: { hosts: ['a'], http: [{ match: [{ uri: { regex: '([' } }], route: [{ destination: { host: 'a' } }] }] }, message: /regex/ },
  { name: 'a timeout that is not a duration', spec: { hosts: ['a'], http: [{ timeout: '3 seconds', route: [{ destination: { host: 'a' } }] }] }, message: /not a duration/ },
  { name: 'a header value carrying CR/LF', spec: { hosts: ['a'], http: [{ headers: { request: { set: { 'x-a': 'b\r\nx-evil: 1' } } }, route: [{ destination: { host: 'a' } }] }] }, message: /without CR, LF/ },
  { name: 'a route with nowhere to go', spec: { hosts: ['a'], http: [{ match: [{ uri: { exact: '/' } }] }] }, message: /route, redirect or directResponse/ },
];
for (const c of badRoutes) {
  test(`an uncompilable VirtualService is refused before it reaches the table: ${c.name}`, () => {
    assert.match(routingProblem({ kind: 'VirtualService', key: 'k', object: vs('bad', c.spec) }) ?? '', c.message);
  });
}

test('tls routes re-target an allowed SNI to another registry host', () => {
  const t = compileTable(snapshot('REGISTRY_ONLY', entries, [vs('t', { hosts: ['www.google.com'], tls: [{ match: [{ sniHosts: ['www.google.com'], port: 443 }], route: [{ destination: { host: 'en.wikipedia.org', port: { number: 443 } } }] }] })]));
  const d = decideTls(t, 'www.google.com', 443, '1.2.3.4');
  assert.equal(d.cluster, 'outbound|443||*.wikipedia.org');
});

test('an invalid address in a ServiceEntry is skipped, the valid ones still match, and the table compiles', () => {
  const odd = se('odd', { hosts: ['odd.internal'], addresses: ['10.0.0.0/99', 'not-an-ip', '10.3.0.0/16', '10.4.0.7'], ports: [{ number: 6379, name: 'tcp', protocol: 'TCP' }], resolution: 'NONE' });
  const compiled = compileTable(snapshot('REGISTRY_ONLY', [odd]), { namespace: 'default' });
  assert.equal(decideTcp(compiled, '10.3.1.1', 6379).allowed, true);
  assert.equal(decideTcp(compiled, '10.4.0.7', 6379).allowed, true);
  assert.equal(decideTcp(compiled, '10.0.0.1', 6379).allowed, false);
});

test('DYNAMIC_DNS: the Node path connects to the DNS answer for the name asked for, as the snapshot says', () => {
  const dynamic = compileTable(snapshot('REGISTRY_ONLY', [se('dyn', { hosts: ['*.dyn.example'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }, { number: 443, name: 'tls', protocol: 'TLS', targetPort: 8443 }], resolution: 'DYNAMIC_DNS' })]));
  const http = decideHttp(dynamic, 'a.dyn.example', 80, '1.2.3.4');
  assert.ok(http.allowed, http.reason);
  assert.deepEqual(http.plan, { kind: 'dns', host: 'a.dyn.example', port: 80 });
  const tls = decideTls(dynamic, 'b.dyn.example', 443, '1.2.3.4');
  assert.ok(tls.allowed, tls.reason);
  assert.deepEqual(tls.plan, { kind: 'dns', host: 'b.dyn.example', port: 8443 });
});

test('a partial wildcard ServiceEntry host is refused by the Node path with the reason (the store logs it)', () => {
  const entry = se('partial', { hosts: ['a.example', '*foo.com'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }] });
  assert.match(routingProblem({ kind: 'ServiceEntry', key: 'k', object: entry }) ?? '', /^spec\.hosts\[1\]: partial wildcard "\*foo\.com" is not matched by the Node data path/);
  assert.equal(routingProblem({ kind: 'ServiceEntry', key: 'k', object: se('fine', { hosts: ['*.foo.com'], ports: [] }) }), undefined);
});
