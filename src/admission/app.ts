import express, { type ErrorRequestHandler, type Express } from 'express';
import { envelopeErrorResult, type HandlerResult } from './handler.ts';
import { BODY_LIMIT, BODY_LIMIT_BYTES } from './review.ts';
import type { WebhookMetrics } from '../observability/webhook-metrics.ts';
import type { Logger } from '../observability/logger.ts';


export interface AppDeps {
  handle: (path: string, body: unknown) => HandlerResult;
  readiness: () => { ready: boolean; waitingFor: string[] };
  metrics: WebhookMetrics;
  logger: Logger;
}

function send(res: express.Response, result: HandlerResult): void {
  res.status(result.status).json(result.body);
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);

  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok');
  });
  app.get('/readyz', (_req, res) => {
    const { ready, waitingFor } = deps.readiness();
    res.status(ready ? 200 : 503).type('text/plain').send(ready ? 'ready' : `not ready: waiting for ${waitingFor.join(', ')}`);
  });
  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  // Any JSON-ish content type is read; express.json would otherwise leave the body undefined without a word.
  const json = express.json({ limit: BODY_LIMIT_BYTES, type: () => true, strict: true });
  app.post(['/inject', '/validate'], (req, res, next) => {
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/(.+\+)?json\b/i.test(type)) {
      send(res, envelopeErrorResult(415, `content-type must be application/json, got ${JSON.stringify(type)}`));
      return;
    }
    next();
  }, json, (req, res) => {
    send(res, deps.handle(req.path, req.body));
  });

  app.use((req, res) => {
    send(res, envelopeErrorResult(404, `no route for ${req.method} ${req.path}`));
  });

  // body-parser errors (bad JSON, too large) arrive here with a status; anything else is ours and still answered.
  const onError: ErrorRequestHandler = (error: { status?: number; type?: string; message?: string }, req, res, _next) => {
    const status = error.status === 413 ? 413 : error.status === 400 || error.type === 'entity.parse.failed' ? 400 : 500;
    const message = status === 413 ? `body exceeds the ${BODY_LIMIT} limit`
      : status === 400 ? `malformed JSON: ${error.message ?? 'parse error'}` : 'internal error';
    (status === 500 ? deps.logger.error.bind(deps.logger) : deps.logger.warn.bind(deps.logger))({ path: req.path, status, err: error.message }, 'request rejected');
    if (res.headersSent) return;
    res.status(status).json(envelopeErrorResult(status, message).body);
  };
  app.use(onError);
  return app;
}
