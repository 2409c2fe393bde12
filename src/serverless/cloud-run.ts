import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ReviewEndpoint } from './review-endpoint.ts';

/** The express request the Functions Framework hands an HTTP function (its body parsers set rawBody). */
export interface FrameworkRequest extends IncomingMessage {
  path?: string;
  body?: unknown;
  rawBody?: Buffer;
}

/**
 * Cloud Run functions' (Google Cloud Functions') HTTP convention, `admission(req, res)` under
 * @google-cloud/functions-framework: every path reaches the function, so `/inject` and `/validate` route as in
 * `meshgate webhook`. The framework's parsers keep the bytes in `rawBody` (its own limit is 32 MB); the shared
 * decoder applies the 8 MB limit and the content-type rule to them.
 */
export function cloudRunAdapter(endpoint: () => ReviewEndpoint): (req: FrameworkRequest, res: ServerResponse) => void {
  return (req, res) => {
    const path = req.path ?? (req.url ?? '/').split('?', 1)[0] ?? '/';
    const raw = req.rawBody ?? (typeof req.body === 'string' || req.body instanceof Uint8Array ? req.body : undefined);
    const result = endpoint()({ method: req.method ?? 'GET', path, contentType: req.headers['content-type'], body: raw });
    const payload = JSON.stringify(result.body);
    res.writeHead(result.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload) });
    res.end(payload);
  };
}
