import { formatIssue, type FieldIssue } from '../validate/field-errors.ts';
import { validatedKindOf, validateMeshObject, VALIDATED_KINDS, type ValidatedKind } from '../validate/validate.ts';
import { NETWORKING_GROUP } from '../mesh/resources.ts';
import { prepareRegexes, withRegexBudget } from '../validate/regex.ts';
import { regexPatternsIn } from '../validate/regex-fields.ts';
import type { WebhookMetrics } from '../observability/webhook-metrics.ts';
import type { Reviewer } from './handler.ts';
import { allow, deny } from './review.ts';

// The /validate reviewer: ServiceEntry and VirtualService CREATE and UPDATE are validated; DELETE and every other
// kind pass untouched.

/** Bounds on what one answer carries: the API server stores and shows it, and a 10,000-route object can fail 10,000 ways. */
export const MAX_LISTED_ERRORS = 100;
export const MAX_WARNINGS = 50;
const MAX_WARNING_CHARS = 512;

/** 422 (Invalid) is what Kubernetes itself answers for a well-formed object that breaks a rule. */
export const INVALID_CODE = 422;

export function denialMessage(kind: string, namespace: string, name: string, errors: FieldIssue[]): string {
  const shown = errors.slice(0, MAX_LISTED_ERRORS).map(formatIssue);
  const more = errors.length > shown.length ? [`… and ${errors.length - shown.length} more`] : [];
  const what = name ? `${kind} ${namespace}/${name}` : `${kind} in ${namespace}`;
  return `meshgate validation: ${what} is invalid (${errors.length} error${errors.length === 1 ? '' : 's'}):\n${[...shown, ...more].join('\n')}`;
}

export function warningLines(warnings: FieldIssue[]): string[] {
  return warnings.slice(0, MAX_WARNINGS).map((w) => {
    const line = formatIssue(w);
    return line.length > MAX_WARNING_CHARS ? `${line.slice(0, MAX_WARNING_CHARS)}…` : line;
  });
}

function requestKind(kind: { group?: string; version?: string; kind?: string } | undefined): ValidatedKind | undefined {
  if (!kind || kind.group !== NETWORKING_GROUP) return undefined;
  return validatedKindOf(`${kind.group}/${kind.version ?? ''}`, kind.kind);
}

export function createValidationReviewer(metrics?: WebhookMetrics): Reviewer {
  return (request) => {
    const count = (kind: string, result: string): void => metrics?.validationRequests.inc({ kind, result });
    const kind = requestKind(request.kind);
    if (!kind) {
      count('other', 'skipped');
      return { response: allow(request.uid), summary: { result: 'skipped', reason: 'NotValidatedKind', kinds: VALIDATED_KINDS.join(',') } };
    }
    if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') {
      count(kind, 'skipped');
      return { response: allow(request.uid), summary: { result: 'skipped', reason: 'NotCreateOrUpdate' } };
    }
    // One object's regexes share a budget: a review's compile work is bounded whatever the object holds.
    const result = withRegexBudget(() => validateMeshObject(request.object, request.namespace, kind));
    if (!result.applies) return { response: allow(request.uid), summary: { result: 'skipped' } };
    const warnings = warningLines(result.warnings);
    if (result.errors.length > 0) {
      count(kind, 'denied');
      const message = denialMessage(kind, result.namespace, result.name || request.name || '', result.errors);
      return { response: deny(request.uid, INVALID_CODE, message, warnings), summary: { result: 'denied', errors: result.errors.length } };
    }
    count(kind, 'allowed');
    return { response: allow(request.uid, warnings.length ? { warnings } : {}), summary: { result: 'allowed', warnings: warnings.length } };
  };
}

/**
 * Before a /validate review: parses the object's regexes in slices that yield to the event loop (prepareRegexes),
 * so the synchronous review that follows finds them cached and a health probe never waits behind a whole object's
 * parsing. undefined (nothing to wait for) for every other path or shape.
 */
export function prepareReview(path: string, body: unknown): Promise<void> | undefined {
  if (path !== '/validate' || typeof body !== 'object' || body === null) return undefined;
  const request = (body as { request?: { object?: unknown } }).request;
  if (typeof request?.object !== 'object' || request.object === null) return undefined;
  return prepareRegexes(regexPatternsIn(request.object));
}
