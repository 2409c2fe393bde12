// A review worker for the review-thread tests: what it does is scripted by the review's object, so each failure a
// real review could meet (too slow, an exception, a heap overflow, the thread ending) can be caused on purpose.
import { runReviewOfBytes } from '../../../src/admission/handler.ts';
import { serveReviewsInThisWorker } from '../../../src/admission/review-thread.ts';
import { allow, type AdmissionRequest } from '../../../src/admission/review.ts';

interface Script { busyMs?: number; throw?: string; allocate?: boolean; exit?: number }

function scripted(request: AdmissionRequest) {
  const script = (request.object ?? {}) as Script;
  if (script.busyMs) {
    const until = Date.now() + script.busyMs;
    while (Date.now() < until) { /* holds this thread, as a costly review would */ }
  }
  if (script.throw) throw new Error(script.throw);
  if (script.allocate) {
    const kept: number[][] = [];
    for (;;) kept.push(new Array(1_000_000).fill(kept.length)); // until the worker's heap limit stops it
  }
  if (script.exit !== undefined) process.exit(script.exit);
  return { response: allow(request.uid), summary: { result: 'allowed', context: JSON.stringify(request['context'] ?? null) } };
}

serveReviewsInThisWorker(({ path, contentType, body, context }) => {
  if (path === '/broken') throw new Error('the worker itself failed');
  return runReviewOfBytes({ '/script': (request) => scripted({ ...request, context }) }, path, contentType, body);
});
