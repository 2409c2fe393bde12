import type { VirtualService } from '../mesh/resources.ts';
import { canonicalCidr } from './address.ts';
import { HostTable } from './host-index.ts';
import { httpRoute } from './http-routes.ts';
import { identify } from './identity.ts';
import { normalizeName, isValidHostPattern } from './registry.ts';
import { DEFAULT_CLUSTER_DOMAIN, qualifyShortNames } from './short-names.ts';
import { appliesToMesh, isObj, list, MESH_GATEWAY, port, Refused, sourceFields, text, omitUndefined, weighted, type Obj } from './route-fields.ts';
import type { L4Destination, Problem, SnapshotVirtualService, SourceRef, TcpMatch, TcpRoute, TlsMatch, TlsRoute, VirtualServiceHostIndex } from './types.ts';

// VirtualServices → the snapshot's routes: the HTTP routes (http-routes.ts), TLS and TCP routes, and the host index.
// A VirtualService with any part the compiler refuses is left out whole, listed in `problems` with the field path.

function subnets(value: unknown, path: string): string[] {
  return list(value, path).map((s, i) => {
    const cidr = typeof s === 'string' ? canonicalCidr(s) : undefined;
    if (!cidr) throw new Refused(`${path}[${i}]`, `${JSON.stringify(s)} is not an IP address or CIDR`);
    return cidr;
  });
}

function l4Route<M>(value: unknown, path: string, ref: (p: string) => SourceRef, matchOf: (m: Obj, at: string) => M, requireMatch: boolean): { source: SourceRef; match: M[]; route: L4Destination[] } | undefined {
  if (!isObj(value)) throw new Refused(path, 'must be a mapping');
  const written = list(value['match'], `${path}.match`);
  if (requireMatch && written.length === 0) throw new Refused(`${path}.match`, 'is required');
  const match = written.flatMap((m, i) => {
    const at = `${path}.match[${i}]`;
    if (!isObj(m)) throw new Refused(at, 'must be a mapping');
    return appliesToMesh(m['gateways'], `${at}.gateways`) ? [matchOf(m, at)] : [];
  });
  if (written.length > 0 && match.length === 0) return undefined;
  const route = weighted<L4Destination>(value['route'], `${path}.route`, (_d, _at, base) => base);
  if (route.length === 0) throw new Refused(`${path}.route`, 'at least one destination is required');
  return { source: ref(path), match, route };
}

function tlsMatch(m: Obj, at: string): TlsMatch {
  const sniHosts = list(m['sniHosts'], `${at}.sniHosts`).map((h, i) => {
    const host = normalizeName(text(h, `${at}.sniHosts[${i}]`));
    if (!isValidHostPattern(host)) throw new Refused(`${at}.sniHosts[${i}]`, `${JSON.stringify(h)} is not a host name`);
    return host;
  });
  if (sniHosts.length === 0) throw new Refused(`${at}.sniHosts`, 'at least one SNI host is required');
  return omitUndefined({ sniHosts, destinationSubnets: subnets(m['destinationSubnets'], `${at}.destinationSubnets`), port: port(m['port'], `${at}.port`), ...sourceFields(m, at) });
}

function tcpMatch(m: Obj, at: string): TcpMatch {
  const sourceSubnet = m['sourceSubnet'] === undefined ? undefined : subnets([m['sourceSubnet']], `${at}.sourceSubnet`)[0];
  return omitUndefined({ destinationSubnets: subnets(m['destinationSubnets'], `${at}.destinationSubnets`), port: port(m['port'], `${at}.port`), ...sourceFields(m, at), sourceSubnet });
}

function virtualService(spec: Obj | undefined, ref: (p: string) => SourceRef): SnapshotVirtualService {
  if (!spec) throw new Refused('spec', 'must be a mapping');
  const hosts = list(spec['hosts'], 'spec.hosts').map((h, i) => {
    const host = normalizeName(text(h, `spec.hosts[${i}]`));
    if (!isValidHostPattern(host)) throw new Refused(`spec.hosts[${i}]`, `${JSON.stringify(h)} is not a host name`);
    return host;
  });
  if (hosts.length === 0) throw new Refused('spec.hosts', 'at least one host is required (delegate VirtualServices are not supported for sidecars)');
  return {
    source: ref(''),
    hosts,
    http: list(spec['http'], 'spec.http').flatMap((r, i) => httpRoute(r, `spec.http[${i}]`, ref) ?? []),
    tls: list(spec['tls'], 'spec.tls').flatMap((r, i): TlsRoute[] => { const route = l4Route(r, `spec.tls[${i}]`, ref, tlsMatch, true); return route ? [route] : []; }),
    tcp: list(spec['tcp'], 'spec.tcp').flatMap((r, i): TcpRoute[] => { const route = l4Route(r, `spec.tcp[${i}]`, ref, tcpMatch, false); return route ? [route] : []; }),
  };
}

export interface CompiledVirtualServices {
  virtualServices: SnapshotVirtualService[];
  virtualServiceHosts: VirtualServiceHostIndex;
}

/**
 * One VirtualService compiled on its own: left out (gateway-only), refused with a problem (the whole object), or its
 * snapshot form. Pure in the object and `clusterDomain`, so a control plane can compile it once and reuse it in
 * every namespace that sees it; which hosts it keeps is decided when the list is assembled.
 */
export type VirtualServiceOutcome = { skip: true } | { problem: Problem } | { compiled: SnapshotVirtualService };

export function compileVirtualService(vs: VirtualService, clusterDomain = DEFAULT_CLUSTER_DOMAIN): VirtualServiceOutcome {
  const { namespace, name, spec } = identify(vs);
  const ref = (path: string): SourceRef => ({ kind: 'VirtualService', namespace, name, path });
  const gateways = spec?.['gateways'];
  if (Array.isArray(gateways) && gateways.length > 0 && !gateways.includes(MESH_GATEWAY)) return { skip: true }; // gateway-only
  try {
    return { compiled: virtualService(spec && qualifyShortNames(spec, namespace, clusterDomain), ref) };
  } catch (error) {
    if (!(error instanceof Refused)) throw error;
    return { problem: { source: ref(error.path), message: `${error.message}; the VirtualService is left out` } };
  }
}

/** Outcomes in precedence order → the snapshot's list and the host → list position table (first claim wins). */
export function assembleVirtualServices(outcomes: readonly VirtualServiceOutcome[], problems: Problem[]): { virtualServices: SnapshotVirtualService[]; byHost: HostTable<number> } {
  const out: SnapshotVirtualService[] = [];
  const byHost = new HostTable<number>();
  for (const outcome of outcomes) {
    if ('problem' in outcome) problems.push(outcome.problem);
    if (!('compiled' in outcome)) continue;
    const index = out.push(outcome.compiled) - 1;
    for (const host of outcome.compiled.hosts) byHost.add(host, index);
  }
  return { virtualServices: out, byHost };
}

/**
 * The VirtualServices that apply to sidecars, in input order; the first to claim a host keeps it. Short names are
 * qualified with the VirtualService's namespace and `clusterDomain` first (short-names.ts).
 */
export function compileVirtualServices(list: VirtualService[], problems: Problem[], clusterDomain = DEFAULT_CLUSTER_DOMAIN): CompiledVirtualServices {
  const { virtualServices, byHost } = assembleVirtualServices(list.map((vs) => compileVirtualService(vs, clusterDomain)), problems);
  return { virtualServices, virtualServiceHosts: byHost.toIndex((host, virtualService) => ({ host, virtualService })) };
}
