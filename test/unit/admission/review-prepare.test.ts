import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../../src/admission/app.ts';
import { prepareReview } from '../../../src/admission/validate-review.ts';
import { envelopeErrorResult } from '../../../src/admission/handler.ts';
import { createWebhookMetrics } from '../../../src/observability/webhook-metrics.ts';
import { silentLogger } from '../../../src/observability/logger.ts';

// A /validate review's regexes are parsed before the review, in slices that yield (prepareRegexes): the app must
// wait for that preparation and keep serving other requests meanwhile, probes included.

function send(port: number, method: string, path: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.setTimeout(5_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

test('the app answers probes while a review is being prepared, and reviews only once it is prepared', async () => {
  const events: string[] = [];
  let release = (): void => undefined;
  const prepared = new Promise<void>((resolve) => { release = resolve; });
  const app = createApp({
    handle: (path) => { events.push(`handle ${path}`); return envelopeErrorResult(400, 'test answer'); },
    prepare: (path) => { events.push(`prepare ${path}`); return prepared; },
    reviewPaths: ['/validate'],
    readiness: () => ({ ready: true, waitingFor: [] }),
    metrics: createWebhookMetrics(false),
    logger: silentLogger(),
  });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    const review = send(port, 'POST', '/validate', '{"request":{}}');
    for (let i = 0; i < 200 && !events.includes('prepare /validate'); i += 1) await new Promise((r) => setTimeout(r, 5));
    const probe = await send(port, 'GET', '/healthz');
    assert.equal(probe.status, 200);
    assert.deepEqual(events, ['prepare /validate'], 'the probe was answered while the review waited for its preparation');
    release();
    assert.equal((await review).status, 400);
    assert.deepEqual(events, ['prepare /validate', 'handle /validate']);
  } finally {
    server.close();
  }
});

test('only /validate reviews with an object are prepared', async () => {
  const object = { spec: { http: [{ match: [{ uri: { regex: '/a[0-9]+' } }] }] } };
  assert.equal(prepareReview('/inject', { request: { object } }), undefined);
  assert.equal(prepareReview('/validate', { request: {} }), undefined);
  assert.equal(prepareReview('/validate', 'not an object'), undefined);
  const pending = prepareReview('/validate', { request: { object } });
  assert.ok(pending instanceof Promise);
  await pending;
});
