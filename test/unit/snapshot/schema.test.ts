import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { compileSnapshot } from '../../../src/snapshot/compile.ts';
import type { ProxySnapshot } from '../../../src/snapshot/types.ts';
import { everything } from './fixtures.ts';

const schema = JSON.parse(readFileSync('docs/snapshot.schema.json', 'utf8')) as Record<string, unknown>;
const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);

function errors(document: unknown): string {
  return validate(document) ? '' : JSON.stringify(validate.errors, null, 1);
}

test('a snapshot using every field validates against docs/snapshot.schema.json', () => {
  const snapshot = compileSnapshot(everything());
  assert.deepEqual(snapshot.problems, []);
  assert.equal(errors(snapshot), '');
  // Not a vacuous pass: the fixture reaches the optional parts of the schema.
  const route = snapshot.virtualServices[0]!.http[0]!;
  for (const field of ['redirect', 'directResponse', 'rewrite', 'fault', 'corsPolicy'] as const) {
    assert.ok(snapshot.virtualServices[0]!.http.some((r) => r[field] !== undefined), `no route carries ${field}`);
  }
  assert.ok(route.match[0]!.queryParams && Object.keys(route.match[0]!.queryParams).length > 0);
  assert.ok(snapshot.virtualServices[0]!.tls.length > 0 && snapshot.virtualServices[0]!.tcp.length > 0);
});

test('every object in the schema refuses unknown fields', () => {
  const open: string[] = [];
  const walk = (node: unknown, path: string): void => {
    if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${path}[${i}]`));
    if (typeof node !== 'object' || node === null) return;
    const record = node as Record<string, unknown>;
    if (record['type'] === 'object' && record['properties'] !== undefined && record['additionalProperties'] !== false) open.push(path);
    for (const [k, v] of Object.entries(record)) walk(v, `${path}.${k}`);
  };
  walk(schema, '$');
  assert.deepEqual(open, []);
});

test('an unknown field anywhere, or another apiVersion, fails validation', () => {
  const base = compileSnapshot(everything());
  const mutations: Array<[string, (s: any) => void]> = [
    ['top level', (s) => { s.extra = 1; }],
    ['mesh', (s) => { s.mesh.accessLogPath = '/x'; }],
    ['cluster', (s) => { Object.values<any>(s.clusters)[0].tls = {}; }],
    ['http route', (s) => { s.virtualServices[0].http[0].mirrorPolicy = {}; }],
    ['http match', (s) => { s.virtualServices[0].http[0].match[0].body = { exact: 'x' }; }],
    ['string match', (s) => { s.virtualServices[0].http[0].match[0].uri.suffix = 'x'; }],
    ['tls match', (s) => { s.virtualServices[0].tls[0].match[0].alpn = ['h2']; }],
    ['apiVersion', (s) => { s.apiVersion = 'meshgate.io/snapshot/v2'; }],
    ['duration as text', (s) => { s.virtualServices[0].http[0].timeoutMs = '3s'; }],
  ];
  for (const [where, mutate] of mutations) {
    const copy = structuredClone(base) as ProxySnapshot;
    mutate(copy);
    assert.notEqual(errors(copy), '', `${where}: an unknown field was accepted`);
  }
});
