// The validation worker's entry (see review-thread.ts): /validate reviews run here, off the serving thread.
import { serveReviewsInThisWorker } from './review-thread.ts';
import { reviewValidation } from './validate-review.ts';

serveReviewsInThisWorker(reviewValidation);
