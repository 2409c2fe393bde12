import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
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

test('-o yaml is the same document; -o text a summary: version, policy, counts of hosts, routes and problems', () => {
  const json = JSON.parse(runMeshgate(['compile', '--config-dir', dir]).stdout);
  const yaml = runMeshgate(['compile', '--config-dir', dir, '-o', 'yaml']);
  assert.equal(yaml.status, 0, yaml.stderr);
  assert.deepEqual(parseYaml(yaml.stdout), json);
  const text = runMeshgate(['compile', '--config-dir', dir, '-o', 'text']);
  assert.equal(text.status, 0, text.stderr);
  assert.equal(text.stdout, [
    `snapshot ${json.version}`,
    'outbound policy: REGISTRY_ONLY',
    'registry hosts: 2 (0 wildcard) on ports 80, 443',
    'clusters: 2',
    'virtual services: 0 (routes: 0 http, 0 tls, 0 tcp)',
    'problems: 0',
    '',
  ].join('\n'));
});

test('-o text counts routes and says where the problems are; the exit code still says something was left out', () => {
  const bad = mkdtempSync(join(tmpdir(), 'meshgate-compile-text-'));
  try {
    writeFileSync(join(bad, 'vs.yaml'), `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: fine, namespace: default}
spec:
  hosts: [b.example, "*.c.example"]
  http:
  - match: [{uri: {prefix: /a}}]
    route: [{destination: {host: b.example}}]
  - route: [{destination: {host: b.example}}]
  tcp:
  - route: [{destination: {host: b.example}}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: partial, namespace: default}
spec:
  hosts: ["*.ok.example", "*partial.example"]
  ports: [{number: 8080, name: http, protocol: HTTP}]
`);
    const result = runMeshgate(['compile', '--config-dir', bad, '-o', 'text']);
    assert.equal(result.status, 1);
    assert.match(result.stdout, /^registry hosts: 1 \(1 wildcard\) on ports 8080$/m);
    assert.match(result.stdout, /^virtual services: 1 \(routes: 2 http, 0 tls, 1 tcp\)$/m);
    assert.match(result.stdout, /^problems: 1 \(listed on stderr\)$/m);
    assert.match(result.stderr, /^warning: ServiceEntry default\/partial: spec\.hosts\[1\]: "\*partial\.example" is a partial wildcard/m);
  } finally {
    rmSync(bad, { recursive: true, force: true });
  }
});

test('usage errors: an unknown output format, a missing directory', () => {
  const xml = runMeshgate(['compile', '--config-dir', dir, '-o', 'xml']);
  assert.equal(xml.status, 2);
  assert.match(xml.stderr, /text, json, yaml|"text", "json", "yaml"/);
  const missing = runMeshgate(['compile', '--config-dir', join(dir, 'nope')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /no such file or directory/);
});
