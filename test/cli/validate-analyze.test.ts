import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runMeshgate } from '../helpers/cli.ts';

test('validate: valid manifests exit 0; other kinds are ignored', () => {
  const result = runMeshgate(['validate', '-f', 'test/fixtures/validate/valid.yaml']);
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, /2 objects validated, 0 invalid/);
});

test('validate: a directory with invalid objects exits 1 with file:document: Kind namespace/name: path: message lines', () => {
  const result = runMeshgate(['validate', '-f', 'test/fixtures/validate/invalid']);
  assert.equal(result.status, 1);
  const lines = result.stdout.trim().split('\n');
  assert.deepEqual(lines.map((l) => l.split(': ').slice(0, 3).join(': ')), [
    'test/fixtures/validate/invalid/bad.yaml:1: ServiceEntry default/mid-wildcard: spec.hosts[0]',
    'test/fixtures/validate/invalid/bad.yaml:2: VirtualService default/reviews: spec.http[0].match[0].uri.regex',
    'test/fixtures/validate/invalid/bad.yaml:2: VirtualService default/reviews: spec.http[0].timeout',
  ]);
  assert.match(result.stderr, /3 objects validated, 2 invalid/);
});

test('validate: stdin works, and YAML syntax errors are input errors (exit 2)', () => {
  const ok = runMeshgate(['validate', '-f', '-'], readFileSync('test/fixtures/validate/valid.yaml', 'utf8'));
  assert.equal(ok.status, 0);
  const broken = runMeshgate(['validate', '-f', '-'], 'kind: [unclosed\n');
  assert.equal(broken.status, 2);
  assert.match(broken.stdout, /^<stdin>:1: line \d+: /);
});

test('validate: a missing path is a usage error (exit 2)', () => {
  const result = runMeshgate(['validate', '-f', 'test/fixtures/validate/nope.yaml']);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /no such file or directory/);
});

test('analyze: reports each cross-object finding with its code, object and hint; exit 1 on errors', () => {
  const result = runMeshgate(['analyze', '-f', 'test/fixtures/analyze', '-o', 'json']);
  assert.equal(result.status, 1, result.stderr);
  const findings = JSON.parse(result.stdout) as Array<{ code: string; severity: string; object: string; hint: string }>;
  const summary = findings.map((f) => `${f.code} ${f.severity} ${f.object}`).sort();
  assert.deepEqual(summary, [
    'MG0002 Error VirtualService default/unknown-host',
    'MG0003 Error ServiceEntry default/api-http',
    'MG0004 Warning VirtualService default/tls-timeout',
    'MG0005 Warning VirtualService default/unknown-host',
    'MG0006 Error Pod default/bad-ranges',
  ]);
  assert.ok(findings.every((f) => f.hint.length > 0));
});

test('analyze: text output names the code, the object and the origin', () => {
  const result = runMeshgate(['analyze', '-f', 'test/fixtures/analyze']);
  assert.match(result.stdout, /^Warning \[MG0004\] \(VirtualService default\/tls-timeout\) spec\.http\[0\]\.timeout has no effect/m);
  assert.match(result.stdout, /at test\/fixtures\/analyze\/routes\.yaml:2; hint: /);
});

test('analyze: clean input exits 0 with a message', () => {
  const result = runMeshgate(['analyze', '-f', 'test/fixtures/validate/valid.yaml']);
  assert.equal(result.status, 0, result.stdout);
  assert.match(result.stdout, /No validation issues found/);
});
