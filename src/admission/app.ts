import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { tooLarge } from './body.ts';
import { envelopeErrorResult, type HandlerResult } from './handler.ts';
import { BODY_LIMIT_BYTES } from './review.ts';
import type { WebhookMetrics } from '../observability/webhook-metrics.ts';
import type { Logger } from '../observability/logger.ts';

export interface AppDeps {
  /**
   * Answers one review from its content type and bytes as received: here, or later from the review worker
   * (review-thread.ts), so parsing is the reviewer's side of this call too.
   */
  review: (path: string, contentType: string | undefined, raw: Buffer) => HandlerResult | Promise<HandlerResult>;
  /** The paths served as AdmissionReview endpoints (POST). */
  reviewPaths: readonly string[];
  readiness: () => { ready: boolean; waitingFor: string[] };
  metrics: WebhookMetrics;
  logger: Logger;
}

function sendJson(res: ServerResponse, result: HandlerResult, close = false): void {
  const payload = JSON.stringify(result.body);
  res.writeHead(result.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(payload);
}

/** How long, and how many more bytes, a connection refused with a 413 is read and discarded before it is closed. */
const LINGER_MS = 2_000;
const LINGER_BYTES = 2 * BODY_LIMIT_BYTES;

/**
 * Answers 413 and closes the connection only after the answer is written and the client had time to read it.
 * Closing a socket with unread request bytes makes the kernel send a reset, which can discard the 413 before the
 * client reads it (9 of 20 clients saw a reset). So: answer with `Connection: close`, half-close (FIN), keep
 * reading and discarding what the client still sends (bounded in time and bytes), then close.
 */
function refuseTooLarge(req: IncomingMessage, res: ServerResponse): void {
  const socket = req.socket as Socket & { destroySoon?: () => void };
  const bytesAtRefusal = socket.bytesRead;
  // Node calls destroySoon() once a `Connection: close` answer is written, which would close with unread bytes.
  socket.destroySoon = () => {
    socket.end();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    const close = (): void => { clearTimeout(timer); socket.destroy(); };
    socket.once('end', close);
    socket.on('data', () => { if (socket.bytesRead - bytesAtRefusal > LINGER_BYTES) close(); });
  };
  req.resume(); // discard the rest of the body
  if (!res.headersSent) sendJson(res, tooLarge(), true);
}

/** Reads an AdmissionReview body, at most BODY_LIMIT_BYTES: a declared or streamed excess gets a 413 (see above). */
function readReview(req: IncomingMessage, res: ServerResponse, deps: AppDeps, path: string): void {
  if (Number(req.headers['content-length'] ?? 0) > BODY_LIMIT_BYTES) {
    refuseTooLarge(req, res);
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let refused = false;
  req.on('data', (chunk: Buffer) => {
    if (refused) return;
    size += chunk.length;
    if (size > BODY_LIMIT_BYTES) {
      refused = true;
      chunks.length = 0;
      refuseTooLarge(req, res);
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (res.headersSent || refused) return;
    const raw = chunks.length === 1 ? chunks[0] as Buffer : Buffer.concat(chunks);
    const answer = deps.review(path, req.headers['content-type'], raw);
    if (!(answer instanceof Promise)) {
      sendJson(res, answer);
      return;
    }
    answer.then(
      (result) => { if (!res.destroyed) sendJson(res, result); },
      (error: unknown) => { // the review thread turns every failure into an answer: this is a bug in it
        deps.logger.error({ path, err: error }, 'admission handler failed');
        if (!res.destroyed) sendJson(res, envelopeErrorResult(500, 'meshgate internal error'));
      },
    );
  });
  req.on('error', () => { /* the client went away: nothing to answer */ });
}

/**
 * The webhook's request listener: AdmissionReview POSTs (the hot path) and the three operational endpoints. Plain
 * node:http on purpose, not express (the design card's first choice): express cost 80-90 ms of the 100 ms cold-start
 * budget and 20 MB of the 55 MB idle-RSS budget (measured, bundled), to route three GETs.
 */
export function createApp(deps: AppDeps): RequestListener {
  const reviewPaths = new Set(deps.reviewPaths);
  const text = (res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void => {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  return (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0] as string;
    if (req.method === 'POST' && reviewPaths.has(path)) {
      readReview(req, res, deps, path);
      return;
    }
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (path === '/healthz') return text(res, 200, 'ok');
      if (path === '/readyz') {
        const { ready, waitingFor } = deps.readiness();
        return text(res, ready ? 200 : 503, ready ? 'ready' : `not ready: waiting for ${waitingFor.join(', ')}`);
      }
      if (path === '/metrics') {
        deps.metrics.registry.metrics().then(
          (body) => text(res, 200, body, deps.metrics.registry.contentType),
          (error: unknown) => {
            deps.logger.error({ err: String(error) }, 'metrics collection failed');
            text(res, 500, 'metrics collection failed');
          },
        );
        return;
      }
    }
    req.resume();
    sendJson(res, envelopeErrorResult(404, `no route for ${req.method ?? '?'} ${path}`));
  };
}
