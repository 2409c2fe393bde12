import type { Logger } from '../observability/logger.ts';
import type { WebhookMetrics } from '../observability/webhook-metrics.ts';
import { reviewInjection, type InjectDeps } from './inject-review.ts';
import { createValidationReviewer } from './validate-review.ts';
import { EnvelopeError, deny, parseReview, wrapResponse, type AdmissionRequest, type AdmissionResponse } from './review.ts';

/** A webhook path's reviewer: pure, request in, response and a one-line summary out. */
export type Reviewer = (request: AdmissionRequest) => { response: AdmissionResponse; summary: Record<string, unknown> };

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

function injectReviewer(deps: HandlerDeps): Reviewer {
  return (request) => {
    const { response, outcome } = reviewInjection(request, deps);
    const metrics = deps.metrics;
    if (metrics) {
      metrics.injectionRequests.inc();
      if (outcome.result === 'injected') metrics.injectionSuccess.inc();
      else if (outcome.result === 'skipped') metrics.injectionSkipped.inc({ reason: outcome.reason });
      else metrics.injectionFailures.inc({ reason: outcome.reason });
    }
    return { response, summary: { ...outcome } };
  };
}

/** The webhook as a function of (path, parsed body), carrying the paths it serves. */
export type AdmissionHandler = ((path: string, body: unknown) => HandlerResult) & { paths: readonly string[] };

/**
 * The whole webhook as a plain function: AdmissionReview in, AdmissionReview out. The HTTPS server and any
 * serverless runtime host this same function, so they cannot drift apart.
 */
export function createAdmissionHandler(deps: HandlerDeps): AdmissionHandler {
  const reviewers: Record<string, Reviewer> = {
    '/inject': injectReviewer(deps),
    '/validate': createValidationReviewer(deps.metrics),
    ...deps.reviewers,
  };
  const handle = (path: string, body: unknown): HandlerResult => {
    const reviewer = reviewers[path];
    if (!reviewer) return envelopeErrorResult(404, `no admission webhook at ${path}`);
    const started = process.hrtime.bigint();
    let parsed;
    try {
      parsed = parseReview(body);
    } catch (error) {
      if (!(error instanceof EnvelopeError)) throw error;
      deps.logger.warn({ path, status: error.status, reason: error.message }, 'malformed AdmissionReview');
      return envelopeErrorResult(error.status, error.message);
    }
    const { request, apiVersion } = parsed;
    let response: AdmissionResponse;
    let summary: Record<string, unknown>;
    try {
      ({ response, summary } = reviewer(request));
    } catch (error) {
      // A bug must not become a bare 500: the API server gets a well-formed denial it can show, without the
      // exception's text (minified identifiers are no help to a user); the log has the details under the uid.
      deps.logger.error({ path, uid: request.uid, err: error }, 'admission handler failed');
      if (path === '/inject') deps.metrics?.injectionFailures.inc({ reason: 'InternalError' });
      else deps.metrics?.validationRequests.inc({ kind: request.kind?.kind ?? 'unknown', result: 'error' });
      response = deny(request.uid, 500, 'meshgate internal error: the webhook logged the details under this request uid');
      summary = { result: 'error' };
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    deps.metrics?.admissionDuration.observe({ webhook: path.slice(1) }, seconds);
    deps.logger.info({
      path, uid: request.uid, kind: request.kind?.kind, namespace: request.namespace, name: request.name || undefined,
      operation: request.operation, dryRun: request.dryRun === true, allowed: response.allowed, ms: Math.round(seconds * 1e6) / 1e3, ...summary,
    }, 'admission review');
    return { status: 200, body: wrapResponse(apiVersion, response) };
  };
  return Object.assign(handle, { paths: Object.keys(reviewers) });
}
