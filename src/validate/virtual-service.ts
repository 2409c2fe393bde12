import { asList, asObj, asStringMap, asText, isRecord, type Obj } from './access.ts';
import { checkExportTo } from './export-to.ts';
import { at, type Collector } from './field-errors.ts';
import { checkGatewayNames, MESH_GATEWAY } from './gateways.ts';
import { hostsOverlap } from './hosts.ts';
import { isJwtClaimHeader } from './http-parts.ts';
import { checkHttpRoute, checkWeightedDestinations, type RouteKind } from './http-route.ts';
import { checkL4Match, checkTlsMatch } from './l4-route.ts';
import { checkGatewayBoundDomain, checkWildcardDomain, isIpAddress } from './names.ts';
import { warnUnreachableRules } from './unreachable.ts';

// Istio's semantic rules for a VirtualService spec (after the schema layer passed).

export function validateVirtualServiceSpec(spec: Obj, namespace: string, out: Collector): void {
  const hosts = asList(spec['hosts']).map(asText);
  const gateways = asList(spec['gateways']).map(asText);
  const http = asList(spec['http']);
  const tls = asList(spec['tls']);
  const tcp = asList(spec['tcp']);
  const isDelegate = hosts.length === 0;
  if (isDelegate) {
    // No hosts: this VirtualService is a delegate, reachable only from a root's `delegate`.
    if (gateways.length > 0) out.error('spec.gateways', 'a delegate VirtualService (one without hosts) must have no gateways');
    if (tls.length > 0) out.error('spec.tls', 'a delegate VirtualService (one without hosts) must have no tls routes');
    if (tcp.length > 0) out.error('spec.tcp', 'a delegate VirtualService (one without hosts) must have no tcp routes');
  }
  let appliesToGateway = false;
  if (gateways.length > 0) {
    checkGatewayNames(gateways, 'spec.gateways', out);
    appliesToGateway = !gateways.includes(MESH_GATEWAY);
  }
  const appliesToMesh = !appliesToGateway;
  if (appliesToMesh) {
    http.forEach((route, i) => asList(asObj(route)['match']).forEach((match, j) => {
      for (const key of ['headers', 'withoutHeaders'] as const) {
        for (const name of Object.keys(asStringMap(asObj(match)[key]))) {
          if (isJwtClaimHeader(name)) out.error(at(at(at(at(`spec.http[${i}]`, 'match'), j), key), name), 'JWT claim based routing is only supported for gateways');
        }
      }
    }));
  }
  const sni = tls.some((route) => asList(asObj(route)['match']).some((m) => asList(asObj(m)['sniHosts']).length > 0));
  let allHostsValid = true;
  hosts.forEach((host, i) => {
    const problem = appliesToGateway ? checkGatewayBoundDomain(host, sni) : checkWildcardDomain(host);
    if (problem) {
      if (!isIpAddress(host)) {
        out.error(`spec.hosts[${i}]`, problem, host);
        allHostsValid = false;
      }
    } else if (appliesToMesh && host === '*') {
      out.error(`spec.hosts[${i}]`, 'wildcard host * is not allowed for virtual services bound to the mesh gateway');
      allHostsValid = false;
    }
  });
  if (allHostsValid) {
    for (let i = 0; i < hosts.length; i += 1) {
      for (let j = i + 1; j < hosts.length; j += 1) {
        if (hostsOverlap(hosts[i]!, hosts[j]!)) out.error(`spec.hosts[${j}]`, `duplicate hosts in virtual service: ${hosts[i]} & ${hosts[j]}`);
      }
    }
  }
  if (http.length === 0 && tcp.length === 0 && tls.length === 0) out.error('spec', 'http, tcp or tls must be provided in virtual service');

  http.forEach((route, i) => {
    if (!isRecord(route)) {
      out.error(`spec.http[${i}]`, 'http route may not be null');
      return;
    }
    const kind: RouteKind = isDelegate ? 'delegate' : route['delegate'] != null ? 'root' : 'independent';
    checkHttpRoute(route, kind, `spec.http[${i}]`, out);
  });
  tls.forEach((route, i) => {
    if (!isRecord(route)) return;
    const path = `spec.tls[${i}]`;
    const matches = asList(route['match']);
    if (matches.length === 0) out.error(path, 'TLS route must have at least one match condition');
    matches.forEach((match, j) => checkTlsMatch(match, hosts, appliesToGateway, at(at(path, 'match'), j), out));
    if (asList(route['route']).length === 0) out.error(at(path, 'route'), 'TLS route is required');
    checkWeightedDestinations(route['route'], at(path, 'route'), out, false);
  });
  tcp.forEach((route, i) => {
    if (!isRecord(route)) return;
    const path = `spec.tcp[${i}]`;
    asList(route['match']).forEach((match, j) => checkL4Match(match, at(at(path, 'match'), j), out));
    if (asList(route['route']).length === 0) out.error(at(path, 'route'), 'TCP route is required');
    checkWeightedDestinations(route['route'], at(path, 'route'), out, false);
  });
  checkExportTo(asList(spec['exportTo']), namespace, false, 'spec.exportTo', out);
  warnUnreachableRules(http, 'spec.http', out, true);
  warnUnreachableRules(tls, 'spec.tls', out);
  warnUnreachableRules(tcp, 'spec.tcp', out);
}

