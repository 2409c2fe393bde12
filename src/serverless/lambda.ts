import { envelopeErrorResult } from '../admission/handler.ts';
import { isRecord } from '../k8s/types.ts';
import { decodeBase64Body, type ReviewEndpoint } from './review-endpoint.ts';

/** A Lambda Function URL / API Gateway HTTP API event, payload format 2.0 (the fields the adapter reads). */
export interface HttpApiEventV2 {
  version: '2.0';
  rawPath: string;
  headers?: Record<string, string | undefined>;
  requestContext: { http: { method: string; path?: string } };
  body?: string;
  isBase64Encoded: boolean;
}

export interface HttpApiResultV2 {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: false;
}

function header(headers: Record<string, string | undefined> | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  // Function URLs lower-case header names; API Gateway keeps the client's casing.
  return headers[name] ?? Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
}

function isHttpApiEventV2(event: unknown): event is HttpApiEventV2 {
  if (!isRecord(event) || event['version'] !== '2.0' || typeof event['rawPath'] !== 'string') return false;
  const context = event['requestContext'];
  return isRecord(context) && isRecord(context['http']) && typeof context['http']['method'] === 'string';
}

/**
 * AWS Lambda's convention for HTTP, `handler(event)` with a payload-2.0 event (Function URL or HTTP API): the path
 * in `rawPath`, the body as text or base64 (`isBase64Encoded`). Any other event (a v1 REST event, a test event
 * from the console) is answered 400 with what was expected, not guessed at.
 */
export function lambdaAdapter(endpoint: () => ReviewEndpoint): (event: unknown) => Promise<HttpApiResultV2> {
  return async (event) => {
    const respond = (status: number, body: unknown): HttpApiResultV2 => ({
      statusCode: status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), isBase64Encoded: false,
    });
    if (!isHttpApiEventV2(event)) {
      const result = envelopeErrorResult(400, 'expected a Function URL or HTTP API payload 2.0 event (version "2.0", rawPath, requestContext.http.method)');
      return respond(result.status, result.body);
    }
    let body: string | Uint8Array | undefined = event.body;
    if (event.isBase64Encoded && typeof event.body === 'string') {
      const decoded = decodeBase64Body(event.body);
      if (!(decoded instanceof Uint8Array)) return respond(decoded.status, decoded.body);
      body = decoded;
    }
    const result = endpoint()({
      method: event.requestContext.http.method,
      path: event.rawPath,
      contentType: header(event.headers, 'content-type'),
      body,
    });
    return respond(result.status, result.body);
  };
}
