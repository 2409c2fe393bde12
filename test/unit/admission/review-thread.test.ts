import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startReviewThread, type ReviewThreadOptions } from '../../../src/admission/review-thread.ts';
import { reviewValidation } from '../../../src/admission/validate-review.ts';
import { createServedAdmissionHandler } from '../../../src/admission/handler.ts';
import { createApp } from '../../../src/admission/app.ts';
import type { AdmissionRequest } from '../../../src/admission/review.ts';
import { createWebhookMetrics } from '../../../src/observability/webhook-metrics.ts';
import { silentLogger } from '../../../src/observability/logger.ts';
import { defaultValues } from '../../../src/inject/values.ts';
import { httpRoute, serviceEntry, virtualService } from '../../helpers/mesh.ts';

// The webhook's validation runs in a worker thread (src/admission/review-thread.ts) so the serving thread keeps
// answering probes. These tests drive the thread's manager with the real validation worker and with a scripted one
// (test/helpers/workers/scripted-reviewer.ts) that fails on demand.

const scripted = new URL('../../helpers/workers/scripted-reviewer.ts', import.meta.url);
const validationWorker = new URL('../../../src/admission/validation-worker.ts', import.meta.url);

function thread(overrides: Partial<ReviewThreadOptions> = {}) {
  return startReviewThread({ entry: scripted, name: 'test', deadlineMs: 2_000, maxQueued: 8, maxWaitMs: 10_000, idleStopMs: 60_000,
    logger: silentLogger(), ...overrides });
}

const scriptRequest = (uid: string, object: unknown): AdmissionRequest => ({ uid, kind: { group: 'test', version: 'v1', kind: 'Script' }, operation: 'CREATE', object });
const reviewBody = (request: AdmissionRequest): Uint8Array => Buffer.from(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request }));
/** The thread's arguments for a scripted review: the request, and the body it came in. */
const review = (uid: string, object: unknown): [AdmissionRequest, Uint8Array] => {
  const request = scriptRequest(uid, object);
  return [request, reviewBody(request)];
};

async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  for (const deadline = Date.now() + ms; !condition();) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('the validation worker answers exactly what the in-thread reviewer answers', async () => {
  const validation = thread({ entry: validationWorker, name: 'validation' });
  try {
    const objects: unknown[] = [
      virtualService({ hosts: ['a.example.com'], http: [httpRoute({ match: [{ uri: { regex: '/a[0-9]+' } }] })] }),
      virtualService({ hosts: ['a.example.com'], http: [httpRoute({ match: [{ uri: { regex: '(?=lookahead)' } }] })] }),
      virtualService({ hosts: [], http: 'not a list' }),
      serviceEntry({ hosts: ['httpbin.org'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'DNS' }),
      serviceEntry({ hosts: ['*'], ports: [{ number: 0, name: '', protocol: 'SMTP' }], resolution: 'NONE' }),
    ];
    for (const [i, object] of objects.entries()) {
      const kind = (object as { kind: string }).kind;
      const request: AdmissionRequest = { uid: `u${i}`, kind: { group: 'networking.istio.io', version: 'v1', kind }, operation: 'CREATE', namespace: 'default', object };
      assert.deepEqual(await validation.review(request, reviewBody(request)), reviewValidation(request), `object ${i}`);
    }
  } finally {
    await validation.close();
  }
});

test('a review over its deadline is denied with 503 and the worker is replaced for the next one', async () => {
  const t = thread({ deadlineMs: 300 });
  try {
    const slow = await t.review(...review('slow', { busyMs: 5_000 }));
    assert.equal(slow.response.allowed, false);
    assert.equal(slow.response.status?.code, 503);
    assert.match(slow.response.status?.message ?? '', /took over 300 ms and was stopped/);
    const next = await t.review(...review('next', {}));
    assert.equal(next.response.allowed, true, 'a new worker answered the next review');
  } finally {
    await t.close();
  }
});

test("a reviewer's exception rejects (the handler then denies with its internal-error answer); the worker stays", async () => {
  const t = thread();
  try {
    await assert.rejects(t.review(...review('boom', { throw: 'scripted failure' })), /scripted failure/);
    assert.equal((await t.review(...review('after', {}))).response.allowed, true);
  } finally {
    await t.close();
  }
});

test('a review that overflows the worker heap limit is denied with 503, and the webhook thread is untouched', async () => {
  const t = thread({ resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 }, deadlineMs: 30_000 });
  try {
    const heavy = await t.review(...review('heavy', { allocate: true }));
    assert.equal(heavy.response.status?.code, 503);
    assert.match(heavy.response.status?.message ?? '', /worker failed|exited/);
    assert.equal((await t.review(...review('after', {}))).response.allowed, true);
  } finally {
    await t.close();
  }
});

test('a worker that exits mid-review costs that review a 503, not the next', async () => {
  const t = thread();
  try {
    const gone = await t.review(...review('exit', { exit: 3 }));
    assert.equal(gone.response.status?.code, 503);
    assert.match(gone.response.status?.message ?? '', /exited \(code 3\)/);
    assert.equal((await t.review(...review('after', {}))).response.allowed, true);
  } finally {
    await t.close();
  }
});

test('past maxQueued waiting reviews, one more is denied at once as overloaded', async () => {
  const t = thread({ maxQueued: 2 });
  try {
    await t.review(...review('warm', {})); // the worker is up: the next review goes straight to it
    const held = t.review(...review('held', { busyMs: 400 }));
    const waiting = [t.review(...review('q1', {})), t.review(...review('q2', {}))];
    const refused = await t.review(...review('q3', {}));
    assert.equal(refused.response.status?.code, 503);
    assert.match(refused.response.status?.message ?? '', /overloaded \(2 reviews already waiting\)/);
    for (const r of await Promise.all([held, ...waiting])) assert.equal(r.response.allowed, true);
  } finally {
    await t.close();
  }
});

test('a review that waits longer than maxWaitMs is denied without running', async () => {
  const t = thread({ maxWaitMs: 200 });
  try {
    const held = t.review(...review('held', { busyMs: 800 }));
    const late = await t.review(...review('late', {}));
    assert.equal(late.response.status?.code, 503);
    assert.match(late.response.status?.message ?? '', /waited over 200 ms/);
    assert.equal((await held).response.allowed, true);
  } finally {
    await t.close();
  }
});

test('the worker is started by the first review, stopped when idle, and started again by the next', async () => {
  const t = thread({ idleStopMs: 150 });
  try {
    assert.equal(t.running, false, 'no worker before a review');
    assert.equal((await t.review(...review('first', {}))).response.allowed, true);
    assert.equal(t.running, true, 'kept right after a review');
    await until(() => !t.running, 'the idle stop');
    assert.equal((await t.review(...review('again', {}))).response.allowed, true);
  } finally {
    await t.close();
  }
});

test('a worker module that cannot load: the review is denied at once with the reason, and so is the next until the retry delay', async () => {
  const t = thread({ entry: new URL('../../helpers/workers/no-such-worker.ts', import.meta.url) });
  try {
    const answer = await t.review(...review('nobody', {}));
    assert.equal(answer.response.status?.code, 503);
    assert.match(answer.response.status?.message ?? '', /worker could not start \(.*no-such-worker/s);
    assert.equal(t.running, false);
    const next = await t.review(...review('next', {}));
    assert.match(next.response.status?.message ?? '', /could not start/);
    assert.equal(t.running, false, 'not retried before the delay');
  } finally {
    await t.close();
  }
});

test('close denies what is queued and stops the worker', async () => {
  const t = thread();
  const held = t.review(...review('held', { busyMs: 300 }));
  const queued = t.review(...review('queued', {}));
  await t.close();
  assert.match((await queued).response.status?.message ?? '', /shutting down/);
  assert.equal((await held).response.status?.code, 503);
  assert.equal(t.running, false);
  assert.match((await t.review(...review('after', {}))).response.status?.message ?? '', /shutting down/);
});

test('the served app answers /healthz while a review holds the worker, and the review is answered after', async () => {
  const t = thread();
  const handle = createServedAdmissionHandler({ values: defaultValues, clusterRanges: () => undefined, logger: silentLogger(),
    reviewers: { '/script': () => { throw new Error('runs in the worker, never here'); } } }, { '/script': t.review });
  const server = createServer(createApp({ handle, reviewPaths: handle.paths, readiness: () => ({ ready: true, waitingFor: [] }),
    metrics: createWebhookMetrics(false), logger: silentLogger() }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const send = (method: string, path: string, body?: string) => new Promise<{ status: number; text: string; at: number }>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, at: performance.now() }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
  try {
    await t.review(...review('warm', {}));
    const body = Buffer.from(reviewBody(scriptRequest('held', { busyMs: 1_500 }))).toString('utf8');
    const reviewed = send('POST', '/script', body);
    await until(() => t.running, 'the review to reach the worker');
    const probe = await send('GET', '/healthz');
    assert.equal(probe.status, 200);
    const answer = await reviewed;
    assert.ok(probe.at < answer.at, 'the probe was answered while the review was still running in the worker');
    const { response } = JSON.parse(answer.text) as { response: { allowed: boolean; uid: string } };
    assert.deepEqual([answer.status, response.uid, response.allowed], [200, 'held', true]);
  } finally {
    server.close();
    await t.close();
  }
});
