import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MeshConfigError, parseMeshConfig } from '../../../src/mesh/mesh-config.ts';
import { compileSnapshot } from '../../../src/snapshot/compile.ts';

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
