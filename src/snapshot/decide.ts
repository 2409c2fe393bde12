import { hostMatches, normalizeHost } from '../mesh/host-match.ts';
import { cidrContains, parseIp } from './address.ts';
import { RE2JS } from 're2js';
import { findHost } from './host-index.ts';
import {
  BLACKHOLE_CLUSTER, DYNAMIC_DNS_CLUSTER, PASSTHROUGH_CLUSTER,
  type Cluster, type HttpMatch, type HttpRoute, type L4Destination, type ProxySnapshot, type SnapshotVirtualService,
  type SourceRef, type StringMatch, type TcpMatch, type TlsMatch,
} from './types.ts';

// The decision of docs/snapshot.md ("The decision"), read from the snapshot alone. The Rust data plane implements the
// same steps; test/vectors/*.json hold both to the same answers. Pure: the weighted choice takes `random` as input.

export type Reason =
  | 'host_match' | 'sni_match' | 'address_match' | 'allow_any' | 'registry_only'
  | 'route' | 'no_route' | 'redirect' | 'direct_response' | 'destination_unknown';

export type ResolvedUpstream =
  | { kind: 'original' }
  | { kind: 'dns'; host: string; port: number }
  | { kind: 'static'; endpoints: Array<{ address: string; port: number }> };

export interface RequestInfo {
  scheme: string;
  method: string;
  /** `:authority` / Host as received (a port included if the client sent one). */
  authority: string;
  /** `:path`, query string included. */
  path: string;
  /** Lower-case names. */
  headers: Record<string, string | string[] | undefined>;
}

export interface DecisionInput {
  destination: { ip: string; port: number };
  protocol: 'http' | 'tls' | 'tcp';
  sni?: string;
  request?: RequestInfo;
  source?: { namespace?: string; labels?: Record<string, string>; ip?: string };
  /** In [0, 1): picks among weighted destinations. */
  random?: number;
}

export interface SnapshotDecision {
  verdict: 'allow' | 'deny';
  reason: Reason;
  cluster: string | null;
  service: string | null;
  /** The HTTP status the proxy answers with itself; null when forwarded, or for TLS/TCP. */
  status: number | null;
  upstream: ResolvedUpstream | null;
  location: string | null;
  policySource: SourceRef;
  routeSource: SourceRef | null;
  /** The selected HTTP route (rewrite, retries, timeout, fault, headers, mirrors, CORS apply from it). */
  route?: HttpRoute;
  /** One human sentence; not compared by the vectors. */
  detail: string;
}

const MESH_POLICY: SourceRef = { kind: 'MeshConfig', namespace: 'istio-system', name: 'istio', path: 'outboundTrafficPolicy.mode' };

interface Base {
  decision: SnapshotDecision;
  /** The name the client asked for (Host or SNI), for `dns` upstreams with `host: null`. */
  name: string | undefined;
}

function resolve(cluster: Cluster, name: string | undefined): ResolvedUpstream {
  const u = cluster.upstream;
  if (u.kind !== 'dns') return u;
  const host = u.host ?? name;
  return host === undefined ? { kind: 'original' } : { kind: 'dns', host, port: u.port };
}

function allowCluster(snapshot: ProxySnapshot, name: string, requested: string | undefined, reason: Reason, detail: string): SnapshotDecision | undefined {
  const cluster = snapshot.clusters[name];
  if (!cluster || !Object.hasOwn(snapshot.clusters, name)) return undefined;
  return {
    verdict: 'allow', reason, cluster: name, service: cluster.service, status: null, upstream: resolve(cluster, requested),
    location: null, policySource: cluster.source, routeSource: null, detail,
  };
}

function byAddress(snapshot: ProxySnapshot, port: number, ip: string): SnapshotDecision | undefined {
  const rule = snapshot.listeners.find((l) => l.port === port)?.tcp.find((r) => cidrContains(r.cidr, ip));
  return rule ? allowCluster(snapshot, rule.cluster, undefined, 'address_match', `destination ${ip}:${port} is in ${rule.cidr}`) : undefined;
}

function byName(snapshot: ProxySnapshot, kind: 'http' | 'tls', port: number, name: string): SnapshotDecision | undefined {
  const listener = snapshot.listeners.find((l) => l.port === port);
  const hit = listener ? findHost(listener[kind], name, (w) => w.cluster) : undefined;
  if (!hit) return undefined;
  const what = kind === 'http' ? 'Host' : 'SNI';
  return allowCluster(snapshot, hit.value, name, kind === 'http' ? 'host_match' : 'sni_match', `${what} ${name} matches ${hit.pattern} on port ${port}`);
}

/** Both ALLOW_ANY modes let unknown destinations through (they differ only for plaintext HTTP to a name). */
function allowsAny(snapshot: ProxySnapshot): boolean {
  return snapshot.mesh.outboundTrafficPolicy !== 'REGISTRY_ONLY';
}

function unknown(snapshot: ProxySnapshot, protocol: DecisionInput['protocol'], what: string, asked?: { name: string; port: number }): SnapshotDecision {
  // ALLOW_ANY_DYNAMIC_DNS: plaintext HTTP for a name goes to the DNS answer for that name on the dialled port, as
  // Envoy's dynamic forward proxy resolves the Host; an IP literal has nothing to resolve, TLS and TCP pass through.
  if (snapshot.mesh.outboundTrafficPolicy === 'ALLOW_ANY_DYNAMIC_DNS' && protocol === 'http' && asked && asked.name !== '' && parseIp(asked.name) === undefined) {
    return {
      verdict: 'allow', reason: 'allow_any', cluster: DYNAMIC_DNS_CLUSTER, service: null, status: null, upstream: { kind: 'dns', host: asked.name, port: asked.port },
      location: null, policySource: MESH_POLICY, routeSource: null, detail: `${what} is not in the registry; ALLOW_ANY_DYNAMIC_DNS sends it to the DNS answer for ${asked.name}`,
    };
  }
  if (allowsAny(snapshot)) {
    return {
      verdict: 'allow', reason: 'allow_any', cluster: PASSTHROUGH_CLUSTER, service: null, status: null, upstream: { kind: 'original' }, location: null,
      policySource: MESH_POLICY, routeSource: null, detail: `${what} is not in the registry; ${snapshot.mesh.outboundTrafficPolicy} passes it to the original destination`,
    };
  }
  const index = protocol === 'http' ? 'HTTP host' : protocol === 'tls' ? 'TLS SNI' : 'address';
  return {
    verdict: 'deny', reason: 'registry_only', cluster: BLACKHOLE_CLUSTER, service: null, status: protocol === 'http' ? 502 : null, upstream: null, location: null,
    policySource: MESH_POLICY, routeSource: null, detail: `${what} matches no ServiceEntry ${index} on this port (REGISTRY_ONLY)`,
  };
}

/** Step 1: the registry and the outbound policy. */
function registryDecision(snapshot: ProxySnapshot, input: DecisionInput, host: string | undefined): Base {
  const { ip, port } = input.destination;
  if (input.protocol === 'http') {
    const name = host ?? '';
    return { name, decision: byName(snapshot, 'http', port, name) ?? byAddress(snapshot, port, ip) ?? unknown(snapshot, 'http', `Host ${name} on port ${port}`, { name, port }) };
  }
  if (input.protocol === 'tls') {
    const sni = input.sni === undefined || input.sni === '' ? undefined : normalizeHost(input.sni);
    const decision = (sni === undefined ? undefined : byName(snapshot, 'tls', port, sni)) ?? byAddress(snapshot, port, ip)
      ?? unknown(snapshot, 'tls', sni === undefined ? `TLS without SNI to ${ip}:${port}` : `SNI ${sni} on port ${port}`);
    return { name: sni, decision };
  }
  return { name: undefined, decision: byAddress(snapshot, port, ip) ?? unknown(snapshot, 'tcp', `${ip}:${port}`) };
}

// --- matching -------------------------------------------------------------------------------------------------

/** Compiled regexes, bounded: patterns come from the snapshot, which the compiler already size-checked. */
const regexCache = new Map<string, RE2JS>();
function fullMatch(pattern: string, ignoreCase: boolean, value: string): boolean {
  const key = `${ignoreCase ? 'i' : 's'}${pattern}`;
  let re = regexCache.get(key);
  if (!re) {
    if (regexCache.size >= 1024) regexCache.clear();
    re = RE2JS.compile(pattern, ignoreCase ? RE2JS.CASE_INSENSITIVE : 0);
    regexCache.set(key, re);
  }
  return re.matches(value); // RE2 semantics: the whole value must match
}

function stringMatches(m: StringMatch, value: string | undefined): boolean {
  if (value === undefined) return false;
  if ('present' in m) return true;
  const fold = m.ignoreCase === true;
  if ('exact' in m) return fold ? value.toLowerCase() === m.exact.toLowerCase() : value === m.exact;
  if ('prefix' in m) return fold ? value.toLowerCase().startsWith(m.prefix.toLowerCase()) : value.startsWith(m.prefix);
  return fullMatch(m.regex, fold, value);
}

function headerValue(headers: RequestInfo['headers'], name: string): string | undefined {
  const value = Object.hasOwn(headers, name) ? headers[name] : undefined;
  return Array.isArray(value) ? value.join(',') : value;
}

/** The first occurrence of each query parameter, raw (not percent-decoded), as Envoy's route matcher reads it. */
export function queryParams(path: string): Map<string, string> {
  const params = new Map<string, string>();
  const q = path.indexOf('?');
  if (q < 0) return params;
  const end = path.indexOf('#', q);
  for (const pair of path.slice(q + 1, end < 0 ? undefined : end).split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    if (!params.has(name)) params.set(name, eq < 0 ? '' : pair.slice(eq + 1));
  }
  return params;
}

function sourceMatches(m: { sourceLabels: Record<string, string>; sourceNamespace?: string }, input: DecisionInput): boolean {
  const labels = input.source?.labels ?? {};
  for (const [k, v] of Object.entries(m.sourceLabels)) if (!Object.hasOwn(labels, k) || labels[k] !== v) return false;
  return m.sourceNamespace === undefined || m.sourceNamespace === (input.source?.namespace ?? 'default');
}

function httpMatches(m: HttpMatch, request: RequestInfo, input: DecisionInput): boolean {
  if (m.port !== undefined && m.port !== input.destination.port) return false;
  const q = request.path.indexOf('?');
  const pathOnly = q < 0 ? request.path : request.path.slice(0, q);
  // Envoy: a prefix is matched against the whole :path, exact and regex against the path without its query.
  if (m.uri && !stringMatches(m.uri, 'prefix' in m.uri ? request.path : pathOnly)) return false;
  if (m.scheme && !stringMatches(m.scheme, request.scheme)) return false;
  if (m.method && !stringMatches(m.method, request.method)) return false;
  if (m.authority && !stringMatches(m.authority, request.authority)) return false;
  for (const [name, sm] of Object.entries(m.headers)) if (!stringMatches(sm, headerValue(request.headers, name))) return false;
  for (const [name, sm] of Object.entries(m.withoutHeaders)) if (stringMatches(sm, headerValue(request.headers, name))) return false;
  const query = Object.keys(m.queryParams).length > 0 ? queryParams(request.path) : undefined;
  for (const [name, sm] of Object.entries(m.queryParams)) if (!stringMatches(sm, query?.get(name))) return false;
  return sourceMatches(m, input);
}

function tlsMatches(m: TlsMatch, sni: string, input: DecisionInput): boolean {
  if (m.port !== undefined && m.port !== input.destination.port) return false;
  if (!m.sniHosts.some((h) => hostMatches(h, sni))) return false;
  if (m.destinationSubnets.length > 0 && !m.destinationSubnets.some((c) => cidrContains(c, input.destination.ip))) return false;
  return sourceMatches(m, input);
}

function tcpMatches(m: TcpMatch, input: DecisionInput): boolean {
  if (m.port !== undefined && m.port !== input.destination.port) return false;
  if (m.destinationSubnets.length > 0 && !m.destinationSubnets.some((c) => cidrContains(c, input.destination.ip))) return false;
  if (m.sourceSubnet !== undefined && !(input.source?.ip !== undefined && cidrContains(m.sourceSubnet, input.source.ip))) return false;
  return sourceMatches(m, input);
}

// --- routing --------------------------------------------------------------------------------------------------

/** Weighted choice: `random × total`, walking the list subtracting weights. */
export function pickWeighted<T extends { weight: number }>(list: T[], random: number): T | undefined {
  return pickWeightedOfTotal(list, list.reduce((sum, d) => sum + d.weight, 0), random);
}

/** The same walk with the total known in advance (a compiled route keeps it); `random` in [0, 1) is injected. */
export function pickWeightedOfTotal<T extends { weight: number }>(list: T[], total: number, random: number): T | undefined {
  if (list.length <= 1 || total <= 0) return list[0];
  let point = random * total;
  for (const d of list) {
    if (point < d.weight) return d;
    point -= d.weight;
  }
  return list[list.length - 1];
}

/** Step 4: a route destination becomes a cluster; routing never opens what the registry and the policy close. */
function routeTo(snapshot: ProxySnapshot, base: Base, destination: L4Destination, port: number, routeSource: SourceRef): SnapshotDecision {
  const allowedBy = base.decision.policySource;
  const wantPort = destination.port ?? port;
  if (destination.host === base.decision.service && wantPort === port) {
    return { ...base.decision, reason: 'route', routeSource, detail: `${base.decision.detail}; routed to ${destination.host}` };
  }
  const hit = findHost(snapshot.hosts, destination.host, (w) => w.clusters);
  const clusters = (hit?.value ?? []).map((name) => snapshot.clusters[name]).filter((c): c is Cluster => c !== undefined);
  const cluster = clusters.find((c) => c.port === wantPort) ?? (destination.port === undefined ? clusters[0] : undefined);
  const exactName = destination.host.startsWith('*') ? undefined : destination.host;
  if (cluster) {
    const name = `outbound|${cluster.port}||${cluster.service}`;
    return {
      verdict: 'allow', reason: 'route', cluster: name, service: cluster.service, status: null, upstream: resolve(cluster, exactName),
      location: null, policySource: allowedBy, routeSource, detail: `routed to ${destination.host}:${cluster.port}`,
    };
  }
  if (allowsAny(snapshot) && exactName !== undefined && parseIp(exactName) === undefined) {
    return {
      verdict: 'allow', reason: 'route', cluster: PASSTHROUGH_CLUSTER, service: null, status: null, upstream: { kind: 'dns', host: exactName, port: wantPort },
      location: null, policySource: allowedBy, routeSource, detail: `routed to ${exactName}:${wantPort}, not in the registry; ${snapshot.mesh.outboundTrafficPolicy}`,
    };
  }
  return {
    verdict: 'deny', reason: 'destination_unknown', cluster: null, service: null, status: 503, upstream: null, location: null,
    policySource: allowedBy, routeSource, detail: `route destination ${destination.host}:${wantPort} is not in the registry`,
  };
}

function defaultPort(scheme: string): number | undefined {
  return scheme === 'http' ? 80 : scheme === 'https' ? 443 : undefined;
}

function splitAuthority(authority: string): { host: string; port: string | undefined } {
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(authority);
  return m ? { host: m[1] ?? '', port: m[2] || undefined } : { host: authority, port: undefined };
}

/** Each part the redirect sets replaces the request's; a port equal to the scheme's default is left out. */
export function redirectLocation(redirect: NonNullable<HttpRoute['redirect']>, request: RequestInfo, dialledPort: number): string {
  const scheme = redirect.scheme ?? request.scheme;
  const original = splitAuthority(request.authority);
  const host = redirect.authority ?? original.host;
  let port: string | undefined;
  if (redirect.port !== undefined) port = String(redirect.port);
  else if (redirect.derivePort === 'FROM_REQUEST_PORT') port = String(dialledPort);
  else if (redirect.derivePort === undefined && redirect.authority === undefined && redirect.scheme === undefined) port = original.port;
  if (port !== undefined && Number(port) === defaultPort(scheme)) port = undefined;
  const q = request.path.indexOf('?');
  const path = redirect.uri === undefined ? request.path : redirect.uri.includes('?') || q < 0 ? redirect.uri : redirect.uri + request.path.slice(q);
  return `${scheme}://${host}${port === undefined ? '' : `:${port}`}${path}`;
}

function httpRouting(snapshot: ProxySnapshot, base: Base, vs: SnapshotVirtualService, input: DecisionInput, request: RequestInfo): SnapshotDecision {
  const route = vs.http.find((r) => r.match.length === 0 || r.match.some((m) => httpMatches(m, request, input)));
  const policySource = base.decision.policySource;
  const local = { cluster: null, upstream: null, policySource, service: base.decision.service };
  if (!route) {
    return { ...local, verdict: 'deny', reason: 'no_route', status: 404, location: null, routeSource: vs.source, detail: `no route of VirtualService ${vs.source.namespace}/${vs.source.name} matches ${request.method} ${request.path}` };
  }
  if (route.redirect) {
    const location = redirectLocation(route.redirect, request, input.destination.port);
    return { ...local, verdict: 'allow', reason: 'redirect', status: route.redirect.code, location, routeSource: route.source, route, detail: `redirect ${route.redirect.code} to ${location}` };
  }
  if (route.directResponse) {
    return { ...local, verdict: 'allow', reason: 'direct_response', status: route.directResponse.status, location: null, routeSource: route.source, route, detail: `direct response ${route.directResponse.status}` };
  }
  const destination = pickWeighted(route.route, input.random ?? 0);
  if (!destination) return { ...local, verdict: 'deny', reason: 'destination_unknown', status: 503, location: null, routeSource: route.source, detail: 'route without destinations' };
  return { ...routeTo(snapshot, base, destination, input.destination.port, route.source), route };
}

function findVirtualService(snapshot: ProxySnapshot, host: string): SnapshotVirtualService | undefined {
  const hit = findHost(snapshot.virtualServiceHosts, host, (w) => w.virtualService);
  return hit === undefined ? undefined : snapshot.virtualServices[hit.value];
}

/** The whole decision for one connection (TLS/TCP) or one request (HTTP). */
export function decide(snapshot: ProxySnapshot, input: DecisionInput): SnapshotDecision {
  if (input.protocol === 'http' && !input.request) throw new TypeError('an HTTP decision needs the request');
  const host = input.request ? normalizeHost(input.request.authority) : undefined;
  const base = registryDecision(snapshot, input, host);
  if (base.decision.verdict === 'deny') return base.decision;
  if (input.protocol === 'http') {
    const vs = host === undefined ? undefined : findVirtualService(snapshot, host);
    return vs && vs.http.length > 0 ? httpRouting(snapshot, base, vs, input, input.request!) : base.decision;
  }
  if (input.protocol === 'tls') {
    const sni = base.name;
    const vs = sni === undefined ? undefined : findVirtualService(snapshot, sni);
    const route = sni === undefined ? undefined : vs?.tls.find((r) => r.match.some((m) => tlsMatches(m, sni, input)));
    const destination = route ? pickWeighted(route.route, input.random ?? 0) : undefined;
    return route && destination ? routeTo(snapshot, base, destination, input.destination.port, route.source) : base.decision;
  }
  const service = base.decision.service;
  const vs = service === null ? undefined : findVirtualService(snapshot, service);
  const route = vs?.tcp.find((r) => r.match.length === 0 || r.match.some((m) => tcpMatches(m, input)));
  const destination = route ? pickWeighted(route.route, input.random ?? 0) : undefined;
  return route && destination ? routeTo(snapshot, base, destination, input.destination.port, route.source) : base.decision;
}
