import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import jsonpatch from 'jsonpatch';
import { review, samplePod } from '../helpers/pods.ts';
import { startTestWebhook, type TestWebhook } from '../helpers/webhook.ts';
import { MALFORMED_ENVELOPES, PASS_THROUGH, UID } from '../fixtures/admission-cases.ts';

let hook: TestWebhook;
before(async () => { hook = await startTestWebhook(); });
after(async () => { await hook.webhook.close(); });

const post = (body: unknown, type = 'application/json') =>
  request(hook.url).post('/inject').ca(hook.ca).set('content-type', type).send(typeof body === 'string' ? body : JSON.stringify(body));

test('a pod CREATE is answered with a JSONPatch that applies, uid echoed', async () => {
  const pod = samplePod();
  const res = await post(review(pod));
  assert.equal(res.status, 200);
  assert.equal(res.body.apiVersion, 'admission.k8s.io/v1');
  assert.equal(res.body.kind, 'AdmissionReview');
  assert.equal(res.body.response.uid, UID);
  assert.equal(res.body.response.allowed, true);
  assert.equal(res.body.response.patchType, 'JSONPatch');
  const patch = JSON.parse(Buffer.from(res.body.response.patch, 'base64').toString());
  const out = jsonpatch.apply_patch(pod, patch);
  assert.deepEqual(out.spec?.containers?.map((c) => c.name), ['sleep', 'istio-proxy']);
});

test('v1beta1 is answered in v1beta1', async () => {
  const res = await post(review(samplePod(), {}, 'admission.k8s.io/v1beta1'));
  assert.equal(res.status, 200);
  assert.equal(res.body.apiVersion, 'admission.k8s.io/v1beta1');
  assert.equal(res.body.response.allowed, true);
});

test('a denial carries the annotation and the bad value', async () => {
  const res = await post(review(samplePod({ annotations: { 'traffic.sidecar.istio.io/excludeOutboundIPRanges': '*' } })));
  assert.equal(res.status, 200);
  assert.equal(res.body.response.allowed, false);
  assert.equal(res.body.response.status.code, 400);
  assert.match(res.body.response.status.message, /metadata\.annotations\[traffic\.sidecar\.istio\.io\/excludeOutboundIPRanges\]: "\*" is not allowed/);
});

for (const c of PASS_THROUGH) {
  test(c.name, async () => {
    const res = await post(c.review);
    assert.equal(res.status, 200);
    assert.equal(res.body.response.allowed, true);
    assert.equal(res.body.response.uid, UID);
    assert.equal(res.body.response.patch, undefined);
  });
}

test('dryRun is injected like any create (no side effects to skip)', async () => {
  const res = await post(review(samplePod(), { dryRun: true }));
  assert.equal(res.body.response.patchType, 'JSONPatch');
});

for (const c of MALFORMED_ENVELOPES) {
  test(`${c.name} gets a ${c.status} with a reason`, async () => {
    const res = await post(c.body, c.contentType);
    assert.equal(res.status, c.status);
    assert.equal(res.body.kind, 'Status');
    assert.match(res.body.message, c.reason);
  });
}

test('a missing object is a denial that echoes the uid', async () => {
  const body = review(undefined);
  const res = await post(body);
  assert.equal(res.status, 200);
  assert.equal(res.body.response.allowed, false);
  assert.match(res.body.response.status.message, /request\.object/);
});

test('a body of several MB within the limit is answered; beyond it a 413', async () => {
  const big = samplePod({ annotations: { blob: 'x'.repeat(5 * 1024 * 1024) } });
  const ok = await post(review(big));
  assert.equal(ok.status, 200);
  assert.equal(ok.body.response.allowed, true);
  const tooBig = await post(review(samplePod({ annotations: { blob: 'x'.repeat(9 * 1024 * 1024) } })));
  assert.equal(tooBig.status, 413);
  assert.match(tooBig.body.message, /exceeds the 8mb limit/);
});

test('health, readiness and metrics', async () => {
  assert.equal((await request(hook.url).get('/healthz').ca(hook.ca)).status, 200);
  const ready = await request(hook.url).get('/readyz').ca(hook.ca);
  assert.equal(ready.status, 200);
  const metrics = await request(hook.url).get('/metrics').ca(hook.ca);
  assert.equal(metrics.status, 200);
  assert.match(metrics.text, /sidecar_injection_requests_total \d+/);
  assert.match(metrics.text, /sidecar_injection_success_total [1-9]/);
  assert.match(metrics.text, /sidecar_injection_skip_total\{reason="NotCreate"\} [1-9]/);
  assert.match(metrics.text, /sidecar_injection_failure_total\{reason="InvalidPod"\} [1-9]/);
  assert.match(metrics.text, /meshgate_admission_duration_seconds_bucket\{le="0.001",webhook="inject"\}/);
});

test('unknown paths get a 404 Status', async () => {
  const res = await request(hook.url).post('/nope').ca(hook.ca).set('content-type', 'application/json').send('{}');
  assert.equal(res.status, 404);
  assert.equal(res.body.kind, 'Status');
});
