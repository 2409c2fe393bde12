import { test } from 'node:test';
import assert from 'node:assert/strict';
import { portProtocol, registryEntryFor, serviceHostnames, serviceToRegistryEntry, type RegistryService } from '../../../src/control/service-registry.ts';

const service = (spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): unknown => ({
  apiVersion: 'v1', kind: 'Service', metadata: { name: 'reviews', namespace: 'bookinfo', ...metadata }, spec,
});
const converted = (value: unknown): RegistryService => {
  const result = serviceToRegistryEntry(value);
  assert.equal(result.ok, true, JSON.stringify(result));
  return (result as { service: RegistryService }).service;
};

test('port protocol: appProtocol first, then the name prefix; unknown names are left to detection', () => {
  const cases: Array<[Record<string, unknown>, string | undefined]> = [
    [{ name: 'http' }, 'HTTP'], [{ name: 'http-web' }, 'HTTP'], [{ name: 'http2-api' }, 'HTTP2'], [{ name: 'grpc' }, 'GRPC'],
    [{ name: 'grpc-web-x' }, 'HTTP'], [{ name: 'tcp-db' }, 'TCP'], [{ name: 'tls-x' }, 'TLS'], [{ name: 'https' }, 'HTTPS'],
    [{ name: 'mongo-1' }, 'MONGO'], [{ name: 'redis' }, 'REDIS'], [{ name: 'mysql-main' }, 'MYSQL'],
    [{ name: 'HTTP-Upper' }, 'HTTP'], [{ name: 'web' }, undefined], [{ name: 'httpx' }, undefined], [{}, undefined],
    [{ name: 'web', appProtocol: 'http' }, 'HTTP'], [{ name: 'http-web', appProtocol: 'grpc' }, 'GRPC'],
    [{ name: 'x', appProtocol: 'kubernetes.io/h2c' }, 'HTTP2'], [{ name: 'tcp', appProtocol: 'example.com/custom' }, 'TCP'],
  ];
  for (const [port, expected] of cases) assert.equal(portProtocol(port), expected, JSON.stringify(port));
});

test('a pod\'s search path: FQDN, name.ns.svc, name.ns everywhere, the bare name only in the same namespace', () => {
  assert.deepEqual(serviceHostnames('reviews', 'bookinfo', 'cluster.local', 'other'), ['reviews.bookinfo.svc.cluster.local', 'reviews.bookinfo.svc', 'reviews.bookinfo']);
  assert.deepEqual(serviceHostnames('reviews', 'bookinfo', 'corp.internal', 'bookinfo'), ['reviews.bookinfo.svc.corp.internal', 'reviews.bookinfo.svc', 'reviews.bookinfo', 'reviews']);
});

test('a ClusterIP Service: its cluster IPs (both families) and TCP ports with their protocols; UDP left out', () => {
  const s = converted(service({ type: 'ClusterIP', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10', 'fd00::10'], ports: [
    { name: 'http', port: 9080, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }, { port: 7000 }, { name: 'grpc-api', port: 7070, appProtocol: 'grpc' },
  ] }));
  assert.deepEqual(s.spec, {
    location: 'MESH_INTERNAL', resolution: 'NONE', addresses: ['10.96.0.10', 'fd00::10'],
    ports: [{ number: 9080, name: 'http', protocol: 'HTTP' }, { number: 7000, name: 'port-7000' }, { number: 7070, name: 'grpc-api', protocol: 'GRPC' }],
  });
  const entry = registryEntryFor(s, 'cluster.local', 'bookinfo');
  assert.equal(entry.kind, 'ServiceEntry');
  assert.deepEqual(entry.spec.hosts, ['reviews.bookinfo.svc.cluster.local', 'reviews.bookinfo.svc', 'reviews.bookinfo', 'reviews']);
  assert.deepEqual(entry.spec.addresses, ['10.96.0.10', 'fd00::10']);
});

test('a headless Service has no address: matched by name and port, forwarded to the pod IP the client resolved', () => {
  const s = converted(service({ clusterIP: 'None', clusterIPs: ['None'], ports: [{ name: 'tcp-db', port: 5432 }] }));
  assert.equal(s.spec.addresses, undefined);
  assert.equal(s.spec.resolution, 'NONE');
  assert.deepEqual(s.spec.ports, [{ number: 5432, name: 'tcp-db', protocol: 'TCP' }]);
});

test('an ExternalName Service: MESH_EXTERNAL, resolved by DNS to its externalName', () => {
  const s = converted(service({ type: 'ExternalName', externalName: 'db.example.com', ports: [{ name: 'tls', port: 443 }] }));
  assert.deepEqual(s.spec, { location: 'MESH_EXTERNAL', resolution: 'DNS', ports: [{ number: 443, name: 'tls', protocol: 'TLS' }], endpoints: [{ address: 'db.example.com' }] });
  const bad = serviceToRegistryEntry(service({ type: 'ExternalName' }));
  assert.equal(bad.ok, false);
  assert.match((bad as { reason: string }).reason, /bookinfo\/reviews: ExternalName without spec.externalName/);
});

test('exportTo from the networking.istio.io/exportTo annotation; creation time kept for precedence', () => {
  const s = converted(service({ clusterIP: '10.96.0.1', ports: [] }, { annotations: { 'networking.istio.io/exportTo': ' ., team-b ' }, creationTimestamp: new Date('2026-01-02T03:04:05Z') }));
  assert.deepEqual(s.exportTo, ['.', 'team-b']);
  assert.equal(s.creationTimestamp, '2026-01-02T03:04:05.000Z');
  assert.equal(converted(service({ clusterIP: '10.96.0.1' })).exportTo, undefined);
});

test('objects that are not Services are ignored; a Service without a namespace is reported', () => {
  assert.equal(serviceToRegistryEntry('text').ok, 'ignored');
  assert.equal(serviceToRegistryEntry({ metadata: { name: 'x' }, spec: {} }).ok, false);
});
