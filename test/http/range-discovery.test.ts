import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { review, samplePod } from '../helpers/pods.ts';
import { unreachableKubeconfig } from '../helpers/unreachable-cluster.ts';
import { startTestWebhook, type TestWebhook } from '../helpers/webhook.ts';

// The webhook with --discover-ranges against a cluster that refuses connections: discovery fails at start, the
// injector captures `*` and says why in the annotation, and the failure is counted. (A real cluster's answer is
// checked by the e2e suite: see test/helpers/ranges-e2e.ts.)
let hook: TestWebhook;
let kubeconfig: Awaited<ReturnType<typeof unreachableKubeconfig>>;
before(async () => {
  kubeconfig = await unreachableKubeconfig();
  hook = await startTestWebhook({ kubeconfig: kubeconfig.path, discoverRanges: { ttlMs: 3_600_000, timeoutMs: 5000 } });
});
after(async () => {
  await hook.webhook.close();
  kubeconfig.cleanup();
});

test('a failed discovery: auto would capture * (the fallback reason recorded in meshgate.io/capture-ranges)', async () => {
  const res = await request(hook.url).post('/inject').ca(hook.ca).set('content-type', 'application/json').send(JSON.stringify(review(samplePod())));
  assert.equal(res.body.response.allowed, true);
  const patch = JSON.parse(Buffer.from(res.body.response.patch, 'base64').toString()) as Array<{ path: string; value: Record<string, string> }>;
  const annotations = patch.find((op) => op.path === '/metadata/annotations')!.value;
  const capture = JSON.parse(annotations['meshgate.io/capture-ranges']!);
  assert.equal(capture.includeOutboundIPRanges, '*');
  assert.equal(capture.includeSource, 'values', 'the default value is Istio\'s "*"');
  assert.equal(capture.autoIncludeOutboundIPRanges, '*');
  assert.match(capture.autoSource, /^fallback:no service range found \(ServiceCIDR: list servicecidrs: fetch failed \(ECONNREFUSED\)/);
});

test('the failure is counted by reason on /metrics', async () => {
  const res = await request(hook.url).get('/metrics').ca(hook.ca);
  assert.match(res.text, /meshgate_range_discovery_failures_total\{reason="api_error"\} 1/);
});
