// The three runtime adapters in process, each given what its runtime hands a function (faas-js-runtime's context
// and parsed body, the Functions Framework's express request, a Lambda payload-2.0 event). The runtimes themselves
// run in test/e2e/serverless.test.ts; here the adapters' own decisions are checked case by case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ServerResponse } from 'node:http';
import jsonpatch from 'jsonpatch';
import { cloudRunAdapter, type FrameworkRequest } from '../../../src/serverless/cloud-run.ts';
import { knativeAdapter } from '../../../src/serverless/knative.ts';
import { lambdaAdapter } from '../../../src/serverless/lambda.ts';
import { endpointFromEnvironment, type ReviewEndpoint } from '../../../src/serverless/review-endpoint.ts';
import { silentLogger } from '../../../src/observability/logger.ts';
import { MALFORMED_ENVELOPES, PASS_THROUGH, UID } from '../../fixtures/admission-cases.ts';
import { httpRoute, virtualService } from '../../helpers/mesh.ts';
import { review, samplePod } from '../../helpers/pods.ts';

type Obj = Record<string, any>;
const endpointWith = (env: NodeJS.ProcessEnv = {}): (() => ReviewEndpoint) => {
  const endpoint = endpointFromEnvironment({ env, logger: silentLogger() });
  return () => endpoint;
};
const defaults = endpointWith();
const knative = knativeAdapter(defaults);
const cloudRun = cloudRunAdapter(defaults);
const lambda = lambdaAdapter(defaults);

/** The three adapters behind one signature: (path, content type, raw body) → status and parsed answer. */
type Call = (path: string, body: string, contentType?: string) => Promise<{ status: number; body: Obj }>;
const viaLambda = (adapter = lambda): Call => async (path, body, contentType = 'application/json') => {
  const result = await adapter({
    version: '2.0', rawPath: path, headers: { 'content-type': contentType },
    requestContext: { http: { method: 'POST', path } }, body: Buffer.from(body).toString('base64'), isBase64Encoded: true,
  });
  return { status: result.statusCode, body: JSON.parse(result.body) as Obj };
};
const viaCloudRun = (adapter = cloudRun): Call => async (path, body, contentType = 'application/json') => {
  const req = Object.assign(Readable.from([]), { method: 'POST', url: path, path, headers: { 'content-type': contentType }, rawBody: Buffer.from(body) });
  let status = 0;
  let payload = '';
  const res = { writeHead: (code: number) => { status = code; }, end: (text: string) => { payload = text; } } as unknown as ServerResponse;
  adapter(req as unknown as FrameworkRequest, res);
  return { status, body: JSON.parse(payload) as Obj };
};
// faas-js-runtime parses application/json itself (malformed JSON never reaches the function) and hands the rest as a Buffer.
const viaKnative = (adapter = knative): Call => async (_path, body, contentType = 'application/json') => {
  const parsed = contentType === 'application/json' ? JSON.parse(body) as unknown : Buffer.from(body);
  const result = adapter({ method: 'POST', contentType }, parsed);
  return { status: result.statusCode, body: result.body as Obj };
};
const ADAPTERS: Array<[string, Call]> = [['lambda', viaLambda()], ['cloud run', viaCloudRun()], ['knative', viaKnative()]];

const podReview = (pod = samplePod()): string => JSON.stringify(review(pod));
const vsReview = (vs: Obj): string => JSON.stringify(review(vs, { kind: { group: 'networking.istio.io', version: 'v1', kind: 'VirtualService' } }));
const badVs = virtualService({ hosts: ['reviews.example.com'], http: [httpRoute({ timeout: '0s' })] });
const patchedContainers = (answer: Obj): string[] => {
  const patch = JSON.parse(Buffer.from(answer.response.patch, 'base64').toString()) as unknown[];
  return (jsonpatch.apply_patch(samplePod(), patch) as Obj).spec.containers.map((c: Obj) => c.name);
};

for (const [name, call] of ADAPTERS) {
  test(`${name}: a pod CREATE gets a patch that adds istio-proxy, uid echoed`, async () => {
    const { status, body } = await call('/inject', podReview());
    assert.equal(status, 200);
    assert.equal(body.response.uid, UID);
    assert.deepEqual(patchedContainers(body), ['sleep', 'istio-proxy']);
  });

  test(`${name}: an invalid VirtualService is denied with its field path`, async () => {
    const { status, body } = await call('/validate', vsReview(badVs));
    assert.equal(status, 200);
    assert.equal(body.response.allowed, false);
    assert.match(body.response.status.message, /spec\.http\[0\]\.timeout/);
  });

  for (const c of PASS_THROUGH) {
    test(`${name}: ${c.name}`, async () => {
      const { body } = await call('/inject', JSON.stringify(c.review));
      assert.equal(body.response.allowed, true);
      assert.equal(body.response.patch, undefined);
    });
  }

  for (const c of MALFORMED_ENVELOPES) {
    if (name === 'knative' && c.name === 'malformed JSON') continue; // answered 400 by faas-js-runtime's parser, before the function
    test(`${name}: ${c.name} gets a ${c.status} with a reason`, async () => {
      const { status, body } = await call('/inject', typeof c.body === 'string' ? c.body : JSON.stringify(c.body), c.contentType);
      assert.equal(status, c.status);
      assert.match(body.message, c.reason);
    });
  }
}

test('the root path routes by the review: pods are injected, networking.istio.io objects validated', async () => {
  for (const call of [viaLambda(), viaCloudRun()]) {
    assert.deepEqual(patchedContainers((await call('/', podReview())).body), ['sleep', 'istio-proxy']);
    assert.equal((await call('/', vsReview(badVs))).body.response.allowed, false);
  }
  assert.equal((await viaKnative()('/', vsReview(badVs))).body.response.allowed, false);
});

test('an unknown path and a GET are 404s naming the route', async () => {
  assert.equal((await viaCloudRun()('/nope', podReview())).status, 404);
  const get = await lambda({ version: '2.0', rawPath: '/inject', requestContext: { http: { method: 'GET' } }, isBase64Encoded: false });
  assert.equal(get.statusCode, 404);
  assert.match(JSON.parse(get.body).message, /no route for GET \/inject/);
  assert.equal(knative({ method: 'GET' }, undefined).statusCode, 404);
});

test('lambda: a plain-text body and mixed-case headers (API Gateway keeps the client\'s casing) are read', async () => {
  const result = await lambda({ version: '2.0', rawPath: '/inject', headers: { 'Content-Type': 'application/json' },
    requestContext: { http: { method: 'POST' } }, body: podReview(), isBase64Encoded: false });
  assert.equal(result.statusCode, 200);
  assert.equal(JSON.parse(result.body).response.patchType, 'JSONPatch');
});

test('lambda: a base64 body over 8 MB is a 413 before it is decoded', async () => {
  const result = await lambda({ version: '2.0', rawPath: '/inject', headers: { 'content-type': 'application/json' },
    requestContext: { http: { method: 'POST' } }, body: 'A'.repeat(12 * 1024 * 1024), isBase64Encoded: true });
  assert.equal(result.statusCode, 413);
});

test('lambda: a decoded body over 8 MB is a 413 (the shared limit)', async () => {
  const { status } = await viaLambda()('/inject', podReview(samplePod({ annotations: { blob: 'x'.repeat(8 * 1024 * 1024) } })));
  assert.equal(status, 413);
});

test('lambda: an event that is not payload 2.0 (a REST API v1 event, a console test event) is a 400 saying what was expected', async () => {
  for (const event of [{ httpMethod: 'POST', path: '/inject', body: '{}' }, { key1: 'value1' }, null]) {
    const result = await lambda(event);
    assert.equal(result.statusCode, 400);
    assert.match(JSON.parse(result.body).message, /payload 2\.0 event/);
  }
});

test('values from MESHGATE_VALUES (the ConfigMap\'s schema) decide the pod\'s capture ranges', async () => {
  const call = viaLambda(lambdaAdapter(endpointWith({ MESHGATE_VALUES: 'global:\n  proxy:\n    includeIPRanges: 10.96.0.0/12\n' })));
  const { body } = await call('/inject', podReview());
  const patch = JSON.stringify(JSON.parse(Buffer.from(body.response.patch, 'base64').toString()));
  assert.match(patch, /10\.96\.0\.0\/12/);
});

test('values from MESHGATE_VALUES_FILE: a mounted istio-sidecar-injector ConfigMap', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'meshgate-fn-')), 'injector.yaml');
  writeFileSync(file, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio-sidecar-injector}\ndata:\n  values: \'{"global":{"proxy":{"includeIPRanges":"10.0.0.0/8"}}}\'\n');
  const { body } = await viaCloudRun(cloudRunAdapter(endpointWith({ MESHGATE_VALUES_FILE: file })))('/inject', podReview());
  assert.match(Buffer.from(body.response.patch, 'base64').toString(), /10\.0\.0\.0\/8/);
});

test('a misconfigured function answers every review with a 500 naming the variable, never a crash', async () => {
  const cases: Array<[NodeJS.ProcessEnv, RegExp]> = [
    [{ MESHGATE_VALUES: 'a', MESHGATE_VALUES_FILE: '/x' }, /MESHGATE_VALUES or MESHGATE_VALUES_FILE, not both/],
    [{ MESHGATE_VALUES_FILE: '/nonexistent/values' }, /\/nonexistent\/values: ENOENT/],
    [{ MESHGATE_VALUES: 'global: {proxy: {statusPort: many}}' }, /MESHGATE_VALUES: global\.proxy\.statusPort: .*"many"/],
    [{ MESHGATE_DISCOVER_RANGES: 'yes' }, /MESHGATE_DISCOVER_RANGES: expected true or false/],
  ];
  for (const [env, message] of cases) {
    const { status, body } = await viaLambda(lambdaAdapter(endpointWith(env)))('/inject', podReview());
    assert.equal(status, 500);
    assert.match(body.message, message);
  }
});
