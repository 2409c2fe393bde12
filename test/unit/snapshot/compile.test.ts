import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileSnapshot, type SnapshotInput } from '../../../src/snapshot/compile.ts';
import { compileManifests } from '../../../src/snapshot/from-directory.ts';
import { DEFAULT_RETRY_ON } from '../../../src/snapshot/http-routes.ts';
import { se, vs } from './fixtures.ts';

const input = (over: Partial<SnapshotInput>): SnapshotInput => ({ mesh: { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } }, serviceEntries: [], virtualServices: [], ...over });
const oneRoute = (route: Record<string, unknown>) => compileSnapshot(input({ virtualServices: [vs('r', { hosts: ['a.example'], http: [{ route: [{ destination: { host: 'a.example' } }], ...route }] })] }));

test('retries: Istio\'s default policy is written out; attempts 0 disables; numeric retryOn tokens become status codes', () => {
  assert.deepEqual(oneRoute({}).virtualServices[0]!.http[0]!.retries, { attempts: 2, retryOn: DEFAULT_RETRY_ON, retriableStatusCodes: [503], perTryTimeoutMs: 0, backoffBaseMs: 25, backoffMaxMs: 250 });
  assert.equal(oneRoute({ retries: { attempts: 0 } }).virtualServices[0]!.http[0]!.retries.attempts, 0);
  const custom = oneRoute({ retries: { attempts: 4, retryOn: 'gateway-error,429', perTryTimeout: '2s' } }).virtualServices[0]!.http[0]!.retries;
  assert.deepEqual(custom, { attempts: 4, perTryTimeoutMs: 2000, retryOn: ['gateway-error', 'retriable-status-codes'], retriableStatusCodes: [429], backoffBaseMs: 25, backoffMaxMs: 250 });
});

test('durations are milliseconds; below 1 ms rounds up instead of turning into "none"', () => {
  assert.equal(oneRoute({ timeout: '1m' }).virtualServices[0]!.http[0]!.timeoutMs, 60_000);
  assert.equal(oneRoute({ timeout: '250us' }).virtualServices[0]!.http[0]!.timeoutMs, 1);
  assert.equal(oneRoute({}).virtualServices[0]!.http[0]!.timeoutMs, 0);
  const bad = oneRoute({ timeout: '3 seconds' });
  assert.deepEqual(bad.virtualServices, []);
  assert.equal(bad.problems[0]!.source.path, 'spec.http[0].timeout');
});

test('a regex RE2 refuses, or one over the program-size limit, leaves its VirtualService out with the field path', () => {
  const huge = oneRoute({ match: [{ uri: { regex: '.{1,1000}a.{1,1000}b.{1,1000}c.{1,1000}' } }] });
  assert.deepEqual(huge.virtualServices, []);
  assert.match(huge.problems[0]!.message, /program is too large/);
  assert.equal(huge.problems[0]!.source.path, 'spec.http[0].match[0].uri.regex');
  const backref = oneRoute({ match: [{ headers: { 'x-a': { regex: '(a)\\1' } } }] });
  assert.equal(backref.problems[0]!.source.path, 'spec.http[0].match[0].headers.x-a.regex');
  assert.equal(oneRoute({ match: [{ uri: { regex: '/api/v[0-9]+/.*' } }] }).problems.length, 0);
});

test('a match is never compiled wider than written: queryParams are kept, an unknown field refuses the VirtualService', () => {
  const query = oneRoute({ match: [{ queryParams: { debug: { exact: '1' } } }] }).virtualServices[0]!.http[0]!.match[0]!;
  assert.deepEqual(query.queryParams, { debug: { exact: '1' } });
  const unknown = oneRoute({ match: [{ uri: { prefix: '/' }, body: { exact: 'x' } }] });
  assert.deepEqual(unknown.virtualServices, []);
  assert.equal(unknown.problems[0]!.source.path, 'spec.http[0].match[0].body');
  const twoKinds = oneRoute({ match: [{ uri: { prefix: '/', exact: '/' } }] });
  assert.equal(twoKinds.problems[0]!.source.path, 'spec.http[0].match[0].uri');
});

test('gateways: a gateway-only VirtualService or match does not reach the sidecar snapshot', () => {
  const s = compileSnapshot(input({ virtualServices: [
    vs('gw', { hosts: ['a.example'], gateways: ['istio-system/ingress'], http: [{ route: [{ destination: { host: 'a.example' } }] }] }),
    vs('mixed', { hosts: ['b.example'], http: [
      { match: [{ uri: { prefix: '/gw' }, gateways: ['ingress'] }], route: [{ destination: { host: 'b.example' } }] },
      { match: [{ uri: { prefix: '/both' }, gateways: ['ingress', 'mesh'] }, { uri: { prefix: '/only-gw' }, gateways: ['ingress'] }], route: [{ destination: { host: 'b.example' } }] },
    ] }),
  ] }));
  assert.deepEqual(s.virtualServices.map((v) => v.source.name), ['mixed']);
  assert.deepEqual(s.virtualServices[0]!.http.map((r) => r.match.map((m) => m.uri)), [[{ prefix: '/both' }]]);
});

test('ServiceEntries: a bad address is dropped and reported, a STATIC entry without endpoints is refused', () => {
  const s = compileSnapshot(input({ serviceEntries: [
    se('db', { hosts: ['db.internal'], addresses: ['10.0.0.0/99', '10.9.8.7/8'], ports: [{ number: 5432, name: 'tcp', protocol: 'TCP' }] }),
    se('static', { hosts: ['s.internal'], ports: [{ number: 80, name: 'http' }], resolution: 'STATIC' }),
  ] }));
  assert.deepEqual(s.listeners.find((l) => l.port === 5432)!.tcp, [{ cidr: '10.0.0.0/8', cluster: 'outbound|5432||db.internal' }]);
  assert.deepEqual(s.problems.map((p) => `${p.source.name} ${p.source.path}`), ['db spec.addresses[0]', 'static spec.endpoints']);
  assert.equal(s.clusters['outbound|80||s.internal'], undefined);
});

test('the version is a content hash: same input, same version; input order is precedence', () => {
  const a = se('a', { hosts: ['x.example'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'DNS' });
  const b = se('b', { hosts: ['x.example'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'NONE' });
  const ab = compileSnapshot(input({ serviceEntries: [a, b] }));
  assert.equal(compileSnapshot(input({ serviceEntries: [a, b] })).version, ab.version);
  const ba = compileSnapshot(input({ serviceEntries: [b, a] }));
  assert.notEqual(ba.version, ab.version);
  assert.equal(ab.clusters['outbound|80||x.example']!.resolution, 'DNS');
  assert.equal(ba.clusters['outbound|80||x.example']!.resolution, 'NONE');
});

test('a host named like an Object property stays data', () => {
  const s = compileSnapshot(input({ serviceEntries: [se('p', { hosts: ['__proto__', 'constructor'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }] })] }));
  const parsed = JSON.parse(JSON.stringify(s));
  assert.deepEqual(Object.keys(parsed.listeners[0].http.exact), ['__proto__', 'constructor']);
});

test('one host declared by two entries on different ports: both clusters resolve a route destination', () => {
  const s = compileSnapshot(input({ serviceEntries: [
    se('a', { hosts: ['x.example'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'DNS' }),
    se('b', { hosts: ['x.example'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }, { number: 443, name: 'tls', protocol: 'TLS' }], resolution: 'NONE' }),
  ] }));
  assert.deepEqual(s.hosts.exact['x.example'], ['outbound|80||x.example', 'outbound|443||x.example']);
  assert.equal(s.clusters['outbound|80||x.example']!.source.name, 'a');
  assert.equal(s.clusters['outbound|443||x.example']!.source.name, 'b');
});

test('compileSnapshotWithText gives the document\'s exact JSON', async () => {
  const { compileSnapshotWithText } = await import('../../../src/snapshot/compile.ts');
  const { everything } = await import('./fixtures.ts');
  const { snapshot, text } = compileSnapshotWithText(everything());
  assert.equal(text, JSON.stringify(snapshot));
  assert.deepEqual(snapshot, compileSnapshot(everything()));
});

test('manifests with resolution DYNAMIC_DNS compile (the file source no longer refuses them): DNS of the name asked for', () => {
  const manifest = se('dyn', { hosts: ['*.dyn.example'], resolution: 'DYNAMIC_DNS', ports: [{ number: 80, name: 'http', protocol: 'HTTP' }] });
  const { snapshot, problems } = compileManifests([{ source: 'f.yaml', values: [manifest] }], undefined);
  assert.deepEqual(problems, []);
  const cluster = snapshot.clusters['outbound|80||*.dyn.example'];
  assert.equal(cluster?.resolution, 'DYNAMIC_DNS');
  assert.deepEqual(cluster?.upstream, { kind: 'dns', host: null, port: 80 });
});

test('a partial wildcard host is left out with the reason at its field path; the entry\'s other hosts still apply', () => {
  const manifest = se('mixed', { hosts: ['*.nytimes.com', '*washingtonpost.com'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }] });
  const { snapshot, problems } = compileManifests([{ source: 'f.yaml', values: [manifest] }], undefined);
  assert.deepEqual(Object.keys(snapshot.clusters), ['outbound|80||*.nytimes.com']);
  assert.equal(snapshot.problems.length, 1);
  assert.equal(snapshot.problems[0]!.source.path, 'spec.hosts[1]');
  assert.match(snapshot.problems[0]!.message, /"\*washingtonpost\.com" is a partial wildcard: Istio matches it as a suffix of the HTTP Host.*left out/);
  assert.equal(problems.length, 1, 'meshgate compile lists it on stderr');
  const only = compileSnapshot(input({ serviceEntries: [se('only', { hosts: ['*foo.com'], ports: [{ number: 80, name: 'http' }] })] }));
  assert.deepEqual(only.clusters, {});
  assert.equal(only.problems.length, 1, 'an entry whose only host is a partial wildcard: one problem, nothing compiled');
});

test('VirtualService short names are qualified as Istio does: <name>.<the VirtualService\'s namespace>.svc.<cluster domain>', () => {
  const spec = {
    hosts: ['reviews', 'api.example.com', '*', '10.0.0.1'],
    http: [{ route: [{ destination: { host: 'ratings' } }], mirror: { host: 'shadow' }, mirrors: [{ destination: { host: 'shadow2' } }] }],
    tls: [{ match: [{ sniHosts: ['sni-short'] }], route: [{ destination: { host: 'tls-backend' } }] }],
    tcp: [{ route: [{ destination: { host: 'db.other' } }] }],
  };
  const compiled = compileSnapshot(input({ virtualServices: [vs('r', spec, 'shop')] }));
  assert.deepEqual(compiled.problems, []);
  const [virtualService] = compiled.virtualServices;
  assert.deepEqual(virtualService!.hosts, ['reviews.shop.svc.cluster.local', 'api.example.com', '*', '10.0.0.1']);
  assert.equal(virtualService!.http[0]!.route[0]!.host, 'ratings.shop.svc.cluster.local');
  assert.deepEqual(virtualService!.http[0]!.mirrors.map((m) => m.host), ['shadow.shop.svc.cluster.local', 'shadow2.shop.svc.cluster.local']);
  assert.deepEqual(virtualService!.tls[0]!.match[0]!.sniHosts, ['sni-short'], 'an SNI host is a name on the wire: never qualified');
  assert.equal(virtualService!.tls[0]!.route[0]!.host, 'tls-backend.shop.svc.cluster.local');
  assert.equal(virtualService!.tcp[0]!.route[0]!.host, 'db.other', 'a dotted name is taken as written');
  assert.deepEqual(Object.keys(compiled.virtualServiceHosts.exact).sort(), ['10.0.0.1', 'api.example.com', 'reviews.shop.svc.cluster.local']);
  const domain = compileSnapshot({ ...input({ virtualServices: [vs('r', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' } }] }] }, 'shop')] }), clusterDomain: 'corp.internal' });
  assert.deepEqual(domain.virtualServices[0]!.hosts, ['reviews.shop.svc.corp.internal']);
});

test('the same short name in two namespaces is two hosts, as in Istio; a malformed host is still refused with its path', () => {
  const twice = compileSnapshot(input({ virtualServices: [vs('a', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' } }] }] }, 'one'), vs('b', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' } }] }] }, 'two')] }));
  assert.deepEqual(Object.keys(twice.virtualServiceHosts.exact).sort(), ['reviews.one.svc.cluster.local', 'reviews.two.svc.cluster.local']);
  const bad = compileSnapshot(input({ virtualServices: [vs('bad', { hosts: ['reviews', 7], http: [{ route: [{ destination: { host: 'reviews' } }] }] })] }));
  assert.deepEqual(bad.virtualServices, []);
  assert.equal(bad.problems[0]!.source.path, 'spec.hosts[1]');
});
