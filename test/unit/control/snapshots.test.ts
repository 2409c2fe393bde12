import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterState } from '../../../src/control/cluster-state.ts';
import { createSnapshotCompiler, defaultCompiler, passThrough, type SnapshotCompiler } from '../../../src/control/compile.ts';
import { SnapshotCache } from '../../../src/control/snapshots.ts';
import type { NamespaceInput } from '../../../src/control/visibility.ts';

const se = (namespace: string, name: string, exportTo: string[] | undefined, host = `${name}.example.com`): unknown => ({
  apiVersion: 'networking.istio.io/v1beta1', kind: 'ServiceEntry', metadata: { namespace, name, resourceVersion: String(Math.random()), managedFields: [{}] },
  spec: { hosts: [host], ports: [{ number: 443, name: 'tls', protocol: 'TLS' }], ...(exportTo ? { exportTo } : {}) },
});
const counting = (): { compile: SnapshotCompiler; compiled: string[] } => {
  const compiled: string[] = [];
  return { compiled, compile: (input: NamespaceInput) => { compiled.push(input.serviceEntries.map((e) => e.metadata.name).join(',')); return passThrough(input); } };
};

test('a change visible to one namespace recompiles that namespace only; one exported to * recompiles all', async () => {
  const state = new ClusterState('cluster.local');
  const { compile, compiled } = counting();
  const pushed: string[] = [];
  const cache = new SnapshotCache(state, compile, { published: (s) => pushed.push(s.namespace) });
  state.upsert('ServiceEntry', se('a', 'shared', ['*']));
  cache.get('a');
  cache.get('b');
  assert.equal(compiled.length, 2);
  state.upsert('ServiceEntry', se('b', 'local', ['.']));
  await cache.refresh();
  assert.deepEqual(pushed, ['b']);
  assert.equal(compiled.length, 3, 'namespace a was not recompiled');
  state.upsert('ServiceEntry', se('b', 'local', ['c'])); // moves from b to c: b must lose it
  await cache.refresh();
  assert.deepEqual(pushed, ['b', 'b']);
  state.upsert('ServiceEntry', se('a', 'shared2', undefined)); // the mesh default: everyone
  await cache.refresh();
  assert.deepEqual(pushed, ['b', 'b', 'a', 'b']);
});

test('an update that changes only metadata (resourceVersion, managedFields) is no change at all', () => {
  const state = new ClusterState('cluster.local');
  assert.equal(state.upsert('ServiceEntry', se('a', 'x', undefined)), true);
  assert.equal(state.upsert('ServiceEntry', se('a', 'x', undefined)), false);
  assert.equal(state.remove('ServiceEntry', se('a', 'x', undefined)), true);
  assert.equal(state.remove('ServiceEntry', se('a', 'x', undefined)), false);
});

test('versions are content hashes: the same content, the same version; a compile that throws keeps the last good snapshot', () => {
  const state = new ClusterState('cluster.local');
  let fail = false;
  const cache = new SnapshotCache(state, (input) => { if (fail) throw new Error('boom'); return passThrough(input); });
  state.upsert('ServiceEntry', se('a', 'x', undefined));
  const first = cache.get('a');
  state.upsert('ServiceEntry', se('a', 'y', undefined));
  const second = cache.get('a');
  assert.notEqual(second.version, first.version);
  state.remove('ServiceEntry', se('a', 'y', undefined));
  assert.equal(cache.get('a').version, first.version);
  fail = true;
  state.upsert('ServiceEntry', se('a', 'z', undefined));
  assert.equal(cache.get('a').version, first.version);
});

test('an invalid update is refused and the previous version stays; a bad mesh ConfigMap keeps the last good one', () => {
  const problems: string[] = [];
  const state = new ClusterState('cluster.local', (p) => problems.push(`${p.kind} ${p.key}: ${p.message}`));
  state.upsert('ServiceEntry', se('a', 'x', undefined));
  assert.equal(state.upsert('ServiceEntry', { ...(se('a', 'x', undefined) as object), spec: { hosts: [] } }), false);
  assert.deepEqual(state.config().serviceEntries.map((e) => e.spec.hosts), [['x.example.com']]);
  assert.equal(state.upsert('MeshConfigMap', { metadata: { namespace: 'istio-system', name: 'istio' }, data: { mesh: 'outboundTrafficPolicy: {mode: REGISTRY_ONLY}' } }), true);
  assert.equal(state.upsert('MeshConfigMap', { metadata: { namespace: 'istio-system', name: 'istio' }, data: { mesh: 'outboundTrafficPolicy: {mode: SOMETIMES}' } }), false);
  assert.equal(state.config().control.mesh.outboundTrafficPolicy.mode, 'REGISTRY_ONLY');
  assert.equal(problems.length, 2);
  assert.match(problems[0] ?? '', /ServiceEntry a\/x: spec.hosts must be a non-empty list of names; keeping the last good version/);
  assert.equal(state.remove('MeshConfigMap', {}), true);
  assert.equal(state.config().control.mesh.outboundTrafficPolicy.mode, 'ALLOW_ANY');
});

test('with the ProxySnapshot compiler the version is the snapshot\'s own content hash, and the view reaches it', () => {
  const state = new ClusterState('cluster.local');
  state.upsert('ServiceEntry', se('a', 'x', undefined));
  state.upsert('Service', { metadata: { namespace: 'a', name: 'reviews' }, spec: { clusterIP: '10.96.0.7', ports: [{ name: 'http', port: 9080 }] } });
  const served = new SnapshotCache(state, defaultCompiler).get('a');
  const document = JSON.parse(served.body().toString()) as { apiVersion: string; version: string; hosts: { exact: Record<string, unknown> } };
  assert.equal(document.apiVersion, 'meshgate.io/snapshot/v1');
  assert.equal(served.version, document.version);
  assert.match(served.version, /^sha256:[0-9a-f]{64}$/);
  for (const host of ['x.example.com', 'reviews.a.svc.cluster.local', 'reviews.a', 'reviews']) assert.ok(host in document.hosts.exact, host);
});

test('a new version compiled by a request (before the refresh gets there) is announced too', async () => {
  const state = new ClusterState('cluster.local');
  const pushed: string[] = [];
  const cache = new SnapshotCache(state, passThrough, { published: (s) => pushed.push(s.version) });
  const first = cache.get('a').version;
  state.upsert('ServiceEntry', se('a', 'x', undefined));
  const second = cache.get('a').version;
  await cache.refresh();
  assert.notEqual(second, first);
  assert.deepEqual(pushed, [second]);
});

test('namespaces that see the same objects share one document: one version, one gzip', () => {
  const state = new ClusterState('cluster.local');
  for (let i = 0; i < 40; i += 1) state.upsert('ServiceEntry', se('owner', `shared-${i}`, ['*']));
  const cache = new SnapshotCache(state, createSnapshotCompiler());
  const [a, b] = [cache.get('a'), cache.get('b')];
  assert.ok(a.size >= 1400, 'large enough to be gzipped');
  assert.equal(a.version, b.version);
  assert.equal(a.gzip(), b.gzip(), 'the same bytes, not an equal copy');
  state.upsert('ServiceEntry', se('owner', 'own', ['.']));
  assert.notEqual(cache.get('owner').version, a.version, 'a namespace with an object of its own has its own document');
  assert.notEqual(cache.get('owner').gzip(), a.gzip());
});

test('the control plane\'s compiler writes compileSnapshot\'s document for each namespace\'s view, also after changes', async () => {
  const { compileSnapshotWithText } = await import('../../../src/snapshot/compile.ts');
  const { namespaceView } = await import('../../../src/control/visibility.ts');
  const state = new ClusterState('cluster.local');
  const namespaces = ['a', 'b', 'c'];
  const service = (namespace: string, name: string, exportTo?: string): unknown => ({ metadata: { namespace, name, ...(exportTo ? { annotations: { 'networking.istio.io/exportTo': exportTo } } : {}) }, spec: { clusterIP: '10.96.0.9', ports: [{ name: 'http', port: 9080 }] } });
  const route = (namespace: string, name: string, hosts: string[], exportTo?: string[]): unknown => ({
    apiVersion: 'networking.istio.io/v1beta1', kind: 'VirtualService', metadata: { namespace, name },
    spec: { hosts, ...(exportTo ? { exportTo } : {}), http: [{ route: [{ destination: { host: hosts[0] } }] }] },
  });
  state.upsert('Service', service('a', 'reviews'));
  state.upsert('Service', service('b', 'reviews', '.'));
  state.upsert('ServiceEntry', se('a', 'shared', ['*'], 'reviews')); // a short name: its hosts depend on who looks
  state.upsert('ServiceEntry', se('b', 'claim', ['*'], 'shared.example.com')); // a host two objects claim
  state.upsert('ServiceEntry', se('c', 'local', ['.']));
  state.upsert('VirtualService', route('a', 'r1', ['reviews']));
  state.upsert('VirtualService', route('b', 'r2', ['reviews.a.svc.cluster.local', 'x.example.com'], ['.']));
  const compile = createSnapshotCompiler();
  const check = (label: string): void => {
    for (const namespace of namespaces) {
      const view = namespaceView(state.config(), namespace);
      const got = compile(view);
      const expected = compileSnapshotWithText(view);
      assert.equal(got.version, expected.snapshot.version, `${label}: ${namespace}`);
      assert.equal(Buffer.from(got.body).toString(), expected.text, `${label}: ${namespace}`);
    }
  };
  check('first');
  state.upsert('ServiceEntry', se('c', 'local', ['*']));
  state.upsert('VirtualService', route('a', 'r1', ['reviews', 'y.example.com'], ['a', 'b']));
  state.remove('Service', service('b', 'reviews'));
  check('after changes');
});
