import { test } from 'node:test';
import assert from 'node:assert/strict';
import jsonpatch from 'jsonpatch';
import { createFunctionHandler } from '../../../src/serverless/function-handler.ts';
import { silentLogger } from '../../../src/observability/logger.ts';
import { MALFORMED_ENVELOPES, PASS_THROUGH, UID } from '../../fixtures/admission-cases.ts';
import { review, samplePod } from '../../helpers/pods.ts';

const handler = createFunctionHandler({ logger: silentLogger() });
const call = (body: unknown, contentType = 'application/json') =>
  handler({ path: '/inject', headers: { 'Content-Type': contentType }, body: typeof body === 'string' ? body : JSON.stringify(body) });

test('function handler: a pod CREATE gets a patch that applies', () => {
  const pod = samplePod();
  const result = call(review(pod));
  assert.equal(result.statusCode, 200);
  const out = JSON.parse(result.body);
  assert.equal(out.response.uid, UID);
  const patched = jsonpatch.apply_patch(pod, JSON.parse(Buffer.from(out.response.patch, 'base64').toString()));
  assert.deepEqual(patched.spec?.containers?.map((c) => c.name), ['sleep', 'istio-proxy']);
});

test('function handler: an already-parsed body and bytes are accepted', () => {
  assert.equal(handler({ path: '/inject', body: review(samplePod()) }).statusCode, 200);
  assert.equal(handler({ path: '/inject', body: new TextEncoder().encode(JSON.stringify(review(samplePod()))) }).statusCode, 200);
});

for (const c of PASS_THROUGH) {
  test(`function handler: ${c.name}`, () => {
    const out = JSON.parse(call(c.review).body);
    assert.equal(out.response.allowed, true);
    assert.equal(out.response.uid, UID);
    assert.equal(out.response.patch, undefined);
  });
}

for (const c of MALFORMED_ENVELOPES) {
  test(`function handler: ${c.name} gets a ${c.status} with a reason`, () => {
    const result = call(c.body, c.contentType);
    assert.equal(result.statusCode, c.status);
    assert.match(JSON.parse(result.body).message, c.reason);
  });
}

test('function handler: more than 8 MB is a 413', () => {
  const result = call(review(samplePod({ annotations: { blob: 'x'.repeat(9 * 1024 * 1024) } })));
  assert.equal(result.statusCode, 413);
});

test('function handler: an unknown path is a 404', () => {
  assert.equal(handler({ path: '/nope', body: '{}' }).statusCode, 404);
});
