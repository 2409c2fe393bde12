import { HostIndex } from '../../mesh/host-match.ts';
import { parseDurationMs } from '../../mesh/duration.ts';
import type { HeaderOperations, HTTPRoute, L4MatchAttributes, RouteDestination, StringMatch, VirtualService } from '../../mesh/resources.ts';
import { exportedTo } from './registry.ts';

/** A string matcher compiled once; `prefix` is kept so a rewrite can replace just the matched prefix. */
export interface CompiledStringMatch {
  test(value: string): boolean;
  prefix?: string;
}

export interface CompiledHttpMatch {
  uri?: CompiledStringMatch;
  method?: CompiledStringMatch;
  authority?: CompiledStringMatch;
  headers: Array<[string, CompiledStringMatch]>;
  withoutHeaders: Array<[string, CompiledStringMatch]>;
  port?: number;
}

export interface WeightedDestination {
  host: string;
  port: number | undefined;
  weight: number;
  requestHeaders?: HeaderOperations;
  responseHeaders?: HeaderOperations;
}

export interface CompiledRetries {
  attempts: number;
  perTryTimeoutMs: number | undefined;
  on: Set<string>;
  codes: Set<number>;
}

export interface CompiledHttpRoute {
  name: string;
  matches: CompiledHttpMatch[];
  destinations: WeightedDestination[];
  totalWeight: number;
  redirect?: { uri?: string; authority?: string; port?: number; scheme?: string; code: number };
  directResponse?: { status: number; body: string };
  rewrite?: { uri?: string; authority?: string };
  timeoutMs: number | undefined;
  retries: CompiledRetries | undefined;
  fault?: { delayMs?: number; delayPercent: number; abortStatus?: number; abortPercent: number };
  requestHeaders?: HeaderOperations;
  responseHeaders?: HeaderOperations;
}

export interface CompiledL4Route {
  sniHosts: string[] | undefined;
  matches: L4MatchAttributes[];
  destinations: WeightedDestination[];
  totalWeight: number;
}

export interface CompiledVirtualService {
  ref: string;
  http: CompiledHttpRoute[];
  tls: CompiledL4Route[];
  tcp: CompiledL4Route[];
}

export class RouteCompileError extends Error {}

export function compileStringMatch(match: StringMatch, where: string, ignoreCase = false): CompiledStringMatch {
  if (match.exact !== undefined) {
    const exact = ignoreCase ? match.exact.toLowerCase() : match.exact;
    return { test: ignoreCase ? (v) => v.toLowerCase() === exact : (v) => v === exact };
  }
  if (match.prefix !== undefined) {
    const prefix = ignoreCase ? match.prefix.toLowerCase() : match.prefix;
    return { test: ignoreCase ? (v) => v.toLowerCase().startsWith(prefix) : (v) => v.startsWith(prefix), prefix: match.prefix };
  }
  if (match.regex !== undefined) {
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${match.regex})$`, ignoreCase ? 'i' : ''); // RE2 semantics: the whole value must match
    } catch (error) {
      throw new RouteCompileError(`${where}.regex: ${(error as Error).message}`);
    }
    return { test: (v) => re.test(v) };
  }
  throw new RouteCompileError(`${where}: one of exact, prefix or regex is required`);
}

function headerMatches(headers: Record<string, StringMatch> | undefined, where: string): Array<[string, CompiledStringMatch]> {
  return Object.entries(headers ?? {}).map(([name, m]) => [name.toLowerCase(), compileStringMatch(m, `${where}.${name}`)]);
}

function percent(p: { value?: number } | undefined, legacy?: number): number {
  return p?.value ?? legacy ?? 100;
}

function destinations(routes: Array<RouteDestination & { headers?: { request?: HeaderOperations; response?: HeaderOperations } }> | undefined, where: string): { list: WeightedDestination[]; total: number } {
  const list = (routes ?? []).map((r, i) => {
    if (!r.destination?.host) throw new RouteCompileError(`${where}[${i}].destination.host is required`);
    const weight = r.weight ?? (routes!.length === 1 ? 100 : 0);
    if (!Number.isFinite(weight) || weight < 0) throw new RouteCompileError(`${where}[${i}].weight must be a non-negative number`);
    return {
      host: r.destination.host.toLowerCase(), port: r.destination.port?.number, weight,
      requestHeaders: checkHeaderOps(r.headers?.request, `${where}[${i}].headers.request`), responseHeaders: checkHeaderOps(r.headers?.response, `${where}[${i}].headers.response`),
    };
  });
  // Several destinations without weights share the traffic equally rather than sending none anywhere.
  if (list.length > 1 && list.every((d) => d.weight === 0)) for (const d of list) d.weight = 1;
  return { list, total: list.reduce((sum, d) => sum + d.weight, 0) };
}

function durationOrThrow(text: string | undefined, where: string): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDurationMs(text);
  if (ms === undefined) throw new RouteCompileError(`${where}: ${JSON.stringify(text)} is not a duration`);
  return ms;
}

function compileRetries(route: HTTPRoute, where: string): CompiledRetries | undefined {
  const r = route.retries;
  if (!r || !r.attempts) return undefined;
  const tokens = (r.retryOn ?? 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes').split(',').map((t) => t.trim()).filter(Boolean);
  const codes = new Set(tokens.filter((t) => /^\d{3}$/.test(t)).map(Number));
  return { attempts: r.attempts, perTryTimeoutMs: durationOrThrow(r.perTryTimeout, `${where}.retries.perTryTimeout`), on: new Set(tokens), codes };
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Header operations are checked here so a bad name or a CR/LF in a value is a skipped object, never a throw later. */
function checkHeaderOps(ops: HeaderOperations | undefined, where: string): HeaderOperations | undefined {
  if (!ops) return undefined;
  for (const kind of ['set', 'add'] as const) {
    for (const [name, value] of Object.entries(ops[kind] ?? {})) {
      if (!HEADER_NAME.test(name)) throw new RouteCompileError(`${where}.${kind}: invalid header name ${JSON.stringify(name)}`);
      if (typeof value !== 'string' || /[\r\n\0]/.test(value)) throw new RouteCompileError(`${where}.${kind}.${name}: header values must be strings without CR, LF or NUL`);
    }
  }
  for (const name of ops.remove ?? []) if (typeof name !== 'string' || !HEADER_NAME.test(name)) throw new RouteCompileError(`${where}.remove: invalid header name ${JSON.stringify(name)}`);
  return ops;
}

export function compileHttpRoute(route: HTTPRoute, where: string, index: number): CompiledHttpRoute {
  const matches = (route.match ?? []).map((m, i): CompiledHttpMatch => {
    const at = `${where}.match[${i}]`;
    return {
      uri: m.uri ? compileStringMatch(m.uri, `${at}.uri`, m.ignoreUriCase) : undefined,
      method: m.method ? compileStringMatch(m.method, `${at}.method`) : undefined,
      authority: m.authority ? compileStringMatch(m.authority, `${at}.authority`) : undefined,
      headers: headerMatches(m.headers, `${at}.headers`),
      withoutHeaders: headerMatches(m.withoutHeaders, `${at}.withoutHeaders`),
      port: m.port,
    };
  });
  const { list, total } = destinations(route.route, `${where}.route`);
  if (list.length === 0 && !route.redirect && !route.directResponse) throw new RouteCompileError(`${where}: a route, redirect or directResponse is required`);
  const fault = route.fault;
  return {
    name: route.name ?? `${where}[${index}]`,
    matches,
    destinations: list,
    totalWeight: total,
    redirect: route.redirect ? { uri: route.redirect.uri, authority: route.redirect.authority, port: route.redirect.port, scheme: route.redirect.scheme, code: route.redirect.redirectCode ?? 301 } : undefined,
    directResponse: route.directResponse ? { status: route.directResponse.status, body: route.directResponse.body?.string ?? '' } : undefined,
    rewrite: route.rewrite ? { uri: route.rewrite.uri, authority: route.rewrite.authority } : undefined,
    timeoutMs: durationOrThrow(route.timeout, `${where}.timeout`),
    retries: compileRetries(route, where),
    fault: fault ? {
      delayMs: durationOrThrow(fault.delay?.fixedDelay, `${where}.fault.delay.fixedDelay`),
      delayPercent: percent(fault.delay?.percentage, fault.delay?.percent),
      abortStatus: fault.abort?.httpStatus,
      abortPercent: percent(fault.abort?.percentage),
    } : undefined,
    requestHeaders: checkHeaderOps(route.headers?.request, `${where}.headers.request`),
    responseHeaders: checkHeaderOps(route.headers?.response, `${where}.headers.response`),
  };
}

function compileL4(routes: Array<{ match?: L4MatchAttributes[] | Array<L4MatchAttributes & { sniHosts?: string[] }>; route?: RouteDestination[] }> | undefined, where: string, tls: boolean): CompiledL4Route[] {
  return (routes ?? []).map((r, i) => {
    const { list, total } = destinations(r.route, `${where}[${i}].route`);
    if (list.length === 0) throw new RouteCompileError(`${where}[${i}].route is required`);
    const matches = (r.match ?? []) as Array<L4MatchAttributes & { sniHosts?: string[] }>;
    return { sniHosts: tls ? matches.flatMap((m) => m.sniHosts ?? []).map((h) => h.toLowerCase()) : undefined, matches, destinations: list, totalWeight: total };
  });
}

export function compileVirtualService(vs: VirtualService): CompiledVirtualService {
  const ref = `VirtualService ${vs.metadata.namespace ?? 'default'}/${vs.metadata.name}`;
  return {
    ref,
    http: (vs.spec.http ?? []).map((route, i) => compileHttpRoute(route, 'spec.http', i)),
    tls: compileL4(vs.spec.tls, 'spec.tls', true),
    tcp: compileL4(vs.spec.tcp, 'spec.tcp', false),
  };
}

/** VirtualServices by host; the first (name order) for a host wins, as Istio keeps the oldest. Mesh-only ones. */
export function compileVirtualServices(list: VirtualService[], namespace: string | undefined): HostIndex<CompiledVirtualService> {
  const index = new HostIndex<CompiledVirtualService>();
  for (const vs of list) {
    const gateways = vs.spec.gateways;
    if (gateways && gateways.length > 0 && !gateways.includes('mesh')) continue;
    if (!exportedTo(vs.spec.exportTo, vs.metadata.namespace ?? 'default', namespace)) continue;
    const compiled = compileVirtualService(vs);
    for (const host of vs.spec.hosts ?? []) index.add(host, compiled);
  }
  return index;
}
