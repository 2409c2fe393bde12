// The review worker's entry (see review-thread.ts): the server's /validate reviews and its large /inject reviews
// run here, off the serving thread, with the injector values and ranges the serving thread had at the time.
import type { ClusterRanges } from '../inject/capture.ts';
import type { InjectorValues } from '../inject/values.ts';
import { createReviewers, runReviewOfBytes } from './handler.ts';
import { serveReviewsInThisWorker } from './review-thread.ts';

/** What the worker's reviewers read besides the review: sent with each one. */
export interface ReviewContext {
  values: InjectorValues;
  clusterRanges: ClusterRanges | undefined;
}

serveReviewsInThisWorker(({ path, contentType, body, context }) => {
  const { values, clusterRanges } = context as ReviewContext;
  return runReviewOfBytes(createReviewers({ values: () => values, clusterRanges: () => clusterRanges }), path, contentType, body);
});
