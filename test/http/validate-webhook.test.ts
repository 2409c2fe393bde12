import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { httpRoute, serviceEntry, virtualService } from '../helpers/mesh.ts';
import { startTestWebhook, type TestWebhook } from '../helpers/webhook.ts';

let hook: TestWebhook;
before(async () => { hook = await startTestWebhook(); });
after(async () => { await hook.webhook.close(); });

const UID = '0f6c1d7e-0000-4000-8000-00000000abcd';
const post = (body: unknown) =>
  request(hook.url).post('/validate').ca(hook.ca).set('content-type', 'application/json').send(typeof body === 'string' ? body : JSON.stringify(body));

function review(object: unknown, fields: Record<string, unknown> = {}, apiVersion = 'admission.k8s.io/v1'): unknown {
  const o = object as { kind?: string; apiVersion?: string };
  const [group, version] = (o.apiVersion ?? 'networking.istio.io/v1').split('/');
  return {
    apiVersion, kind: 'AdmissionReview',
    request: {
      uid: UID, kind: { group, version, kind: o.kind }, resource: { group, version, resource: `${(o.kind ?? '').toLowerCase()}s` },
      namespace: 'default', operation: 'CREATE', object, ...fields,
    },
  };
}

const goodVs = virtualService({ hosts: ['reviews.example.com'], http: [httpRoute({ timeout: '5s' })] });
const badVs = virtualService({ hosts: ['reviews.example.com'], http: [httpRoute({ timeout: '0s', retries: { attempts: 2, retryOn: 'sometimes' } })] });

test('a valid VirtualService is allowed, uid echoed', async () => {
  const res = await post(review(goodVs));
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: UID, allowed: true } });
});

test('an invalid VirtualService is denied with every error, each with its path', async () => {
  const res = await post(review(badVs));
  assert.equal(res.status, 200);
  const { response } = res.body;
  assert.equal(response.allowed, false);
  assert.equal(response.status.code, 422);
  assert.match(response.status.message, /VirtualService default\/vs is invalid \(2 errors\)/);
  assert.match(response.status.message, /spec\.http\[0\]\.timeout: duration must be at least 1ms \("0s"\)/);
  assert.match(response.status.message, /spec\.http\[0\]\.retries\.retryOn: "sometimes" is not a valid retryOn policy/);
});

test('v1beta1 reviews are answered in v1beta1', async () => {
  const res = await post(review(badVs, {}, 'admission.k8s.io/v1beta1'));
  assert.equal(res.body.apiVersion, 'admission.k8s.io/v1beta1');
  assert.equal(res.body.response.allowed, false);
});

test('an UPDATE is validated like a CREATE', async () => {
  const res = await post(review(badVs, { operation: 'UPDATE', oldObject: goodVs }));
  assert.equal(res.body.response.allowed, false);
});

test('warnings go into response.warnings and do not deny', async () => {
  const se = serviceEntry({ hosts: ['db.example.com'], ports: [{ number: 5432, name: 'pg', protocol: 'TCP' }], resolution: 'DNS' });
  const res = await post(review(se));
  assert.equal(res.body.response.allowed, true);
  assert.ok(res.body.response.warnings.some((w: string) => /addresses are required/.test(w)), JSON.stringify(res.body.response));
});

test('a partial-wildcard ServiceEntry is allowed with a warning naming the field, as Istio allows it', async () => {
  const res = await post(review(serviceEntry({ hosts: ['*foo.com'], ports: [{ number: 443, name: 'tls', protocol: 'TLS' }] })));
  assert.equal(res.body.response.allowed, true, JSON.stringify(res.body.response));
  assert.ok(res.body.response.warnings.some((w: string) => /^spec\.hosts\[0\]: partial wildcard/.test(w)), JSON.stringify(res.body.response));
});

test('a wildcard in the middle of a ServiceEntry host is denied', async () => {
  const res = await post(review(serviceEntry({ hosts: ['foo.*.com'], ports: [{ number: 443, name: 'tls', protocol: 'TLS' }] })));
  assert.equal(res.body.response.allowed, false);
  assert.match(res.body.response.status.message, /spec\.hosts\[0\]: domain name invalid/);
});

const passThrough: Array<[string, unknown]> = [
  ['DELETE passes, even of an invalid object', review(badVs, { operation: 'DELETE', object: null, oldObject: badVs })],
  ['another Istio kind passes', review({ apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', spec: { host: '*' } })],
  ['a pod passes', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: UID, kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', object: {} } }],
];
for (const [name, body] of passThrough) {
  test(name, async () => {
    const res = await post(body);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.response, { uid: UID, allowed: true });
  });
}

const badInput: Array<[string, unknown]> = [
  ['an object without a spec', { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'x' } }],
  ['a spec that is a string', virtualService('http: []')],
  ['an object that is a number', 42],
];
for (const [name, object] of badInput) {
  test(`${name} gets a clear denial`, async () => {
    const res = await post(review(object, { kind: { group: 'networking.istio.io', version: 'v1', kind: 'VirtualService' } }));
    assert.equal(res.status, 200);
    assert.equal(typeof res.body.response.allowed, 'boolean');
    assert.equal(res.body.response.allowed, false);
  });
}

const DEPTH = 100_000;
const garbage = (where: (placeholder: string) => unknown): string =>
  JSON.stringify(review(where('GARBAGE'), { kind: { group: 'networking.istio.io', version: 'v1', kind: 'VirtualService' } }))
    .replace('"GARBAGE"', '['.repeat(DEPTH) + ']'.repeat(DEPTH));

test('deeply nested garbage in an unknown field is a warning, not a crash', async () => {
  const res = await post(garbage((g) => virtualService({ hosts: ['a.com'], http: [httpRoute({ match: [{ extra: g }] })] })));
  assert.equal(res.status, 200);
  assert.equal(res.body.response.allowed, true, 'the API server drops unknown fields: a warning, not a denial');
  assert.match(res.body.response.warnings.join('\n'), /spec\.http\[0\]\.match\[0\]\.extra: unknown field/);
});

test('deeply nested garbage as the spec gets a clear denial', async () => {
  const res = await post(garbage((g) => virtualService(g)));
  assert.ok(res.status === 200 || res.status === 400, `status ${res.status}`);
  if (res.status === 200) assert.match(res.body.response.status.message, /spec: must be an object/);
  else assert.equal(res.body.kind, 'Status');
});

test('a 10,000-route VirtualService with an error in every route gets a bounded denial', async () => {
  const http = Array.from({ length: 10_000 }, (_, i) => httpRoute({ match: [{ uri: { prefix: `/r${i}` } }], timeout: '0s' }));
  const started = Date.now();
  const res = await post(review(virtualService({ hosts: ['big.example.com'], http })));
  assert.ok(Date.now() - started < 10_000, 'answered within the API server timeout budget');
  assert.equal(res.body.response.allowed, false);
  const message: string = res.body.response.status.message;
  assert.match(message, /\(10000 errors\)/);
  assert.match(message, /… and 9900 more/);
  assert.ok(message.length < 20_000, `message is ${message.length} chars`);
});

test('the validations are counted by kind and result', async () => {
  await post(review(goodVs));
  const res = await request(hook.url).get('/metrics').ca(hook.ca);
  assert.match(res.text, /meshgate_validation_requests_total\{kind="VirtualService",result="allowed"\} [1-9]/);
  assert.match(res.text, /meshgate_validation_requests_total\{kind="VirtualService",result="denied"\} [1-9]/);
});
