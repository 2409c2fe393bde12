import type { Logger } from '../observability/logger.ts';
import type { WebhookMetrics } from '../observability/webhook-metrics.ts';
import { reviewInjection, type InjectDeps } from './inject-review.ts';
import { reviewValidation, validatedKindOfRequest } from './validate-review.ts';
import { decodeJsonBody } from './body.ts';
import { EnvelopeError, deny, parseReview, statusReason, wrapResponse, type AdmissionRequest, type AdmissionResponse } from './review.ts';

/** What a reviewer answers: the response, and a one-line summary for the log (and the metrics). */
export interface Reviewed {
  response: AdmissionResponse;
  summary: Record<string, unknown>;
}

/** A webhook path's reviewer: pure, request in, response and a one-line summary out. */
export type Reviewer = (request: AdmissionRequest) => Reviewed;

export interface HandlerDeps extends InjectDeps {
  logger: Logger;
  metrics?: WebhookMetrics | undefined;
  /** More reviewers by path, over the built-in `/inject` and `/validate`. */
  reviewers?: Record<string, Reviewer>;
}

export interface HandlerResult {
  status: number;
  body: unknown;
}

function statusBody(code: number, message: string): unknown {
  return { apiVersion: 'v1', kind: 'Status', status: 'Failure', code, reason: statusReason(code, 'BadRequest'), message };
}

export function envelopeErrorResult(code: number, message: string): HandlerResult {
  return { status: code, body: statusBody(code, message) };
}

/**
 * What happened to one review, as data: the log line and the metrics are written from it by `recordReview`, in the
 * serving thread, also when the review ran in the review worker (review-thread.ts), which cannot reach either.
 */
export type ReviewEvent =
  | { type: 'malformed'; path: string; status: number; reason: string }
  | {
    type: 'reviewed';
    path: string;
    request: Pick<AdmissionRequest, 'uid' | 'kind' | 'namespace' | 'name' | 'operation' | 'dryRun'>;
    allowed: boolean;
    seconds: number;
    summary: Record<string, unknown>;
    /** The reviewer's exception, when it threw (the answer is then the internal-error denial). */
    error?: string;
  }
  /** The review worker could not answer (overloaded, over its deadline or memory, not starting). */
  | { type: 'unavailable'; path: string; reason: string };

export interface ReviewOutcome {
  result: HandlerResult;
  event?: ReviewEvent;
}

/** An exception as text for the log line: it crosses from the review worker as data, and reads the same from either thread. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ''}` : String(error);
}

/** The reviewers by path: built in, then any extra. */
export function createReviewers(deps: InjectDeps & { reviewers?: Record<string, Reviewer> | undefined }): Record<string, Reviewer> {
  return {
    '/inject': (request) => {
      const { response, outcome } = reviewInjection(request, deps);
      return { response, summary: { ...outcome } };
    },
    '/validate': reviewValidation,
    ...deps.reviewers,
  };
}

/** One review over a parsed body: the envelope checked, the reviewer run (its exception caught), the answer wrapped. */
export function runReview(reviewers: Record<string, Reviewer>, path: string, body: unknown): ReviewOutcome {
  const reviewer = reviewers[path];
  if (!reviewer) return { result: envelopeErrorResult(404, `no admission webhook at ${path}`) };
  const started = process.hrtime.bigint();
  let parsed;
  try {
    parsed = parseReview(body);
  } catch (error) {
    if (!(error instanceof EnvelopeError)) throw error;
    return { result: envelopeErrorResult(error.status, error.message), event: { type: 'malformed', path, status: error.status, reason: error.message } };
  }
  const { request, apiVersion } = parsed;
  let reviewed: Reviewed;
  let error: string | undefined;
  try {
    reviewed = reviewer(request);
  } catch (thrown) {
    // A bug must not become a bare 500: the API server gets a well-formed denial it can show, without the
    // exception's text (minified identifiers are no help to a user); the log has the details under the uid.
    error = describeError(thrown);
    reviewed = {
      response: deny(request.uid, 500, 'meshgate internal error: the webhook logged the details under this request uid'),
      summary: { result: 'error', reason: 'InternalError' },
    };
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const { uid, kind, namespace, name, operation, dryRun } = request;
  return {
    result: { status: 200, body: wrapResponse(apiVersion, reviewed.response) },
    event: { type: 'reviewed', path, request: { uid, kind, namespace, name, operation, dryRun }, allowed: reviewed.response.allowed,
      seconds, summary: reviewed.summary, ...(error === undefined ? {} : { error }) },
  };
}

/** One review over the bytes it came in: what the review worker runs, so the serving thread never parses them. */
export function runReviewOfBytes(reviewers: Record<string, Reviewer>, path: string, contentType: string | undefined, bytes: Uint8Array): ReviewOutcome {
  const decoded = decodeJsonBody(contentType, bytes);
  if (!decoded.ok) {
    const { status, body } = decoded.result;
    return { result: decoded.result, event: { type: 'malformed', path, status, reason: String((body as { message?: unknown }).message) } };
  }
  return runReview(reviewers, path, decoded.body);
}

/** Writes a review's log line and metrics. */
export function recordReview(event: ReviewEvent | undefined, logger: Logger, metrics: WebhookMetrics | undefined): void {
  if (!event) return;
  if (event.type === 'malformed') {
    logger.warn({ path: event.path, status: event.status, reason: event.reason }, 'malformed AdmissionReview');
    return;
  }
  if (event.type === 'unavailable') {
    logger.warn({ path: event.path, reason: event.reason }, 'review not answered: the review worker is unavailable');
    if (event.path === '/inject') metrics?.injectionFailures.inc({ reason: 'Unavailable' });
    else if (event.path === '/validate') metrics?.validationRequests.inc({ kind: 'unknown', result: 'unavailable' });
    return;
  }
  const { path, request, summary } = event;
  if (event.error !== undefined) logger.error({ path, uid: request.uid, err: event.error }, 'admission handler failed');
  if (metrics) {
    const result = String(summary['result']);
    if (path === '/inject') {
      metrics.injectionRequests.inc();
      if (result === 'injected') metrics.injectionSuccess.inc();
      else if (result === 'skipped') metrics.injectionSkipped.inc({ reason: String(summary['reason']) });
      else metrics.injectionFailures.inc({ reason: String(summary['reason'] ?? 'InternalError') });
    } else if (path === '/validate') {
      metrics.validationRequests.inc({ kind: validatedKindOfRequest(request) ?? 'other', result });
    }
    metrics.admissionDuration.observe({ webhook: path.slice(1) }, event.seconds);
  }
  logger.info({
    path, uid: request.uid, kind: request.kind?.kind, namespace: request.namespace, name: request.name || undefined,
    operation: request.operation, dryRun: request.dryRun === true, allowed: event.allowed, ms: Math.round(event.seconds * 1e6) / 1e3, ...summary,
  }, 'admission review');
}

/** The webhook as a function of (path, parsed body), carrying the paths it serves. */
export type AdmissionHandler = ((path: string, body: unknown) => HandlerResult) & { paths: readonly string[] };

/**
 * The whole webhook as a plain function: AdmissionReview in, AdmissionReview out. The serverless runtimes host
 * this function (their runtime may hand over a parsed body); `meshgate webhook` runs the same steps from the bytes
 * (runReviewOfBytes, in its serving thread or its review worker), so they cannot drift apart.
 */
export function createAdmissionHandler(deps: HandlerDeps): AdmissionHandler {
  const reviewers = createReviewers(deps);
  const handle = (path: string, body: unknown): HandlerResult => {
    const { result, event } = runReview(reviewers, path, body);
    recordReview(event, deps.logger, deps.metrics);
    return result;
  };
  return Object.assign(handle, { paths: Object.keys(reviewers) });
}
