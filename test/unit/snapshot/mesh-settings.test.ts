import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MeshConfigError, parseMeshConfig } from '../../../src/mesh/mesh-config.ts';
import { compileSnapshot } from '../../../src/snapshot/compile.ts';
import { compileManifests } from '../../../src/snapshot/from-directory.ts';

const meshOf = (text: string) => compileSnapshot({ mesh: parseMeshConfig(text), serviceEntries: [], virtualServices: [] }).mesh;

test('the mesh settings the proxy reads reach the snapshot, with meshgate\'s defaults where the config is silent', () => {
  assert.deepEqual(meshOf(''), { outboundTrafficPolicy: 'ALLOW_ANY', accessLogFile: '/dev/stdout', accessLogEncoding: 'TEXT', accessLogFormat: '', terminationDrainDurationMs: 5000 });
  assert.deepEqual(meshOf('accessLogFile: ""\naccessLogEncoding: JSON\naccessLogFormat: "%START_TIME% %RESPONSE_CODE%"\ndefaultConfig:\n  terminationDrainDuration: 12.5s\noutboundTrafficPolicy: {mode: REGISTRY_ONLY}'),
    { outboundTrafficPolicy: 'REGISTRY_ONLY', accessLogFile: '', accessLogEncoding: 'JSON', accessLogFormat: '%START_TIME% %RESPONSE_CODE%', terminationDrainDurationMs: 12500 });
  assert.equal(meshOf('accessLogFile: /var/log/access.log').accessLogFile, '/var/log/access.log');
});

test('a bad setting is a mesh config error naming the field, not a silent default', () => {
  assert.throws(() => parseMeshConfig('accessLogEncoding: XML'), (e: Error) => e instanceof MeshConfigError && /accessLogEncoding must be TEXT or JSON/.test(e.message));
  assert.throws(() => parseMeshConfig('accessLogFile: 3'), /accessLogFile must be a string/);
  assert.throws(() => parseMeshConfig('defaultConfig: {terminationDrainDuration: soon}'), /terminationDrainDuration "soon" is not a duration/);
});

test('ALLOW_ANY_DYNAMIC_DNS (Istio 1.31) reaches the snapshot; outboundTrafficPolicy.tls (upstream TLS origination) is refused by name', () => {
  assert.equal(meshOf('outboundTrafficPolicy: {mode: ALLOW_ANY_DYNAMIC_DNS}').outboundTrafficPolicy, 'ALLOW_ANY_DYNAMIC_DNS');
  assert.throws(() => parseMeshConfig('outboundTrafficPolicy: {mode: ALLOW_ANY_DYNAMIC_DNS, tls: {mode: SIMPLE}}'),
    (e: Error) => e instanceof MeshConfigError && /outboundTrafficPolicy\.tls \(upstream TLS origination for ALLOW_ANY_DYNAMIC_DNS\) is not implemented/.test(e.message));
  assert.throws(() => parseMeshConfig('outboundTrafficPolicy: {mode: ALLOW_SOME}'), /must be ALLOW_ANY, REGISTRY_ONLY, ALLOW_ANY_DYNAMIC_DNS, got "ALLOW_SOME"/);
  const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace: 'istio-system' }, data: { mesh: 'outboundTrafficPolicy: {mode: ALLOW_ANY_DYNAMIC_DNS}' } };
  const { snapshot, problems } = compileManifests([{ source: 'a.yaml', values: [configMap] }], undefined);
  assert.deepEqual(problems, []);
  assert.equal(snapshot.mesh.outboundTrafficPolicy, 'ALLOW_ANY_DYNAMIC_DNS');
});
