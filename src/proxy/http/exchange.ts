import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { ConnectionInfo } from '../connection.ts';
import type { AccessRecord } from '../telemetry/access-log.ts';
import type { Reporter } from '../telemetry/reporter.ts';

/** The facts of one request as it goes, reported once when the response closes. */
export interface Exchange {
  startMs: number;
  t0: number;
  method: string;
  path: string;
  authority: string;
  host: string;
  requestId: string;
  cluster: string;
  service: string | undefined;
  rule: string;
  route: string | undefined;
  code: number;
  flags: string;
  details: string | undefined;
  upstreamHost: string | undefined;
  upstreamLocal: string | undefined;
  upstreamStart: number | undefined;
  upstreamTime: number | undefined;
  bytesReceived: number;
  bytesSent: number;
}

export function newExchange(req: IncomingMessage, requestId: string): Exchange {
  return {
    startMs: Date.now(), t0: performance.now(), method: req.method ?? '-', path: req.url ?? '-', authority: req.headers.host ?? '',
    host: '', requestId, cluster: '-', service: undefined, rule: '-', route: undefined, code: 0, flags: '', details: undefined,
    upstreamHost: undefined, upstreamLocal: undefined, upstreamStart: undefined, upstreamTime: undefined,
    bytesReceived: Number(req.headers['content-length'] ?? 0) || 0, bytesSent: 0,
  };
}

/** A response the proxy makes itself (deny, timeout, fault, redirect): plain text, length known. */
export function localReply(res: ServerResponse, ex: Exchange, status: number, body: string, flags: string, details: string, extra: Record<string, string> = {}): void {
  ex.code = status;
  ex.flags = ex.flags || flags;
  ex.details = details;
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const payload = body === '' ? '' : `${body}\n`;
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(payload), ...extra });
  res.end(payload);
  ex.bytesSent = Buffer.byteLength(payload);
}

export function reportExchange(reporter: Reporter, req: IncomingMessage, res: ServerResponse, ex: Exchange, conn: ConnectionInfo): void {
  // A response that never completed is a failure the client saw: code 0 as Envoy logs a downstream reset.
  const complete = res.writableFinished;
  const record: AccessRecord = {
    startMs: ex.startMs,
    request: {
      method: ex.method, path: ex.path, protocol: `HTTP/${req.httpVersion}`,
      xff: req.headers['x-forwarded-for'] as string | undefined, userAgent: req.headers['user-agent'], requestId: ex.requestId, authority: ex.authority,
    },
    code: complete ? ex.code : ex.code || 0,
    flags: complete ? ex.flags : ex.flags || 'DC',
    details: ex.details,
    bytesReceived: ex.bytesReceived,
    bytesSent: ex.bytesSent,
    durationMs: performance.now() - ex.t0,
    upstreamServiceTimeMs: ex.upstreamTime,
    upstreamHost: ex.upstreamHost,
    cluster: ex.cluster,
    upstreamLocal: ex.upstreamLocal,
    downstreamLocal: conn.downstreamLocal,
    downstreamRemote: conn.downstreamRemote,
    route: ex.route,
  };
  reporter.request(record, { destinationServiceHost: ex.service ?? ex.host, destinationIp: conn.original.address, destinationPort: conn.original.port, rule: ex.rule }, ex.service);
}
