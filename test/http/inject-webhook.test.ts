import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import jsonpatch from 'jsonpatch';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { review, samplePod } from '../helpers/pods.ts';
import { startTestWebhook, type TestWebhook } from '../helpers/webhook.ts';
import { createAdmissionHandler } from '../../src/admission/handler.ts';
import { defaultValues } from '../../src/inject/values.ts';
import { silentLogger } from '../../src/observability/logger.ts';
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

/** A pod of 10,000 labels: past the separators the serving thread parses itself, so the review worker answers it. */
const costlyPod = () => samplePod({ labels: Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`l${i}`, `v${i}`])) });

test('a costly pod is answered by the review worker exactly as the serving thread would answer it', async () => {
  const body = review(costlyPod());
  const res = await post(body);
  const here = createAdmissionHandler({ values: defaultValues, clusterRanges: () => undefined, logger: silentLogger() })('/inject', body);
  assert.equal(res.status, 200);
  assert.equal(res.body.response.patchType, 'JSONPatch');
  assert.deepEqual(res.body, here.body);
});

test('a costly body (parsed by the review worker) that is malformed gets the same 4xx as a small one', async () => {
  const separators = ','.repeat(10_000);
  const notJson = await post(`{"kind": "AdmissionReview"${separators}`);
  assert.equal(notJson.status, 400);
  assert.match(notJson.body.message, /malformed JSON/);
  const wrongType = await post(JSON.stringify(review(costlyPod())), 'text/plain');
  assert.equal(wrongType.status, 415);
  const noUid = await post({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { object: costlyPod() } });
  assert.equal(noUid.status, 400);
  assert.match(noUid.body.message, /request\.uid is missing/);
});

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

// Values are checked once, at load (issue 9 defect 2): a bad file stops the start, a bad ConfigMap update keeps the
// last good values, is logged and counted, and readiness says when no valid values were ever loaded.
test('a bad --values file fails the start with the key path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshgate-values-'));
  const file = join(dir, 'values.yaml');
  writeFileSync(file, 'global:\n  proxy:\n    includeIPRanges: "10.0.0.0/99"\n');
  const certDir = join(dir, 'certs');
  await assert.rejects(startTestWebhook({ valuesFile: file, certDir }), /values\.yaml: global\.proxy\.includeIPRanges: invalid CIDR "10\.0\.0\.0\/99"/);
  assert.equal(existsSync(certDir), false, 'nothing is done before the values load');
});

/** A fake API server serving one istio-sidecar-injector ConfigMap (list + watch, as client-node's informer asks). */
async function fakeConfigMapApi(initialValues: string) {
  let version = 1;
  let values = initialValues;
  const watches: ServerResponse[] = [];
  const configMap = () => ({ apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name: 'istio-sidecar-injector', namespace: 'istio-system', resourceVersion: String(version) }, data: { values } });
  const api = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/api/v1/namespaces/istio-system/configmaps') { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'content-type': 'application/json' });
    if (url.searchParams.get('watch') === 'true') { res.flushHeaders(); watches.push(res); return; }
    res.end(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMapList', metadata: { resourceVersion: String(version) }, items: [configMap()] }));
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  const dir = mkdtempSync(join(tmpdir(), 'meshgate-kubeconfig-'));
  const kubeconfig = join(dir, 'config');
  writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    insecure-skip-tls-verify: true\n    server: http://127.0.0.1:${(api.address() as AddressInfo).port}\nusers:\n- name: u\n  user: {}\ncontexts:\n- name: c\n  context: {cluster: fake, user: u}\ncurrent-context: c\n`);
  return {
    kubeconfig,
    update(next: string): void {
      version += 1;
      values = next;
      for (const watch of watches) watch.write(`${JSON.stringify({ type: 'MODIFIED', object: configMap() })}\n`);
    },
    close(): void {
      for (const watch of watches) watch.destroy();
      api.closeAllConnections();
      api.close();
    },
  };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('ConfigMap values: bad from the start is not ready; a good update loads; a bad update keeps the last good values and is counted', async () => {
  const api = await fakeConfigMapApi(JSON.stringify({ global: { proxy: { includeIPRanges: '10.0.0.0/99' } } }));
  const hook2 = await startTestWebhook({ valuesConfigMap: 'istio-system/istio-sidecar-injector', kubeconfig: api.kubeconfig });
  const get = (path: string) => request(hook2.url).get(path).ca(hook2.ca);
  const includeOf = async (): Promise<string | undefined> => {
    const res = await request(hook2.url).post('/inject').ca(hook2.ca).set('content-type', 'application/json').send(JSON.stringify(review(samplePod())));
    const out = jsonpatch.apply_patch(samplePod(), JSON.parse(Buffer.from(res.body.response.patch, 'base64').toString()));
    const args = out.spec?.initContainers?.find((c) => c.name === 'istio-init')?.args ?? [];
    return args[args.indexOf('-i') + 1];
  };
  try {
    const notReady = await get('/readyz');
    assert.equal(notReady.status, 503);
    assert.match(notReady.text, /waiting for injector values/);
    assert.match((await get('/metrics')).text, /meshgate_values_rejected_total 1/);

    api.update(JSON.stringify({ global: { proxy: { includeIPRanges: '10.96.0.0/12' } } }));
    await until('the good values to load', async () => (await get('/readyz')).status === 200);
    assert.equal(await includeOf(), '10.96.0.0/12');

    api.update(JSON.stringify({ global: { proxy: { includeIPRanges: '10.96.0.0/12', tracer: 'zipkin' } } }));
    await until('the bad update to be counted', async () => /meshgate_values_rejected_total 2/.test((await get('/metrics')).text));
    assert.equal((await get('/readyz')).status, 200, 'valid values are still in force');
    assert.equal(await includeOf(), '10.96.0.0/12', 'the last good values stay');
  } finally {
    await hook2.webhook.close();
    api.close();
  }
});
