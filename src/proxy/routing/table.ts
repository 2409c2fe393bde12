import { isIP } from 'node:net';
import { hostMatches, wildcardShape, type HostIndex } from '../../mesh/host-match.ts';
import type { MeshSnapshot } from '../../mesh/config-store.ts';
import type { OutboundMode } from '../../mesh/mesh-config.ts';
import type { MeshObject } from '../../mesh/objects.ts';
import { pickDestination } from './http-route.ts';
import { compileRegistry, lookupDestination, lookupHttp, lookupTcp, lookupTls, type Registry } from './registry.ts';
import { BLACKHOLE_CLUSTER, PASSTHROUGH_CLUSTER, type Allow, type Decision, type Deny, type TrafficKind } from './types.ts';
import { compileVirtualService, compileVirtualServices, type CompiledL4Route, type CompiledVirtualService, type WeightedDestination } from './virtual-services.ts';

/** Everything a request needs, compiled once per config change and swapped atomically. */
export interface RoutingTable {
  mode: OutboundMode;
  registry: Registry;
  virtualServices: HostIndex<CompiledVirtualService>;
  counts: { serviceEntries: number; virtualServices: number };
  /** decideHttp's answers for this table (it is immutable, so they never go stale); see httpRoute. */
  httpMemo: Map<string, HttpRoute>;
}

/** An HTTP request's policy decision and the VirtualService for its host, as the handler needs them. */
export interface HttpRoute {
  decision: Decision;
  vs: CompiledVirtualService | undefined;
}

/** Distinct (host, port, address) answers kept per table: Host is client-chosen, so the memo is bounded. */
const HTTP_MEMO_MAX = 1024;

export interface CompileOptions {
  /** The proxy's namespace (POD_NAMESPACE), for exportTo. */
  namespace?: string;
}

export function compileTable(snapshot: MeshSnapshot, options: CompileOptions = {}): RoutingTable {
  return {
    mode: snapshot.mesh.outboundTrafficPolicy.mode,
    registry: compileRegistry(snapshot.serviceEntries, options.namespace),
    virtualServices: compileVirtualServices(snapshot.virtualServices, options.namespace),
    counts: { serviceEntries: snapshot.serviceEntries.length, virtualServices: snapshot.virtualServices.length },
    httpMemo: new Map(),
  };
}

/**
 * The store's extra check: an object this data path cannot honour is never accepted, and the store logs why. A bad
 * regex or duration; and a partial wildcard host (`*foo.com`), which admission accepts with a warning: Istio matches
 * it as a suffix of the HTTP Host, this Node path (being replaced by the Rust one) does not. Skipping the entry here
 * keeps /explain, compiled from the same store, in agreement with what this proxy does.
 */
export function routingProblem(item: MeshObject): string | undefined {
  if (item.kind === 'ServiceEntry') {
    const partial = item.object.spec.hosts.findIndex((h) => wildcardShape(h) === 'partial');
    if (partial < 0) return undefined;
    return `spec.hosts[${partial}]: partial wildcard ${JSON.stringify(item.object.spec.hosts[partial])} is not matched by the Node data path (Istio matches it as a suffix of the HTTP Host); the ServiceEntry is skipped`;
  }
  if (item.kind !== 'VirtualService') return undefined;
  try {
    compileVirtualService(item.object);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

function unknown(table: RoutingTable, kind: TrafficKind, what: string): Decision {
  if (table.mode === 'ALLOW_ANY') {
    return { allowed: true, cluster: PASSTHROUGH_CLUSTER, service: undefined, plan: { kind: 'original' }, rule: 'outboundTrafficPolicy ALLOW_ANY', reason: `${what} is not in the registry; ALLOW_ANY passes it to the original destination` };
  }
  const deny: Deny = { allowed: false, cluster: BLACKHOLE_CLUSTER, service: undefined, rule: 'outboundTrafficPolicy REGISTRY_ONLY', reason: `${what} matches no ServiceEntry ${kind === 'http' ? 'HTTP host' : kind === 'tls' ? 'TLS SNI' : 'address'} on this port` };
  return deny;
}

/** HTTP: by the Host actually used (port stripped), then by address for TCP-only entries. */
export function decideHttp(table: RoutingTable, host: string, port: number, ip: string): Decision {
  return lookupHttp(table.registry, host, port) ?? lookupTcp(table.registry, ip, port) ?? unknown(table, 'http', `Host ${host} on port ${port}`);
}

/**
 * decideHttp plus the host's VirtualService, remembered per table: a keep-alive client sends the same Host again and
 * again, and the decision (with its rule and reason texts) was rebuilt for every request. Answers are shared and must
 * not be mutated.
 */
export function httpRoute(table: RoutingTable, host: string, port: number, ip: string): HttpRoute {
  const key = `${port} ${ip} ${host}`;
  let hit = table.httpMemo.get(key);
  if (hit === undefined) {
    hit = { decision: decideHttp(table, host, port, ip), vs: table.virtualServices.find(host)?.value };
    if (table.httpMemo.size >= HTTP_MEMO_MAX) table.httpMemo.clear();
    table.httpMemo.set(key, hit);
  }
  return hit;
}

/** TLS: by SNI; a ClientHello without SNI can only match by address. */
export function decideTls(table: RoutingTable, sni: string | undefined, port: number, ip: string): Decision {
  const bySni = sni === undefined ? undefined : lookupTls(table.registry, sni, port);
  const base = bySni ?? lookupTcp(table.registry, ip, port) ?? unknown(table, 'tls', sni === undefined ? `TLS without SNI to ${ip}:${port}` : `SNI ${sni} on port ${port}`);
  return base.allowed && sni !== undefined ? routeL4(table, base, 'tls', sni, port, ip) : base;
}

export function decideTcp(table: RoutingTable, ip: string, port: number): Decision {
  const base = lookupTcp(table.registry, ip, port) ?? unknown(table, 'tcp', `${ip}:${port}`);
  return base.allowed && base.service ? routeL4(table, base, 'tcp', base.service, port, ip) : base;
}

function l4Matches(route: CompiledL4Route, host: string, port: number): boolean {
  const sniOk = !route.sniHosts || route.sniHosts.length === 0 || route.sniHosts.some((h) => hostMatches(h, host));
  return sniOk && (route.matches.length === 0 || route.matches.some((m) => m.port === undefined || m.port === port));
}

/** tls/tcp routes of the VirtualService for this host re-target an allowed connection. */
function routeL4(table: RoutingTable, base: Allow, kind: 'tls' | 'tcp', host: string, port: number, _ip: string): Decision {
  const vs = table.virtualServices.find(host)?.value;
  const route = vs?.[kind].find((r) => l4Matches(r, host, port));
  if (!vs || !route) return base;
  const destination = pickDestination(route.destinations, route.totalWeight, Math.random());
  return destination ? resolveDestination(table, destination, port, base, vs.ref) : base;
}

/**
 * A route destination becomes an upstream: the same host keeps the decision that allowed it; another host must be
 * in the registry (routing cannot open a destination the policy closes).
 */
export function resolveDestination(table: RoutingTable, destination: Pick<WeightedDestination, 'host' | 'port'>, port: number, base: Allow, ref: string): Decision {
  if (destination.host === base.service && (destination.port === undefined || destination.port === port)) return { ...base, rule: `${base.rule}; ${ref}` };
  const hit = lookupDestination(table.registry, destination.host, destination.port ?? port) ?? lookupDestination(table.registry, destination.host, undefined);
  if (hit) return { ...hit, rule: `${ref} -> ${hit.rule}` };
  if (base.service === undefined && isIP(destination.host) === 0 && table.mode === 'ALLOW_ANY') {
    return { ...base, plan: { kind: 'dns', host: destination.host, port: destination.port ?? port }, rule: `${ref} (ALLOW_ANY)` };
  }
  return { allowed: false, cluster: BLACKHOLE_CLUSTER, service: undefined, rule: ref, reason: `route destination ${destination.host} is not in the registry` };
}
