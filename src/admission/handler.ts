import type { Logger } from '../observability/logger.ts';
import type { WebhookMetrics } from '../observability/webhook-metrics.ts';
import { reviewInjection, type InjectDeps } from './inject-review.ts';
import { reviewValidation, validatedKindOfRequest } from './validate-review.ts';
import { EnvelopeError, deny, parseReview, wrapResponse, type AdmissionRequest, type AdmissionResponse, type ReviewVersion } from './review.ts';

/** What a reviewer answers: the response, and a one-line summary for the log (and the metrics). */
export interface Reviewed {
  response: AdmissionResponse;
  summary: Record<string, unknown>;
}

/** A webhook path's reviewer: pure, request in, response and a one-line summary out. */
export type Reviewer = (request: AdmissionRequest) => Reviewed;

/**
 * A reviewer that runs outside this thread and answers later (the server's validation worker, see
 * review-thread.ts), given the parsed request (for its own denials) and the body it came in. Its contract is the
 * in-thread reviewer's; a rejection is handled as a reviewer's exception.
 */
export type OffThreadReviewer = (request: AdmissionRequest, body: Uint8Array) => Promise<Reviewed>;

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
  const reason = code === 413 ? 'RequestEntityTooLarge' : code === 415 ? 'UnsupportedMediaType' : code === 404 ? 'NotFound' : 'BadRequest';
  return { apiVersion: 'v1', kind: 'Status', status: 'Failure', code, reason, message };
}

export function envelopeErrorResult(code: number, message: string): HandlerResult {
  return { status: code, body: statusBody(code, message) };
}

/** The webhook as a function of (path, parsed body), carrying the paths it serves. */
export type AdmissionHandler = ((path: string, body: unknown) => HandlerResult) & { paths: readonly string[] };

/** The served webhook: as AdmissionHandler, given the raw body too; the paths reviewed off-thread answer later. */
export type ServedAdmissionHandler = ((path: string, body: unknown, raw: Uint8Array) => HandlerResult | Promise<HandlerResult>) & { paths: readonly string[] };

/** A review between its envelope check and its answer. */
interface OpenReview {
  path: string;
  request: AdmissionRequest;
  apiVersion: ReviewVersion;
  started: bigint;
}

/**
 * The steps every review takes, wherever its reviewer runs: the envelope is checked, the reviewer's answer (or its
 * exception) becomes the AdmissionReview, and the metrics and the log line are written here, in the serving thread.
 */
function reviewSteps(deps: HandlerDeps, paths: readonly string[]) {
  const served = new Set(paths);
  const { logger, metrics } = deps;

  const count = (path: string, request: AdmissionRequest, summary: Record<string, unknown>): void => {
    if (!metrics) return;
    const result = String(summary['result']);
    if (path === '/inject') {
      metrics.injectionRequests.inc();
      if (result === 'injected') metrics.injectionSuccess.inc();
      else if (result === 'skipped') metrics.injectionSkipped.inc({ reason: String(summary['reason']) });
      else metrics.injectionFailures.inc({ reason: String(summary['reason'] ?? 'InternalError') });
    } else if (path === '/validate') {
      metrics.validationRequests.inc({ kind: validatedKindOfRequest(request) ?? 'other', result });
    }
  };

  const open = (path: string, body: unknown): OpenReview | HandlerResult => {
    if (!served.has(path)) return envelopeErrorResult(404, `no admission webhook at ${path}`);
    const started = process.hrtime.bigint();
    try {
      const { request, apiVersion } = parseReview(body);
      return { path, request, apiVersion, started };
    } catch (error) {
      if (!(error instanceof EnvelopeError)) throw error;
      logger.warn({ path, status: error.status, reason: error.message }, 'malformed AdmissionReview');
      return envelopeErrorResult(error.status, error.message);
    }
  };

  const close = (review: OpenReview, outcome: { reviewed: Reviewed } | { error: unknown }): HandlerResult => {
    const { path, request } = review;
    let reviewed: Reviewed;
    if ('reviewed' in outcome) {
      reviewed = outcome.reviewed;
    } else {
      // A bug must not become a bare 500: the API server gets a well-formed denial it can show, without the
      // exception's text (minified identifiers are no help to a user); the log has the details under the uid.
      logger.error({ path, uid: request.uid, err: outcome.error }, 'admission handler failed');
      reviewed = {
        response: deny(request.uid, 500, 'meshgate internal error: the webhook logged the details under this request uid'),
        summary: { result: 'error', reason: 'InternalError' },
      };
    }
    count(path, request, reviewed.summary);
    const seconds = Number(process.hrtime.bigint() - review.started) / 1e9;
    metrics?.admissionDuration.observe({ webhook: path.slice(1) }, seconds);
    const { response, summary } = reviewed;
    logger.info({
      path, uid: request.uid, kind: request.kind?.kind, namespace: request.namespace, name: request.name || undefined,
      operation: request.operation, dryRun: request.dryRun === true, allowed: response.allowed, ms: Math.round(seconds * 1e6) / 1e3, ...summary,
    }, 'admission review');
    return { status: 200, body: wrapResponse(review.apiVersion, response) };
  };

  const runHere = (review: OpenReview, reviewer: Reviewer): HandlerResult => {
    try {
      return close(review, { reviewed: reviewer(review.request) });
    } catch (error) {
      return close(review, { error });
    }
  };

  return { open, close, runHere };
}

function builtInReviewers(deps: HandlerDeps): Record<string, Reviewer> {
  return {
    '/inject': (request) => {
      const { response, outcome } = reviewInjection(request, deps);
      return { response, summary: { ...outcome } };
    },
    '/validate': reviewValidation,
    ...deps.reviewers,
  };
}

const isOpen = (value: OpenReview | HandlerResult): value is OpenReview => 'request' in value;

/**
 * The whole webhook as a plain function: AdmissionReview in, AdmissionReview out. Every serverless runtime hosts
 * this function, and `meshgate webhook` the same steps (createServedAdmissionHandler), so they cannot drift apart.
 */
export function createAdmissionHandler(deps: HandlerDeps): AdmissionHandler {
  const reviewers = builtInReviewers(deps);
  const paths = Object.keys(reviewers);
  const steps = reviewSteps(deps, paths);
  const handle = (path: string, body: unknown): HandlerResult => {
    const review = steps.open(path, body);
    return isOpen(review) ? steps.runHere(review, reviewers[path] as Reviewer) : review;
  };
  return Object.assign(handle, { paths });
}

/**
 * The handler `meshgate webhook` serves: createAdmissionHandler's, except that the paths in `offThread` are
 * reviewed elsewhere (the validation worker), so a costly review never holds the thread that answers probes.
 */
export function createServedAdmissionHandler(deps: HandlerDeps, offThread: Record<string, OffThreadReviewer>): ServedAdmissionHandler {
  const reviewers = builtInReviewers(deps);
  const paths = Object.keys(reviewers);
  const steps = reviewSteps(deps, paths);
  const handle = (path: string, body: unknown, raw: Uint8Array): HandlerResult | Promise<HandlerResult> => {
    const review = steps.open(path, body);
    if (!isOpen(review)) return review;
    const remote = offThread[path];
    if (!remote) return steps.runHere(review, reviewers[path] as Reviewer);
    return remote(review.request, raw).then((reviewed) => steps.close(review, { reviewed }), (error: unknown) => steps.close(review, { error }));
  };
  return Object.assign(handle, { paths });
}
