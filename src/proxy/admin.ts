import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { ProxySnapshot } from '../snapshot/types.ts';
import { explain } from './explain.ts';

function send(res: ServerResponse, status: number, body: string, type = 'text/plain'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function route(handlers: Record<string, (url: URL, res: ServerResponse) => void | Promise<void>>): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    const handler = req.method === 'GET' || req.method === 'HEAD' ? handlers[url.pathname] : undefined;
    if (!handler) return send(res, 404, 'not found\n');
    Promise.resolve(handler(url, res)).catch((error: unknown) => send(res, 500, `${(error as Error).message}\n`));
  };
}

function withTimeouts(server: Server): Server {
  server.headersTimeout = 5000;
  server.requestTimeout = 10000;
  return server;
}

/** :15021 — readiness: 200 once the config is loaded and the outbound listener is up. */
export function createStatusServer(ready: () => boolean): Server {
  return withTimeouts(createServer(route({
    '/healthz/ready': (_url, res) => (ready() ? send(res, 200, 'ready\n') : send(res, 503, 'not ready\n')),
  })));
}

/** :15090 — Prometheus text format. */
export function createMetricsServer(registry: Registry): Server {
  return withTimeouts(createServer(route({
    '/stats/prometheus': async (_url, res) => send(res, 200, await registry.metrics(), registry.contentType),
  })));
}

/** :15000 — admin: /explain?host=&port=[&method=&path=] (from the snapshot) and a summary of the config in force. */
export function createAdminServer(snapshot: () => ProxySnapshot, status: () => Record<string, unknown>): Server {
  return withTimeouts(createServer(route({
    '/explain': (url, res) => {
      const host = url.searchParams.get('host');
      const port = Number(url.searchParams.get('port') ?? '80');
      if (!host || !Number.isInteger(port) || port < 1 || port > 65535) return send(res, 400, 'usage: /explain?host=NAME&port=N\n');
      const request = { method: url.searchParams.get('method') ?? undefined, path: url.searchParams.get('path') ?? undefined };
      if (request.path !== undefined && !request.path.startsWith('/')) return send(res, 400, 'path must start with /\n');
      send(res, 200, `${JSON.stringify(explain(snapshot(), host, port, request), null, 2)}\n`, 'application/json');
    },
    '/config': (_url, res) => send(res, 200, `${JSON.stringify(status(), null, 2)}\n`, 'application/json'),
    '/ready': (_url, res) => send(res, 200, 'LIVE\n'),
  })));
}
