import { isRecord } from '../k8s/types.ts';

/**
 * The body limit, set on purpose: the API server caps a request at 3 MiB and an UPDATE review carries the object
 * twice (object and oldObject) plus the envelope. Larger bodies get a 413 with a reason.
 */
export const BODY_LIMIT = '8mb';
export const BODY_LIMIT_BYTES = 8 * 1024 * 1024;

/** The AdmissionReview versions the API server may send; the answer uses the version asked. */
export const REVIEW_VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const;
export type ReviewVersion = (typeof REVIEW_VERSIONS)[number];

export interface AdmissionRequest {
  uid: string;
  kind?: { group?: string; version?: string; kind?: string };
  resource?: { group?: string; version?: string; resource?: string };
  subResource?: string;
  namespace?: string;
  name?: string;
  operation?: string;
  dryRun?: boolean;
  object?: unknown;
  oldObject?: unknown;
  [key: string]: unknown;
}

export interface ParsedReview {
  apiVersion: ReviewVersion;
  request: AdmissionRequest;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason?: string; message: string };
  patchType?: 'JSONPatch';
  patch?: string;
  warnings?: string[];
}

export interface AdmissionReviewOut {
  apiVersion: ReviewVersion;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

/** A malformed envelope: answered with a 4xx carrying this reason, never with a crash. */
export class EnvelopeError extends Error {
  constructor(readonly status: 400 | 413 | 415, message: string) {
    super(message);
  }
}

export function parseReview(body: unknown): ParsedReview {
  if (!isRecord(body)) throw new EnvelopeError(400, 'body must be a JSON AdmissionReview object');
  if (body['kind'] !== 'AdmissionReview') throw new EnvelopeError(400, `kind must be AdmissionReview, got ${JSON.stringify(body['kind'] ?? null)}`);
  const apiVersion = body['apiVersion'];
  if (!REVIEW_VERSIONS.includes(apiVersion as ReviewVersion)) {
    throw new EnvelopeError(400, `apiVersion must be one of ${REVIEW_VERSIONS.join(', ')}, got ${JSON.stringify(apiVersion ?? null)}`);
  }
  const request = body['request'];
  if (!isRecord(request)) throw new EnvelopeError(400, 'request is missing');
  if (typeof request['uid'] !== 'string' || request['uid'] === '') throw new EnvelopeError(400, 'request.uid is missing');
  return { apiVersion: apiVersion as ReviewVersion, request: request as AdmissionRequest };
}

export function allow(uid: string, extra: Partial<AdmissionResponse> = {}): AdmissionResponse {
  return { uid, allowed: true, ...extra };
}

export function allowWithPatch(uid: string, patch: unknown[], warnings?: string[]): AdmissionResponse {
  const response = allow(uid, warnings?.length ? { warnings } : {});
  if (patch.length === 0) return response;
  return { ...response, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') };
}

/** The Status reason Kubernetes pairs with each code meshgate answers or denies with. */
const STATUS_REASONS: Record<number, string> = {
  400: 'BadRequest', 404: 'NotFound', 413: 'RequestEntityTooLarge', 415: 'UnsupportedMediaType', 422: 'Invalid',
  500: 'InternalError', 503: 'ServiceUnavailable',
};

export function statusReason(code: number, otherwise: string): string {
  return STATUS_REASONS[code] ?? otherwise;
}

export function deny(uid: string, code: number, message: string, warnings?: string[]): AdmissionResponse {
  return { uid, allowed: false, status: { code, reason: statusReason(code, 'Invalid'), message }, ...(warnings?.length ? { warnings } : {}) };
}

export function wrapResponse(apiVersion: ReviewVersion, response: AdmissionResponse): AdmissionReviewOut {
  return { apiVersion, kind: 'AdmissionReview', response };
}
