// A review worker for the review-thread tests: what it does is scripted by the review's object, so each failure a
// real reviewer could meet (too slow, an exception, a heap overflow, the thread ending) can be caused on purpose.
import { serveReviewsInThisWorker } from '../../../src/admission/review-thread.ts';
import { allow, type AdmissionRequest } from '../../../src/admission/review.ts';

interface Script { busyMs?: number; throw?: string; allocate?: boolean; exit?: number }

serveReviewsInThisWorker((request: AdmissionRequest) => {
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
  return { response: allow(request.uid), summary: { result: 'allowed', thread: 'worker' } };
});
