import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createAdmissionHandler } from '../../../src/admission/handler.ts';
import { defaultValues } from '../../../src/inject/values.ts';
import { silentLogger } from '../../../src/observability/logger.ts';
import { review, samplePod } from '../../helpers/pods.ts';
import { httpRoute, virtualService } from '../../helpers/mesh.ts';
import { mutate } from '../../helpers/mutate.ts';

// Issue 15, defect 6: a pod whose metadata.ownerReferences was an object, not a list, made the injector throw
// (`e.ownerReferences?.find is not a function`) and the webhook answered a code-500 denial leaking minified names;
// 1.7 % of fuzzed reviews did. Every input shape must get a 4xx-class answer naming the field.

const handle = createAdmissionHandler({ values: defaultValues, clusterRanges: () => undefined, logger: silentLogger() });

type Answer = { status: number; body: { response?: { allowed: boolean; status?: { code: number; message: string } } } };

function answer(path: string, body: unknown): Answer {
  return handle(path, body) as Answer;
}

for (const owners of [{ kind: 'ReplicaSet', name: 'x' }, 'rs', 7, [null], [{ name: 7, controller: 'yes' }]]) {
  test(`ownerReferences ${JSON.stringify(owners)} is a 400 deny naming the field`, () => {
    const pod = samplePod();
    (pod.metadata as Record<string, unknown>)['ownerReferences'] = owners;
    const { status, body } = answer('/inject', review(pod));
    assert.equal(status, 200);
    assert.equal(body.response?.allowed, false);
    assert.equal(body.response?.status?.code, 400);
    assert.match(body.response?.status?.message ?? '', /metadata\.ownerReferences/);
  });
}

const podReview = review(samplePod({ annotations: { 'traffic.sidecar.istio.io/includeOutboundIPRanges': '10.0.0.0/8' } }));
const vsReview = {
  apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
  request: {
    uid: 'u-vs', kind: { group: 'networking.istio.io', version: 'v1', kind: 'VirtualService' }, namespace: 'default', operation: 'CREATE',
    object: virtualService({ hosts: ['a.example.com'], http: [httpRoute({ match: [{ uri: { regex: '/v[0-9]+' } }], timeout: '2s' })] }),
  },
};

const edit = fc.record({
  steps: fc.array(fc.nat({ max: 40 }), { minLength: 1, maxLength: 9 }),
  value: fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom(null, '', 'x', 0, -1, 1e308, true, [], {}, [null], [{}], { find: 1 }, '*', '10.0.0.0/99', 'CREATE', 'Pod'),
  ),
  remove: fc.boolean(),
});
const mutation = fc.record({ target: fc.constantFrom('/inject', '/validate'), edits: fc.array(edit, { minLength: 1, maxLength: 3 }) });

const RUNS = 100_000;
const TIME_LIMIT_MS = 240_000;

test(`${RUNS.toLocaleString('en')} fuzzed reviews (seeded): no code-500 answer, every denial says why`, () => {
  const seed = Number(process.env['FUZZ_SEED'] ?? 15_015);
  const started = Date.now();
  fc.assert(fc.property(mutation, ({ target, edits }) => {
    let body: unknown = target === '/inject' ? podReview : vsReview;
    for (const e of edits) body = mutate(body, e.steps, e.value, e.remove);
    const { status, body: out } = answer(target, body);
    assert.ok(status === 200 || (status >= 400 && status < 500), `HTTP ${status}`);
    const code = out.response?.status?.code;
    assert.ok(code === undefined || code < 500, `code ${code}: ${out.response?.status?.message}`);
    if (out.response && !out.response.allowed) assert.ok((out.response.status?.message ?? '').length > 0, 'a denial carries a reason');
  }), { numRuns: RUNS, seed, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: true });
  assert.ok(Date.now() - started < TIME_LIMIT_MS);
});
