import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startReviewThread, type ReviewThreadOptions } from '../../../src/admission/review-thread.ts';
import { recordReview, runReview, createReviewers, type ReviewOutcome } from '../../../src/admission/handler.ts';
import { createApp } from '../../../src/admission/app.ts';
import type { AdmissionRequest } from '../../../src/admission/review.ts';
import type { ReviewContext } from '../../../src/admission/review-worker.ts';
import { createWebhookMetrics } from '../../../src/observability/webhook-metrics.ts';
import { silentLogger } from '../../../src/observability/logger.ts';
import { defaultValues } from '../../../src/inject/values.ts';
import { httpRoute, serviceEntry, virtualService } from '../../helpers/mesh.ts';
import { review as podReview, samplePod } from '../../helpers/pods.ts';

// The webhook's costly reviews run in a worker thread (src/admission/review-thread.ts) so the serving thread keeps
// answering probes. These tests drive the thread's manager with the real review worker and with a scripted one
// (test/helpers/workers/scripted-reviewer.ts) that fails on demand.

const scripted = new URL('../../helpers/workers/scripted-reviewer.ts', import.meta.url);
const reviewWorker = new URL('../../../src/admission/review-worker.ts', import.meta.url);
const JSON_TYPE = 'application/json';

function thread(overrides: Partial<ReviewThreadOptions> = {}) {
  return startReviewThread({ entry: scripted, deadlineMs: 2_000, maxQueued: 8, maxQueuedBytes: 1 << 20, maxWaitMs: 10_000, idleStopMs: 60_000,
    logger: silentLogger(), ...overrides });
}

const bytes = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const envelope = (request: AdmissionRequest): unknown => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request });
/** A scripted review as the thread takes it. */
const script = (uid: string, object: unknown, context: unknown = null) => ({ path: '/script', contentType: JSON_TYPE, context,
  body: bytes(envelope({ uid, kind: { group: 'test', version: 'v1', kind: 'Script' }, operation: 'CREATE', object })) });

type Answer = { response: { uid: string; allowed: boolean; status?: { code: number; message: string } } };
const answer = (outcome: ReviewOutcome): Answer => outcome.result.body as Answer;
const refusal = (outcome: ReviewOutcome): { code: number; message: string } => {
  assert.equal(outcome.result.status, 503, JSON.stringify(outcome.result.body));
  assert.equal(outcome.event?.type, 'unavailable');
  return outcome.result.body as { code: number; message: string };
};

async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  for (const deadline = Date.now() + ms; !condition();) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Runs `body` with a thread made by `thread(overrides)`, closed afterwards whatever happens. */
async function withThread(overrides: Partial<ReviewThreadOptions>, body: (t: ReturnType<typeof thread>) => Promise<void>): Promise<void> {
  const t = thread(overrides);
  try {
    await body(t);
  } finally {
    await t.close();
  }
}

/** Starts the worker with a review, retried (at most 20) when a short maxWaitMs refuses it while the worker starts. */
async function warm(t: ReturnType<typeof thread>): Promise<void> {
  for (let i = 0; i < 20; i += 1) if ((await t.review(script('warm', {}))).result.status === 200) return;
  throw new Error('the worker never answered a warm-up review');
}

const withoutTiming = (outcome: ReviewOutcome): unknown => ({ ...outcome, event: outcome.event?.type === 'reviewed' ? { ...outcome.event, seconds: 0 } : outcome.event });

test('the review worker answers exactly what the serving thread would, for validations and pods', async () => {
  const context: ReviewContext = { values: defaultValues(), clusterRanges: { include: '10.96.0.0/12', source: 'discovery:test' } };
  const here = createReviewers({ values: () => context.values, clusterRanges: () => context.clusterRanges });
  await withThread({ entry: reviewWorker }, async (t) => {
    const validations: unknown[] = [
      virtualService({ hosts: ['a.example.com'], http: [httpRoute({ match: [{ uri: { regex: '/a[0-9]+' } }] })] }),
      virtualService({ hosts: ['a.example.com'], http: [httpRoute({ match: [{ uri: { regex: '(?=lookahead)' } }] })] }),
      virtualService({ hosts: [], http: 'not a list' }),
      serviceEntry({ hosts: ['httpbin.org'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'DNS' }),
      serviceEntry({ hosts: ['*'], ports: [{ number: 0, name: '', protocol: 'SMTP' }], resolution: 'NONE' }),
    ];
    const bodies: [string, unknown][] = [
      ...validations.map((object, i): [string, unknown] => ['/validate', envelope({ uid: `v${i}`, kind: { group: 'networking.istio.io', version: 'v1',
        kind: (object as { kind: string }).kind }, operation: 'CREATE', namespace: 'default', object })]),
      ['/inject', podReview(samplePod())],
      ['/inject', podReview(samplePod({ annotations: { blob: 'x'.repeat(100_000) } }))],
      ['/inject', podReview(samplePod({ annotations: { 'sidecar.istio.io/unknown': 'x' } }))],
      ['/inject', { kind: 'NotAReview' }],
    ];
    for (const [i, [path, body]] of bodies.entries()) {
      const there = await t.review({ path, contentType: JSON_TYPE, body: bytes(body), context });
      assert.deepEqual(withoutTiming(there), withoutTiming(runReview(here, path, body)), `review ${i} (${path})`);
    }
    const notJson = await t.review({ path: '/inject', contentType: 'text/plain', body: bytes({}), context });
    assert.equal(notJson.result.status, 415, 'the content type is checked where the bytes are parsed');
  });
});

test('the context sent with a review is what its reviewer reads', async () => {
  await withThread({}, async (t) => {
    const outcome = await t.review(script('ctx', {}, { values: 'these' }));
    assert.equal(outcome.event?.type === 'reviewed' && outcome.event.summary['context'], '{"values":"these"}');
  });
});

test('a review over its deadline is refused with 503 and the worker is replaced for the next one', async () => {
  await withThread({ deadlineMs: 300 }, async (t) => {
    assert.match(refusal(await t.review(script('slow', { busyMs: 5_000 }))).message, /took over 300 ms and was stopped/);
    assert.equal(answer(await t.review(script('next', {}))).response.allowed, true, 'a new worker answered the next review');
  });
});

test("a reviewer's exception is the internal-error denial, logged from its event; the worker stays", async () => {
  await withThread({}, async (t) => {
    const outcome = await t.review(script('boom', { throw: 'scripted failure' }));
    assert.equal(answer(outcome).response.status?.code, 500);
    assert.doesNotMatch(answer(outcome).response.status?.message ?? '', /scripted failure/, 'no exception text in the answer');
    assert.match(outcome.event?.type === 'reviewed' ? outcome.event.error ?? '' : '', /scripted failure/);
    assert.equal(answer(await t.review(script('after', {}))).response.allowed, true);
  });
});

test('a failure of the worker itself (outside any reviewer) is a 503 for that review only', async () => {
  await withThread({}, async (t) => {
    refusal(await t.review({ ...script('x', {}), path: '/broken' }));
    assert.equal(answer(await t.review(script('after', {}))).response.allowed, true);
  });
});

test('a review that overflows the worker heap limit is refused with 503, and the serving thread is untouched', async () => {
  await withThread({ resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 }, deadlineMs: 30_000 }, async (t) => {
    assert.match(refusal(await t.review(script('heavy', { allocate: true }))).message, /worker failed|exited/);
    assert.equal(answer(await t.review(script('after', {}))).response.allowed, true);
  });
});

test('a worker that exits mid-review costs that review a 503, not the next', async () => {
  await withThread({}, async (t) => {
    assert.match(refusal(await t.review(script('exit', { exit: 3 }))).message, /exited \(code 3\)/);
    assert.equal(answer(await t.review(script('after', {}))).response.allowed, true);
  });
});

test('past maxQueued waiting reviews, one more is refused at once as overloaded', async () => {
  await withThread({ maxQueued: 2 }, async (t) => {
    await t.review(script('warm', {})); // the worker is up: the next review goes straight to it
    const held = t.review(script('held', { busyMs: 400 }));
    const waiting = [t.review(script('q1', {})), t.review(script('q2', {}))];
    assert.match(refusal(await t.review(script('q3', {}))).message, /overloaded \(2 reviews already waiting\)/);
    for (const r of await Promise.all([held, ...waiting])) assert.equal(answer(r).response.allowed, true);
  });
});

test('past maxQueuedBytes of waiting bodies, one more is refused at once (queued bodies are held in the serving thread)', async () => {
  await withThread({ maxQueuedBytes: 150_000 }, async (t) => {
    await t.review(script('warm', {}));
    const held = t.review(script('held', { busyMs: 400 }));
    const big = (uid: string) => script(uid, { pad: 'x'.repeat(100_000) });
    const waiting = t.review(big('b1'));
    assert.match(refusal(await t.review(big('b2'))).message, /overloaded \(\d+ bytes of reviews already waiting\)/);
    assert.equal(answer(await t.review(script('small', {}))).response.allowed, true, 'a small one still fits');
    for (const r of await Promise.all([held, waiting])) assert.equal(answer(r).response.allowed, true);
  });
});

test('a review that waits longer than maxWaitMs is refused without running', async () => {
  await withThread({ maxWaitMs: 200 }, async (t) => {
    await warm(t); // started, so `held` goes straight to it and only `late` waits
    const held = t.review(script('held', { busyMs: 800 }));
    assert.match(refusal(await t.review(script('late', {}))).message, /waited over 200 ms/);
    assert.equal(answer(await held).response.allowed, true);
  });
});

test('the worker is started by the first review, stopped when idle, and started again by the next', async () => {
  await withThread({ idleStopMs: 150 }, async (t) => {
    assert.equal(t.running, false, 'no worker before a review');
    assert.equal(answer(await t.review(script('first', {}))).response.allowed, true);
    assert.equal(t.running, true, 'kept right after a review');
    await until(() => !t.running, 'the idle stop');
    assert.equal(answer(await t.review(script('again', {}))).response.allowed, true);
  });
});

test('a worker module that cannot load: the review is refused at once with the reason, and so is the next until the retry delay', async () => {
  await withThread({ entry: new URL('../../helpers/workers/no-such-worker.ts', import.meta.url) }, async (t) => {
    assert.match(refusal(await t.review(script('nobody', {}))).message, /worker could not start \(.*no-such-worker/s);
    assert.equal(t.running, false);
    assert.match(refusal(await t.review(script('next', {}))).message, /could not start/);
    assert.equal(t.running, false, 'not retried before the delay');
  });
});

test('close refuses what is queued and stops the worker', async () => {
  const t = thread();
  const held = t.review(script('held', { busyMs: 300 }));
  const queued = t.review(script('queued', {}));
  await t.close();
  assert.match(refusal(await queued).message, /shutting down/);
  refusal(await held);
  assert.equal(t.running, false);
  assert.match(refusal(await t.review(script('after', {}))).message, /shutting down/);
});

test('the app answers /healthz while an offloaded review holds the worker, and the review is answered after', async () => {
  const t = thread();
  const metrics = createWebhookMetrics(false);
  const logger = silentLogger();
  const review = (path: string, contentType: string | undefined, body: Buffer) =>
    t.review({ path, contentType, body, context: null }).then(({ result, event }) => { recordReview(event, logger, metrics); return result; });
  const server = createServer(createApp({ review, reviewPaths: ['/script'], readiness: () => ({ ready: true, waitingFor: [] }), metrics, logger }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const send = (method: string, path: string, body?: Buffer) => new Promise<{ status: number; text: string; at: number }>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: body ? { 'content-type': JSON_TYPE } : {} }, (res) => {
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
    await t.review(script('warm', {}));
    const reviewed = send('POST', '/script', script('held', { busyMs: 1_500 }).body);
    await until(() => t.running, 'the review to reach the worker');
    const probe = await send('GET', '/healthz');
    assert.equal(probe.status, 200);
    const done = await reviewed;
    assert.ok(probe.at < done.at, 'the probe was answered while the review was still running in the worker');
    const { response } = JSON.parse(done.text) as Answer;
    assert.deepEqual([done.status, response.uid, response.allowed], [200, 'held', true]);
  } finally {
    server.close();
    await t.close();
  }
});
