import { envelopeErrorResult, type HandlerResult } from './handler.ts';
import { BODY_LIMIT, BODY_LIMIT_BYTES } from './review.ts';

export type DecodedBody = { ok: true; body: unknown } | { ok: false; result: HandlerResult };

const JSON_TYPE = /^application\/(.+\+)?json\b/i;

/**
 * Turns what a host received (raw text or bytes, or an object a runtime already parsed) into the JSON body of an
 * AdmissionReview, or the 4xx that says why not. The HTTPS server and the function handler both use it, so a
 * malformed request gets the same answer from either.
 */
export function decodeJsonBody(contentType: string | undefined, raw: string | Uint8Array | Record<string, unknown> | undefined): DecodedBody {
  const type = contentType ?? '';
  if (!JSON_TYPE.test(type)) {
    return { ok: false, result: envelopeErrorResult(415, `content-type must be application/json, got ${JSON.stringify(type)}`) };
  }
  if (raw === undefined) return { ok: false, result: envelopeErrorResult(400, 'malformed JSON: empty body') };
  if (typeof raw !== 'string' && !(raw instanceof Uint8Array)) return { ok: true, body: raw };
  const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.byteLength;
  if (size > BODY_LIMIT_BYTES) return { ok: false, result: tooLarge() };
  const text = typeof raw === 'string' ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
  try {
    return { ok: true, body: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, result: envelopeErrorResult(400, `malformed JSON: ${(error as Error).message}`) };
  }
}

export function tooLarge(): HandlerResult {
  return envelopeErrorResult(413, `body exceeds the ${BODY_LIMIT} limit`);
}
