import { formatIssue, type FieldIssue } from '../validate/field-errors.ts';
import { validatedKindOf, validateMeshObject, VALIDATED_KINDS, type ValidatedKind } from '../validate/validate.ts';
import { NETWORKING_GROUP } from '../mesh/resources.ts';
import { withRegexBudget } from '../validate/regex.ts';
import type { Reviewed } from './handler.ts';
import { allow, deny, type AdmissionRequest } from './review.ts';

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

/** The validated kind a review is for, or undefined for every other kind (which /validate lets pass). */
export function validatedKindOfRequest(request: AdmissionRequest): ValidatedKind | undefined {
  const kind = request.kind;
  if (!kind || kind.group !== NETWORKING_GROUP) return undefined;
  return validatedKindOf(`${kind.group}/${kind.version ?? ''}`, kind.kind);
}

/**
 * The /validate reviewer, pure: the server runs it in its review worker (review-worker.ts), the serverless
 * runtimes in their one thread. The metrics are counted by the caller from the summary's `result`.
 */
export function reviewValidation(request: AdmissionRequest): Reviewed {
  const kind = validatedKindOfRequest(request);
  if (!kind) return { response: allow(request.uid), summary: { result: 'skipped', reason: 'NotValidatedKind', kinds: VALIDATED_KINDS.join(',') } };
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') {
    return { response: allow(request.uid), summary: { result: 'skipped', reason: 'NotCreateOrUpdate' } };
  }
  // One object's regexes share a budget: a review's regex work is bounded whatever the object holds.
  const result = withRegexBudget(() => validateMeshObject(request.object, request.namespace, kind));
  if (!result.applies) return { response: allow(request.uid), summary: { result: 'skipped' } };
  const warnings = warningLines(result.warnings);
  if (result.errors.length > 0) {
    const message = denialMessage(kind, result.namespace, result.name || request.name || '', result.errors);
    return { response: deny(request.uid, INVALID_CODE, message, warnings), summary: { result: 'denied', errors: result.errors.length } };
  }
  return { response: allow(request.uid, warnings.length ? { warnings } : {}), summary: { result: 'allowed', warnings: warnings.length } };
}
