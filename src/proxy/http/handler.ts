import { randomUUID } from 'node:crypto';
import type { Agent, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConnectionInfo } from '../connection.ts';
import { applyHeaderOps, chance, pickDestination, redirectLocation, rewritePath, selectHttpRoute, type RouteRequest } from '../routing/http-route.ts';
import { httpRoute, resolveDestination, type RoutingTable } from '../routing/table.ts';
import type { Allow } from '../routing/types.ts';
import type { CompiledHttpMatch, CompiledHttpRoute, WeightedDestination } from '../routing/virtual-services.ts';
import type { Reporter } from '../telemetry/reporter.ts';
import { resolvePlan, resolvePlanNow, type Endpoint, type HostLookup } from '../upstream.ts';
import { localReply, newExchange, reportExchange, type Exchange } from './exchange.ts';
import { forwardableHeaders, requestTarget } from './request-target.ts';
import { callUpstream } from './upstream-call.ts';

export interface HttpHandlerDeps {
  table(): RoutingTable;
  connection(socket: Socket): ConnectionInfo | undefined;
  agent: Agent;
  lookup: HostLookup;
  reporter: Reporter;
  maxHeaders: number;
  random(): number;
  draining(): boolean;
}

/** The request handler of the proxy's http.Server: authorise by the authority used, route, forward, report. */
export function createHttpHandler(deps: HttpHandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const conn = deps.connection(req.socket);
    if (!conn) {
      res.destroy();
      return;
    }
    const incomingId = req.headers['x-request-id'];
    const ex = newExchange(req, typeof incomingId === 'string' && incomingId !== '' && incomingId.length <= 128 ? incomingId : randomUUID());
    res.once('close', () => reportExchange(deps.reporter, req, res, ex, conn));
    const extra: Record<string, string> = deps.draining() ? { connection: 'close' } : {};
    const target = requestTarget(req, deps.maxHeaders);
    if (!target.ok) {
      localReply(res, ex, target.status, target.message, '-', 'request_rejected', { connection: 'close' });
      res.once('finish', () => req.socket.destroySoon());
      return;
    }
    ex.authority = target.authority;
    ex.host = target.host;
    const table = deps.table();
    const port = conn.original.port;
    const { decision, vs } = httpRoute(table, target.host, port, conn.original.address);
    ex.cluster = decision.cluster;
    ex.service = decision.service;
    ex.rule = decision.rule;
    if (!decision.allowed) {
      ex.route = 'block_all';
      deps.reporter.denied('http', `${target.host}:${port}`, decision.rule, decision.reason);
      localReply(res, ex, 502, `meshgate: ${target.host}:${port} is blocked: ${decision.reason} (${decision.rule})`, '-', 'direct_response', extra);
      return;
    }
    ex.route = decision.service ? 'default' : 'allow_any';
    const routeRequest: RouteRequest = { method: ex.method, path: target.path, authority: target.authority, port, headers: req.headers };
    const selected = vs ? selectHttpRoute(vs, routeRequest) : undefined;
    if (!selected) {
      forward(deps, req, res, ex, conn, decision, target.path, undefined, undefined, undefined, extra);
      return;
    }
    ex.route = selected.route.name;
    ex.rule = `${decision.rule}; ${vs!.ref} route ${selected.route.name}`;
    void applyRoute(deps, req, res, ex, conn, decision, routeRequest, selected.route, selected.match, extra, vs!.ref);
  };
}

async function applyRoute(deps: HttpHandlerDeps, req: IncomingMessage, res: ServerResponse, ex: Exchange, conn: ConnectionInfo, base: Allow, r: RouteRequest, route: CompiledHttpRoute, match: CompiledHttpMatch | undefined, extra: Record<string, string>, ref: string): Promise<void> {
  const fault = route.fault;
  if (fault?.delayMs !== undefined && chance(fault.delayPercent, deps.random())) {
    ex.flags = 'DI';
    await sleep(fault.delayMs);
    if (res.destroyed) return;
  }
  if (fault?.abortStatus !== undefined && chance(fault.abortPercent, deps.random())) {
    localReply(res, ex, fault.abortStatus, 'fault filter abort', 'FI', 'fault_filter_abort', extra);
    return;
  }
  if (route.redirect) {
    const location = redirectLocation(route.redirect, r, ex.host);
    localReply(res, ex, route.redirect.code, '', '-', 'direct_response', { ...extra, location });
    return;
  }
  if (route.directResponse) {
    localReply(res, ex, route.directResponse.status, route.directResponse.body, '-', 'direct_response', extra);
    return;
  }
  const destination = pickDestination(route.destinations, route.totalWeight, deps.random());
  if (!destination) {
    localReply(res, ex, 503, 'no healthy upstream', 'NR', 'route_not_found', extra);
    return;
  }
  const decision = resolveDestination(deps.table(), destination, r.port, base, ref);
  ex.cluster = decision.cluster;
  ex.service = decision.service ?? ex.service;
  if (!decision.allowed) {
    deps.reporter.denied('http', `${destination.host}:${destination.port ?? r.port}`, decision.rule, decision.reason);
    localReply(res, ex, 503, `no healthy upstream: ${decision.reason}`, 'NC', 'cluster_not_found', extra);
    return;
  }
  forward(deps, req, res, ex, conn, decision, rewritePath(r.path, route.rewrite?.uri, match), route, destination, route.rewrite?.authority, extra);
}

function forward(deps: HttpHandlerDeps, req: IncomingMessage, res: ServerResponse, ex: Exchange, conn: ConnectionInfo, decision: Allow, path: string, route: CompiledHttpRoute | undefined, destination: WeightedDestination | undefined, authority: string | undefined, extra: Record<string, string>): void {
  const failed = (error: unknown): void => localReply(res, ex, 503, `no healthy upstream: ${(error as Error).message}`, 'UH', 'no_healthy_upstream', extra);
  let endpoint: Endpoint | undefined;
  try {
    endpoint = resolvePlanNow(decision.plan, conn.original, deps.lookup, deps.random);
  } catch (error) {
    failed(error);
    return;
  }
  // The usual case (cached DNS answer, original or static destination) forwards in this tick; a lookup waits.
  if (endpoint) send(deps, req, res, ex, conn, decision, path, route, destination, authority, endpoint);
  else {
    resolvePlan(decision.plan, conn.original, deps.lookup, deps.random).then((resolved) => {
      if (!res.destroyed) send(deps, req, res, ex, conn, decision, path, route, destination, authority, resolved);
    }, failed);
  }
}

function send(deps: HttpHandlerDeps, req: IncomingMessage, res: ServerResponse, ex: Exchange, conn: ConnectionInfo, decision: Allow, path: string, route: CompiledHttpRoute | undefined, destination: WeightedDestination | undefined, authority: string | undefined, endpoint: Endpoint): void {
  const headers: Record<string, string | string[] | number | undefined> = forwardableHeaders(req.headers);
  headers['host'] = authority ?? ex.authority;
  headers['x-request-id'] = ex.requestId;
  headers['x-forwarded-proto'] = 'http';
  if (decision.service) headers['x-envoy-decorator-operation'] = `${decision.service}:${conn.original.port}/*`;
  applyHeaderOps(headers, route?.requestHeaders);
  applyHeaderOps(headers, destination?.requestHeaders);
  callUpstream(req, res, ex, {
    endpoint, path, headers: headers as OutgoingHttpHeaders, timeoutMs: route?.timeoutMs, retries: route?.retries,
    responseHeaderOps: [route?.responseHeaders, destination?.responseHeaders], agent: deps.agent, closeAfter: deps.draining(),
  });
}
