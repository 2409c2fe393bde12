import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServiceEntry, VirtualService } from '../../../src/mesh/resources.ts';
import { DEFAULT_EXPORT_TO, controlMeshFromConfigMap } from '../../../src/control/mesh-defaults.ts';
import { serviceToRegistryEntry, type RegistryService } from '../../../src/control/service-registry.ts';
import { isVisible, namespaceView, resolveHostClaims, type ClusterConfig } from '../../../src/control/visibility.ts';

const se = (namespace: string, name: string, hosts: string[], extra: Record<string, unknown> = {}, created?: string): ServiceEntry => ({
  apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name, namespace, ...(created ? { creationTimestamp: created } : {}) },
  spec: { hosts, ports: [{ number: 443, name: 'tls', protocol: 'TLS' }], ...extra },
});
const vs = (namespace: string, name: string, hosts: string[], extra: Record<string, unknown> = {}): VirtualService => ({
  apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name, namespace },
  spec: { hosts, http: [{ route: [{ destination: { host: 'reviews' } }] }], ...extra },
});
const svc = (namespace: string, name: string, annotations: Record<string, string> = {}): RegistryService => {
  const r = serviceToRegistryEntry({ metadata: { name, namespace, annotations }, spec: { clusterIP: '10.96.0.5', ports: [{ name: 'http', port: 80 }] } });
  return (r as { service: RegistryService }).service;
};
const config = (parts: Partial<ClusterConfig>, mesh = ''): ClusterConfig => ({
  control: controlMeshFromConfigMap({ data: { mesh } }), serviceEntries: [], virtualServices: [], services: [], clusterDomain: 'cluster.local', ...parts,
});
const names = (objects: Array<{ metadata: { namespace?: string; name?: string } }>): string[] => objects.map((o) => `${o.metadata.namespace}/${o.metadata.name}`);

test('exportTo: . is the owner, * everyone, ~ no one, names are namespaces; absent or empty uses the default', () => {
  assert.equal(isVisible(['.'], DEFAULT_EXPORT_TO, 'a', 'a'), true);
  assert.equal(isVisible(['.'], DEFAULT_EXPORT_TO, 'a', 'b'), false);
  assert.equal(isVisible(['*'], ['.'], 'a', 'b'), true);
  assert.equal(isVisible(['~'], DEFAULT_EXPORT_TO, 'a', 'a'), false);
  assert.equal(isVisible(['b', 'c'], DEFAULT_EXPORT_TO, 'a', 'c'), true);
  assert.equal(isVisible(['b', 'c'], DEFAULT_EXPORT_TO, 'a', 'a'), false);
  assert.equal(isVisible(undefined, ['.'], 'a', 'b'), false);
  assert.equal(isVisible([], ['.'], 'a', 'a'), true);
});

test('the mesh defaults apply to objects without exportTo (Services included), not to those with it', () => {
  const c = config({
    serviceEntries: [se('a', 'private', ['p.example']), se('a', 'public', ['q.example'], { exportTo: ['*'] })],
    virtualServices: [vs('a', 'routes', ['p.example'])],
    services: [svc('a', 'web'), svc('a', 'shared', { 'networking.istio.io/exportTo': '*' })],
  }, 'defaultServiceExportTo: ["."]\ndefaultVirtualServiceExportTo: ["."]');
  const fromB = namespaceView(c, 'b');
  assert.deepEqual(names(fromB.serviceEntries), ['a/public', 'a/k8s-svc.shared']);
  assert.deepEqual(fromB.virtualServices, []);
  const fromA = namespaceView(c, 'a');
  assert.deepEqual(names(fromA.serviceEntries), ['a/private', 'a/public', 'a/k8s-svc.web', 'a/k8s-svc.shared']);
  assert.deepEqual(names(fromA.virtualServices), ['a/routes']);
});

test('a bad mesh default is refused with its field, so the last good one stays', () => {
  assert.throws(() => controlMeshFromConfigMap({ data: { mesh: 'defaultServiceExportTo: "."' } }), /defaultServiceExportTo must be a list/);
});

test('namespace-local precedence: the viewer\'s own object wins a shared host, else the oldest', () => {
  const c = config({ serviceEntries: [
    se('a', 'old', ['api.example.com', 'a-only.example.com'], {}, '2026-01-01T00:00:00Z'),
    se('b', 'newer', ['api.example.com'], {}, '2026-06-01T00:00:00Z'),
    se('c', 'newest', ['api.example.com'], {}, '2026-09-01T00:00:00Z'),
  ] });
  const fromC = namespaceView(c, 'c');
  assert.deepEqual(fromC.serviceEntries.map((e) => [e.metadata.name, e.spec.hosts]), [['old', ['a-only.example.com']], ['newest', ['api.example.com']]]);
  const fromZ = namespaceView(c, 'z');
  assert.deepEqual(fromZ.serviceEntries.map((e) => [e.metadata.name, e.spec.hosts]), [['old', ['api.example.com', 'a-only.example.com']]]);
});

test('resolveHostClaims keeps every host of claimants that do not collide', () => {
  assert.deepEqual(resolveHostClaims([{ namespace: 'a', name: 'x', created: '~', hosts: ['h1'] }, { namespace: 'b', name: 'y', created: '~', hosts: ['h2'] }], 'q'), [['h1'], ['h2']]);
});

test('VirtualServices: short hosts and destinations mean the owner namespace\'s Service; gateway-only ones are not for sidecars', () => {
  const c = config({ virtualServices: [
    vs('bookinfo', 'reviews', ['reviews']),
    vs('bookinfo', 'ingress-only', ['ratings'], { gateways: ['bookinfo-gateway'] }),
    vs('bookinfo', 'both', ['details'], { gateways: ['bookinfo-gateway', 'mesh'] }),
  ] });
  const fromOther = namespaceView(c, 'other');
  assert.deepEqual(fromOther.virtualServices.map((v) => v.metadata.name), ['reviews', 'both']);
  assert.deepEqual(fromOther.virtualServices[0]?.spec.hosts, ['reviews.bookinfo.svc.cluster.local', 'reviews.bookinfo.svc', 'reviews.bookinfo']);
  assert.equal(fromOther.virtualServices[0]?.spec.http?.[0]?.route?.[0]?.destination.host, 'reviews.bookinfo.svc.cluster.local');
  assert.ok(namespaceView(c, 'bookinfo').virtualServices[0]?.spec.hosts?.includes('reviews'));
  // The input objects are never modified (they are shared by every namespace's view).
  assert.equal(c.virtualServices[0]?.spec.http?.[0]?.route?.[0]?.destination.host, 'reviews');
});

test('a Kubernetes Service and a ServiceEntry for the same host: the local one wins, a foreign SE does not shadow a local Service', () => {
  const c = config({ serviceEntries: [se('other', 'hijack', ['web.a.svc.cluster.local'])], services: [svc('a', 'web')] });
  const fromA = namespaceView(c, 'a');
  assert.deepEqual(fromA.serviceEntries.map((e) => e.metadata.name), ['k8s-svc.web']);
});
