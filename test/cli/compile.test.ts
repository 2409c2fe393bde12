import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMeshgate } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'meshgate-compile-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

writeFileSync(join(dir, 'mesh.yaml'), `
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    outboundTrafficPolicy: {mode: REGISTRY_ONLY}
    accessLogFile: ""
    defaultConfig: {terminationDrainDuration: 12s}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: httpbin, namespace: default}
spec:
  hosts: [httpbin.org]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: private, namespace: team-a}
spec:
  hosts: [private.example]
  exportTo: ["."]
  ports: [{number: 443, name: tls, protocol: TLS}]
`);

test('compile prints the snapshot of a config directory, and -n applies exportTo', () => {
  const all = runMeshgate(['compile', '--config-dir', dir]);
  assert.equal(all.status, 0, all.stderr);
  const snapshot = JSON.parse(all.stdout);
  assert.equal(snapshot.apiVersion, 'meshgate.io/snapshot/v1');
  assert.deepEqual(snapshot.mesh, { outboundTrafficPolicy: 'REGISTRY_ONLY', accessLogFile: '', accessLogEncoding: 'TEXT', accessLogFormat: '', terminationDrainDurationMs: 12000 });
  assert.deepEqual(Object.keys(snapshot.clusters).sort(), ['outbound|443||private.example', 'outbound|80||httpbin.org']);
  const other = JSON.parse(runMeshgate(['compile', '--config-dir', dir, '-n', 'default', '-o', 'json']).stdout);
  assert.deepEqual(Object.keys(other.clusters), ['outbound|80||httpbin.org']);
  assert.notEqual(other.version, snapshot.version);
  const own = JSON.parse(runMeshgate(['compile', '--config-dir', dir, '-n', 'team-a']).stdout);
  assert.equal(own.version, snapshot.version, 'team-a sees everything, so the same content and the same version');
});

test('a refused object is a warning with its field path and exit 1; the rest is still compiled', () => {
  const bad = mkdtempSync(join(tmpdir(), 'meshgate-compile-bad-'));
  try {
    writeFileSync(join(bad, 'vs.yaml'), `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: lookahead, namespace: default}
spec:
  hosts: [a.example]
  http:
  - match: [{uri: {regex: "(?=x)"}}]
    route: [{destination: {host: a.example}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: fine, namespace: default}
spec:
  hosts: [b.example]
  http:
  - route: [{destination: {host: b.example}}]
`);
    const result = runMeshgate(['compile', '--config-dir', bad]);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /VirtualService default\/lookahead: spec\.http\[0\]\.match\[0\]\.uri\.regex: .*RE2/);
    assert.deepEqual(JSON.parse(result.stdout).virtualServices.map((v: { source: { name: string } }) => v.source.name), ['fine']);
  } finally {
    rmSync(bad, { recursive: true, force: true });
  }
});

test('usage errors: an unknown output format, a missing directory', () => {
  assert.equal(runMeshgate(['compile', '--config-dir', dir, '-o', 'yaml']).status, 2);
  const missing = runMeshgate(['compile', '--config-dir', join(dir, 'nope')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /no such file or directory/);
});
