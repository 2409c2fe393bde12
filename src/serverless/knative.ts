import type { ReviewEndpoint } from './review-endpoint.ts';

/** The part of faas-js-runtime's invocation context the adapter reads (lib/context.js in faas-js-runtime 4). */
export interface KnativeContext {
  method: string;
  contentType?: string | undefined;
  /** Present when the runtime runs with FUNC_INCLUDE_RAW (the text as received). */
  rawBody?: string | undefined;
}

/** What faas-js-runtime turns into the HTTP answer: statusCode, headers, and a body it serialises. */
export interface KnativeResult {
  statusCode: number;
  headers: Record<string, string>;
  body: unknown;
}

/**
 * Knative Functions' Node convention, `handle(context, body)`: the runtime serves only `/` (so the review routes
 * itself), has already parsed an application/json body (an object; any other type arrives as a Buffer, answered
 * 415 by the shared decoder), and enforces its own body limit first: set FUNC_BODY_LIMIT to 8388608 to match.
 */
export function knativeAdapter(endpoint: () => ReviewEndpoint): (context: KnativeContext, body: unknown) => KnativeResult {
  return (context, body) => {
    const raw = typeof context.rawBody === 'string' ? context.rawBody : body;
    const result = endpoint()({
      method: context.method,
      path: '/',
      contentType: context.contentType,
      body: raw as string | Uint8Array | Record<string, unknown> | undefined,
    });
    return { statusCode: result.status, headers: { 'content-type': 'application/json' }, body: result.body };
  };
}
