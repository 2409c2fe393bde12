import { request, type Agent, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { hostPort } from '../connection.ts';
import type { Endpoint } from '../upstream.ts';
import type { CompiledRetries } from '../routing/virtual-services.ts';
import { applyHeaderOps } from '../routing/http-route.ts';
import type { HeaderOperations } from '../../mesh/resources.ts';
import { forwardableHeaders } from './request-target.ts';
import { localReply, type Exchange } from './exchange.ts';

export interface UpstreamCall {
  endpoint: Endpoint;
  path: string;
  headers: OutgoingHttpHeaders;
  timeoutMs: number | undefined;
  retries: CompiledRetries | undefined;
  responseHeaderOps: Array<HeaderOperations | undefined>;
  agent: Agent;
  closeAfter: boolean;
}

class PerTryTimeout extends Error {}

function retriableStatus(r: CompiledRetries, status: number): boolean {
  if (r.on.has('5xx') && status >= 500) return true;
  if (r.on.has('gateway-error') && (status === 502 || status === 503 || status === 504)) return true;
  if (r.on.has('retriable-4xx') && status === 409) return true;
  if (r.on.has('unavailable') && status === 503) return true;
  return r.codes.has(status) || (r.on.has('retriable-status-codes') && status === 503 && r.codes.size === 0);
}

function retriableError(r: CompiledRetries, error: Error): boolean {
  if (error instanceof PerTryTimeout) return r.on.has('5xx') || r.on.has('gateway-error');
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const connectFailure = code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ETIMEDOUT';
  if (connectFailure) return r.on.has('connect-failure') || r.on.has('5xx') || r.on.has('gateway-error');
  return r.on.has('reset') || r.on.has('5xx') || r.on.has('refused-stream');
}

/**
 * Sends the request upstream and relays the answer, streaming both ways (backpressure from pipe, never buffered).
 * The route timeout covers everything including retries: at the deadline the upstream request is destroyed and the
 * client gets 504 `upstream request timeout` (or a reset when the response had started). Only body-less requests
 * are retried: a streamed body cannot be replayed without buffering it.
 */
export function callUpstream(req: IncomingMessage, res: ServerResponse, ex: Exchange, call: UpstreamCall): void {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  const maxAttempts = 1 + (hasBody ? 0 : (call.retries?.attempts ?? 0));
  let current: ClientRequest | undefined;
  let done = false;
  ex.upstreamHost = hostPort(call.endpoint.address, call.endpoint.port);
  const finish = (): void => {
    done = true;
    clearTimeout(total);
  };
  const total = call.timeoutMs === undefined ? undefined : setTimeout(() => {
    if (done) return;
    finish();
    current?.destroy();
    ex.flags = 'UT';
    localReply(res, ex, 504, 'upstream request timeout', 'UT', 'response_timeout');
  }, call.timeoutMs);
  res.once('close', () => {
    if (done) return;
    finish();
    current?.destroy();
    ex.flags = ex.flags || 'DC';
  });

  const relay = (upRes: IncomingMessage): void => {
    ex.code = upRes.statusCode ?? 502;
    ex.details = 'via_upstream';
    ex.upstreamTime = performance.now() - (ex.upstreamStart ?? ex.t0);
    const headers: Record<string, string | string[] | number | undefined> = forwardableHeaders(upRes.headers);
    headers['x-envoy-upstream-service-time'] = String(Math.round(ex.upstreamTime));
    for (const ops of call.responseHeaderOps) applyHeaderOps(headers, ops);
    if (call.closeAfter) headers['connection'] = 'close';
    try {
      res.writeHead(ex.code, headers as OutgoingHttpHeaders);
    } catch {
      // An upstream header Node will not send on (it parsed it, so this is rare): a clean 502, not a crash.
      upRes.destroy();
      finish();
      localReply(res, ex, 502, 'upstream sent a response header that cannot be forwarded', 'UPE', 'invalid_upstream_response');
      return;
    }
    upRes.on('data', (chunk: Buffer) => { ex.bytesSent += chunk.length; });
    // pipe rather than pipeline: same backpressure, without pipeline's AbortController (and its DOMException) per
    // request, which showed up in the profile.
    upRes.once('end', finish);
    upRes.once('error', () => {
      finish();
      // An upstream reset mid-body must reach the client as a failure, never as a short 200: destroy, do not end.
      if (!res.writableFinished) {
        ex.flags = ex.flags || 'UPE';
        res.destroy();
      }
    });
    upRes.pipe(res);
  };

  const attempt = (n: number): void => {
    ex.upstreamStart = performance.now();
    let upReq: ClientRequest;
    try {
      upReq = request({ host: call.endpoint.address, port: call.endpoint.port, method: req.method, path: call.path, headers: call.headers, agent: call.agent, setHost: false });
    } catch (error) {
      // e.g. a forwarded header Node refuses: a 400 for this request, never an exception that ends the process.
      finish();
      localReply(res, ex, 400, `request cannot be forwarded: ${(error as Error).message}`, '-', 'invalid_request');
      return;
    }
    current = upReq;
    const perTry = call.retries?.perTryTimeoutMs === undefined ? undefined : setTimeout(() => upReq.destroy(new PerTryTimeout('per-try timeout')), call.retries.perTryTimeoutMs);
    upReq.once('socket', (socket) => {
      const note = (): void => { ex.upstreamLocal = hostPort(socket.localAddress, socket.localPort); };
      if (socket.localPort) note(); else socket.once('connect', note);
    });
    upReq.once('response', (upRes) => {
      clearTimeout(perTry);
      if (done) { upRes.resume(); return; }
      if (n < maxAttempts && call.retries && retriableStatus(call.retries, upRes.statusCode ?? 0)) {
        upRes.resume();
        attempt(n + 1);
        return;
      }
      relay(upRes);
    });
    upReq.on('error', (error: Error) => {
      clearTimeout(perTry);
      if (done || current !== upReq) return;
      if (n < maxAttempts && call.retries && retriableError(call.retries, error)) {
        attempt(n + 1);
        return;
      }
      finish();
      if (error instanceof PerTryTimeout) {
        localReply(res, ex, 504, 'upstream request timeout', 'UT', 'response_timeout');
        return;
      }
      const code = (error as NodeJS.ErrnoException).code ?? error.message;
      const refused = code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH';
      localReply(res, ex, 503, `upstream connect error or disconnect/reset before headers. reset reason: ${refused ? 'connection failure' : 'connection termination'}`, refused ? 'UF' : 'UC', 'upstream_reset_before_response_started');
    });
    if (hasBody && n === 1) {
      req.on('data', (chunk: Buffer) => { if (req.headers['content-length'] === undefined) ex.bytesReceived += chunk.length; });
      // pipe, not pipeline: a failed upstream must not destroy the client socket before the 503 is written.
      req.pipe(upReq);
      req.once('error', () => upReq.destroy());
    } else upReq.end();
  };
  attempt(1);
}
