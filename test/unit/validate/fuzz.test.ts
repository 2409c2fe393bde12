import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { reviewValidation } from '../../../src/admission/validate-review.ts';
import { validateMeshObject } from '../../../src/validate/validate.ts';
import { httpRoute, serviceEntry, virtualService } from '../../helpers/mesh.ts';
import { mutate } from '../../helpers/mutate.ts';

// Valid objects, mutated at random places into random JSON: the validator must always answer with data, and the
// reviewer with a well-formed AdmissionResponse, never throw.

const seeds = [
  virtualService({
    hosts: ['reviews.example.com'], gateways: ['mesh'],
    http: [httpRoute({
      match: [{ uri: { prefix: '/a' }, headers: { 'x-a': { regex: 'b.*' } } }], timeout: '2s',
      retries: { attempts: 2, retryOn: '5xx' }, fault: { delay: { fixedDelay: '1s', percentage: { value: 5 } } },
      corsPolicy: { allowOrigins: [{ exact: 'https://a' }] }, headers: { request: { set: { 'x-b': 'c' } } }, mirror: { host: 'm.com' },
    }), { redirect: { uri: '/x' } }],
    tls: [{ match: [{ sniHosts: ['reviews.example.com'] }], route: [{ destination: { host: 'r.com' } }] }],
    tcp: [{ match: [{ port: 9000 }], route: [{ destination: { host: 'r.com', port: { number: 9000 } } }] }],
  }),
  serviceEntry({
    hosts: ['api.example.com'], addresses: ['10.0.0.1'], ports: [{ number: 443, name: 'tls', protocol: 'TLS', targetPort: 8443 }],
    resolution: 'STATIC', location: 'MESH_EXTERNAL', endpoints: [{ address: '10.0.0.2', ports: { tls: 443 }, labels: { a: 'b' } }], exportTo: ['.'],
  }),
];

type Json = unknown;

const mutation = fc.record({
  seed: fc.nat({ max: seeds.length - 1 }),
  edits: fc.array(fc.record({
    steps: fc.array(fc.nat({ max: 50 }), { minLength: 1, maxLength: 8 }),
    value: fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom('', '*', '0s', '(?=x)', '*foo.com', -1, 70000, null, 1e308)),
    remove: fc.boolean(),
  }), { minLength: 1, maxLength: 4 }),
});

test('mutated objects always get a well-formed validation result and AdmissionResponse', () => {
  const reviewer = reviewValidation;
  const started = Date.now();
  fc.assert(fc.property(mutation, ({ seed, edits }) => {
    let object: Json = seeds[seed];
    for (const edit of edits) object = mutate(object, edit.steps, edit.value, edit.remove);
    const result = validateMeshObject(object, 'default', seed === 0 ? 'VirtualService' : 'ServiceEntry');
    assert.equal(result.applies, true);
    if (result.applies) for (const issue of [...result.errors, ...result.warnings]) {
      assert.equal(typeof issue.path, 'string');
      assert.equal(typeof issue.message, 'string');
    }
    const { response } = reviewer({
      uid: 'u', operation: 'CREATE', namespace: 'default', object,
      kind: { group: 'networking.istio.io', version: 'v1', kind: seed === 0 ? 'VirtualService' : 'ServiceEntry' },
    });
    assert.equal(response.uid, 'u');
    assert.equal(typeof response.allowed, 'boolean');
    if (!response.allowed) assert.match(response.status?.message ?? '', /is invalid/);
    JSON.stringify(response);
  }), { numRuns: 1500, ...(process.env['FUZZ_SEED'] ? { seed: Number(process.env['FUZZ_SEED']) } : {}) });
  assert.ok(Date.now() - started < 30_000, 'bounded in time');
});

test('the unmutated seeds are valid (so mutations, not the seeds, make the errors)', () => {
  for (const seed of seeds) {
    const result = validateMeshObject(seed);
    assert.ok(result.applies && result.errors.length === 0, JSON.stringify(result));
  }
});
