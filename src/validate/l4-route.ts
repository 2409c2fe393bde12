import { asList, asNumber, asStringMap, asText, isRecord } from './access.ts';
import { at, type Collector } from './field-errors.ts';
import { checkGatewayNames } from './gateways.ts';
import { hostSubsetOf } from './hosts.ts';
import { checkGatewayBoundDomain, checkIpOrCidr, checkLabelMap, checkPort, checkWildcardDomain, isIpAddress } from './names.ts';

// TLS and TCP route matches: subnets, ports, source labels, gateways, and for TLS the SNI hosts.

export function checkL4Match(match: unknown, path: string, out: Collector): void {
  if (!isRecord(match)) {
    out.error(path, 'match may not be null');
    return;
  }
  asList(match['destinationSubnets']).forEach((subnet, i) => {
    const problem = checkIpOrCidr(asText(subnet));
    if (problem) out.error(at(at(path, 'destinationSubnets'), i), problem, subnet);
  });
  const port = asNumber(match['port']);
  if (port !== 0 && checkPort(port)) out.error(at(path, 'port'), checkPort(port)!, port);
  for (const problem of checkLabelMap(asStringMap(match['sourceLabels']))) out.error(at(path, 'sourceLabels'), problem);
  checkGatewayNames(asList(match['gateways']), at(path, 'gateways'), out);
}

/** Every SNI host must fall within one of the VirtualService's hosts; an IP is allowed with a warning. */
export function checkTlsMatch(match: unknown, hosts: string[], gatewayBound: boolean, path: string, out: Collector): void {
  if (!isRecord(match)) {
    out.error(path, 'TLS match may not be null');
    return;
  }
  const sniHosts = asList(match['sniHosts']).map(asText);
  if (sniHosts.length === 0) out.error(at(path, 'sniHosts'), 'TLS match must have at least one SNI host');
  sniHosts.forEach((sni, i) => {
    const sniPath = at(at(path, 'sniHosts'), i);
    const problem = gatewayBound ? checkGatewayBoundDomain(sni, true) : checkWildcardDomain(sni);
    if (problem) {
      if (isIpAddress(sni)) out.warn(sniPath, 'using an IP address goes against the SNI spec and most clients do not support this', sni);
      else out.error(sniPath, problem, sni);
      return;
    }
    if (!hosts.some((host) => hostSubsetOf(sni, host))) {
      out.error(sniPath, `SNI host is not a compatible subset of any of the virtual service hosts: [${hosts.join(', ')}]`, sni);
    }
  });
  checkL4Match({ ...match, sniHosts: undefined }, path, out);
}
