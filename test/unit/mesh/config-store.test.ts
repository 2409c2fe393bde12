import { test } from 'node:test';
import assert from 'node:assert/strict';
import { istioNamespaceFromEnv } from '../../../src/mesh/mesh-config.ts';
import { ConfigStore, type StoreProblem } from '../../../src/mesh/config-store.ts';

const entry = (hosts: unknown, name = 'e'): unknown => ({ apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name }, spec: { hosts, ports: [{ number: 80, name: 'http', protocol: 'HTTP' }] } });
const mesh = (text: string): unknown => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace: 'istio-system' }, data: { mesh: text } });

test('objects from several files and documents make one snapshot; unrelated kinds are ignored', () => {
  const store = new ConfigStore(() => undefined);
  store.replaceAll([{ source: 'a', values: [entry(['a.example'], 'a'), { kind: 'Deployment' }], broken: false }, { source: 'b', values: [mesh('outboundTrafficPolicy: {mode: REGISTRY_ONLY}')], broken: false }]);
  const s = store.snapshot();
  assert.equal(s.mesh.outboundTrafficPolicy.mode, 'REGISTRY_ONLY');
  assert.deepEqual(s.serviceEntries.map((e) => e.spec.hosts), [['a.example']]);
});

const invalid: Array<{ name: string; value: unknown }> = [
  { name: 'no hosts', value: entry([]) },
  { name: 'a wildcard inside the name (Istio refuses it)', value: entry(['a.*.com']) },
  { name: 'DYNAMIC_DNS with addresses (Istio refuses them)', value: { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'e' }, spec: { hosts: ['*.x.example'], addresses: ['10.0.0.1'], resolution: 'DYNAMIC_DNS', ports: [{ number: 80, name: 'http' }] } } },
  { name: 'a port that is not a number', value: { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'e' }, spec: { hosts: ['x'], ports: [{ number: 'eighty', name: 'http' }] } } },
  { name: 'an unknown mesh mode', value: mesh('outboundTrafficPolicy: {mode: SOMETIMES}') },
];
for (const c of invalid) {
  test(`an invalid update keeps the last good version and is reported: ${c.name}`, () => {
    const problems: StoreProblem[] = [];
    const store = new ConfigStore((p) => problems.push(p));
    store.replaceAll([{ source: 'f', values: [entry(['good.example']), mesh('outboundTrafficPolicy: {mode: REGISTRY_ONLY}')], broken: false }]);
    const before = store.snapshot();
    assert.equal(store.replaceAll([{ source: 'f', values: [c.value, ...(String(JSON.stringify(c.value)).includes('ConfigMap') ? [entry(['good.example'])] : [mesh('outboundTrafficPolicy: {mode: REGISTRY_ONLY}')])], broken: false }]), false);
    assert.deepEqual(store.snapshot(), before);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!.message, /keeping the last good version/);
  });
}

test('an invalid object never seen before is skipped', () => {
  const problems: StoreProblem[] = [];
  const store = new ConfigStore((p) => problems.push(p));
  store.replaceAll([{ source: 'f', values: [entry(['bad.*.com'])], broken: false }]);
  assert.equal(store.snapshot().serviceEntries.length, 0);
  assert.match(problems[0]!.message, /skipped/);
});

test('a file that fails to parse keeps the objects it held; a removed object disappears', () => {
  const store = new ConfigStore(() => undefined);
  store.replaceAll([{ source: 'f', values: [entry(['a.example'], 'a')], broken: false }, { source: 'g', values: [entry(['b.example'], 'b')], broken: false }]);
  store.replaceAll([{ source: 'f', values: [], broken: true }, { source: 'g', values: [], broken: false }]);
  assert.deepEqual(store.snapshot().serviceEntries.map((e) => e.metadata.name), ['a']);
});

test('the mesh config defaults to ALLOW_ANY when no ConfigMap is present', () => {
  assert.equal(new ConfigStore(() => undefined).snapshot().mesh.outboundTrafficPolicy.mode, 'ALLOW_ANY');
});

test('what admission accepts, the file source accepts: resolution DYNAMIC_DNS and a partial wildcard host', () => {
  const problems: StoreProblem[] = [];
  const store = new ConfigStore((p) => problems.push(p));
  const dynamic = { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'dyn' }, spec: { hosts: ['*.dyn.example'], resolution: 'DYNAMIC_DNS', ports: [{ number: 80, name: 'http', protocol: 'HTTP' }] } };
  store.replaceAll([{ source: 'f', values: [dynamic, entry(['*foo.com', 'a.example'], 'partial')], broken: false }]);
  assert.deepEqual(problems, []);
  assert.deepEqual(store.snapshot().serviceEntries.map((e) => [e.metadata.name, e.spec.resolution ?? 'NONE']), [['dyn', 'DYNAMIC_DNS'], ['partial', 'NONE']]);
});

test('the mesh ConfigMap is the `istio` one of the Istio namespace the store is made for; another namespace\'s is ignored', () => {
  const configMap = (namespace: string): Record<string, unknown> => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace }, data: { mesh: 'outboundTrafficPolicy: {mode: REGISTRY_ONLY}' } });
  const mode = (store: ConfigStore, namespace: string): string => {
    store.replaceAll([{ source: 'f', values: [configMap(namespace)], broken: false }]);
    return store.snapshot().mesh.outboundTrafficPolicy.mode;
  };
  assert.equal(mode(new ConfigStore(() => undefined), 'istio-system'), 'REGISTRY_ONLY');
  assert.equal(mode(new ConfigStore(() => undefined), 'mesh-system'), 'ALLOW_ANY');
  assert.equal(mode(new ConfigStore(() => undefined, undefined, 'mesh-system'), 'mesh-system'), 'REGISTRY_ONLY');
  assert.equal(mode(new ConfigStore(() => undefined, undefined, 'mesh-system'), 'istio-system'), 'ALLOW_ANY');
});

test('the Istio namespace comes from $ISTIO_NAMESPACE, else istio-system (an empty value counts as unset)', () => {
  assert.equal(istioNamespaceFromEnv({ ISTIO_NAMESPACE: 'mesh-system' }), 'mesh-system');
  assert.equal(istioNamespaceFromEnv({ ISTIO_NAMESPACE: '' }), 'istio-system');
  assert.equal(istioNamespaceFromEnv({}), 'istio-system');
});
