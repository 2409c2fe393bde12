import { asList, asNumber, asStringMap, asText, has, isRecord, type Obj } from './access.ts';
import { checkExportTo } from './export-to.ts';
import { at, type Collector } from './field-errors.ts';
import {
  checkFqdn, checkIpOrCidr, checkLabelMap, checkPort, checkWildcardDomain, isDns1123Label, isHttpProtocol, isIpAddress,
  isPartialWildcard, isTcpProtocol, isTlsProtocol, parseProtocol,
} from './names.ts';

// Istio's semantic rules for a ServiceEntry spec (after the schema layer passed). Partial wildcard hosts (`*foo.com`)
// are accepted with a warning, as Istio accepts them: only a whole leading label is a wildcard to the proxies.

function checkSelector(spec: Obj, out: Collector): void {
  if (!isRecord(spec['workloadSelector'])) return;
  const labels = asStringMap(spec['workloadSelector']['labels']);
  for (const [key, value] of Object.entries(labels)) {
    const path = at('spec.workloadSelector.labels', key);
    if (key === '') out.error(path, 'empty key is not supported in selector');
    if (key.includes('*') || asText(value).includes('*')) out.error(path, 'wildcard is not supported in selector', `${key}=${asText(value)}`);
  }
  if (Object.keys(labels).length === 0) out.warn('spec.workloadSelector', 'workload selector specified without labels: it will be applied to all services in the namespace');
}

function checkHosts(hosts: string[], out: Collector): void {
  if (hosts.length === 0) out.error('spec.hosts', 'service entry must have at least one host');
  hosts.forEach((host, i) => {
    const path = `spec.hosts[${i}]`;
    if (host === '*') {
      out.error(path, 'invalid host: a ServiceEntry cannot claim every host', host);
      return;
    }
    const problem = checkWildcardDomain(host);
    if (problem) out.error(path, problem, host);
    else if (isPartialWildcard(host)) out.warn(path, 'partial wildcard not supported: only a whole leading label ("*.example.com") is a wildcard, so this host may match nothing', host);
  });
}

interface PortInfo { names: Set<string>; protocols: Array<string | undefined> }

function checkPorts(spec: Obj, resolution: string, out: Collector): PortInfo {
  const names = new Set<string>();
  const numbers = new Set<number>();
  const protocols: Array<string | undefined> = [];
  const hasAddresses = asList(spec['addresses']).length > 0;
  asList(spec['ports']).forEach((port, i) => {
    const path = `spec.ports[${i}]`;
    if (!isRecord(port)) {
      out.error(path, 'service entry port may not be null');
      return;
    }
    const name = asText(port['name']);
    const number = asNumber(port['number']);
    const protocol = asText(port['protocol']);
    if (names.has(name)) out.error(at(path, 'name'), 'service entry port name already defined', name);
    if (numbers.has(number)) out.error(at(path, 'number'), 'service entry port already defined', number);
    names.add(name);
    numbers.add(number);
    if (asNumber(port['targetPort']) !== 0) {
      const problem = checkPort(asNumber(port['targetPort']));
      if (problem) out.error(at(path, 'targetPort'), problem, port['targetPort']);
      if (resolution === 'NONE') out.warn(at(path, 'targetPort'), 'targetPort has no effect when resolution mode is NONE');
    }
    if (!hasAddresses && resolution !== 'DYNAMIC_DNS' && (protocol === '' || protocol === 'TCP')) {
      out.warn(path, 'addresses are required for ports serving TCP (or unset) protocol when ISTIO_META_DNS_AUTO_ALLOCATE is not set on a proxy');
    }
    if (!isDns1123Label(name)) out.error(at(path, 'name'), 'invalid port name: must be a DNS-1123 label', name);
    if (protocol !== '' && !parseProtocol(protocol)) {
      out.error(at(path, 'protocol'), 'unsupported protocol (HTTP, HTTPS, HTTP2, GRPC, GRPC-Web, TLS, TCP, UDP, MONGO, REDIS, MYSQL)', protocol);
    }
    const problem = checkPort(number);
    if (problem) out.error(at(path, 'number'), problem, number);
    protocols.push(parseProtocol(protocol));
  });
  return { names, protocols };
}

function checkEndpointPortsAndLabels(endpoint: Obj, servicePorts: Set<string>, path: string, out: Collector): void {
  for (const [name, port] of Object.entries(asStringMap(endpoint['ports']))) {
    const portPath = at(at(path, 'ports'), name);
    if (!servicePorts.has(name)) out.error(portPath, 'endpoint port is not defined by the service entry', name);
    if (!isDns1123Label(name)) out.error(portPath, 'invalid port name: must be a DNS-1123 label', name);
    const problem = checkPort(asNumber(port));
    if (problem) out.error(portPath, problem, port);
  }
  for (const problem of checkLabelMap(asStringMap(endpoint['labels']))) out.error(at(path, 'labels'), problem);
}

function checkUnixPath(address: string): string | undefined {
  if (address === '') return 'unix address must not be empty';
  if (address.startsWith('@')) return undefined; // abstract socket
  return address.startsWith('/') && !address.endsWith('/') ? undefined : 'not an absolute path to a file';
}

function checkStaticEndpoint(endpoint: Obj, servicePorts: Set<string>, path: string, out: Collector): void {
  const address = asText(endpoint['address']);
  if (address === '') {
    if (asText(endpoint['network']) === '') {
      out.error(at(path, 'address'), 'address is required');
      return;
    }
    out.warn(at(path, 'address'), `address is unset with network ${JSON.stringify(endpoint['network'])}`);
  }
  if (address.startsWith('unix://')) {
    const problem = checkUnixPath(address.slice('unix://'.length));
    if (problem) out.error(at(path, 'address'), problem, address);
    if (Object.keys(asStringMap(endpoint['ports'])).length > 0) out.error(at(path, 'ports'), 'a unix endpoint must not include ports');
    if (servicePorts.size !== 1) out.error(path, 'exactly 1 service port required for unix endpoints');
  } else if (address !== '' && !isIpAddress(address)) {
    out.error(at(path, 'address'), 'endpoint address is not a valid IP address (resolution STATIC)', address);
  }
  checkEndpointPortsAndLabels(endpoint, servicePorts, path, out);
}

/**
 * DYNAMIC_DNS: the proxy resolves the name each request asks for (HTTP Host, TLS SNI) when it is asked, so wildcard
 * hosts are its purpose (the FQDN rule of DNS does not apply), and nothing may pin the answer: no addresses, no
 * endpoints, no workload selector. Ports that carry no name (plain TCP) cannot be resolved this way.
 */
function checkDynamicDns(spec: Obj, ports: PortInfo, out: Collector): void {
  if (asList(spec['addresses']).length > 0) out.error('spec.addresses', 'addresses are not allowed for resolution mode DYNAMIC_DNS');
  if (asList(spec['endpoints']).length > 0) out.error('spec.endpoints', 'no endpoints should be provided for resolution mode DYNAMIC_DNS');
  if (has(spec, 'workloadSelector')) out.error('spec.workloadSelector', 'workloadSelector is not allowed for resolution mode DYNAMIC_DNS');
  ports.protocols.forEach((protocol, i) => {
    if (!isHttpProtocol(protocol) && !isTlsProtocol(protocol)) {
      out.warn(`spec.ports[${i}].protocol`, 'resolution DYNAMIC_DNS resolves the HTTP Host or the TLS SNI: a port of another protocol is not resolved', protocol ?? '');
    }
  });
}

function checkResolution(spec: Obj, resolution: string, hosts: string[], ports: PortInfo, out: Collector): void {
  const endpoints = asList(spec['endpoints']);
  const hasSelector = has(spec, 'workloadSelector');
  const eachEndpoint = (check: (endpoint: Obj, path: string) => void): void => endpoints.forEach((endpoint, i) => {
    if (!isRecord(endpoint)) out.error(`spec.endpoints[${i}]`, 'endpoint cannot be null');
    else check(endpoint, `spec.endpoints[${i}]`);
  });
  switch (resolution) {
    case 'NONE':
      if (endpoints.length > 0) out.error('spec.endpoints', 'no endpoints should be provided for resolution type NONE');
      if (hasSelector) out.warn('spec.workloadSelector', 'workloadSelector should not be set when resolution mode is NONE');
      return;
    case 'STATIC':
      // Neither endpoints nor a selector is accepted silently, as Istio's current webhook does (older releases refused it).
      eachEndpoint((endpoint, path) => checkStaticEndpoint(endpoint, ports.names, path, out));
      return;
    case 'DNS':
    case 'DNS_ROUND_ROBIN':
      if (endpoints.length === 0) {
        hosts.forEach((host, i) => {
          if (checkFqdn(host)) out.error(`spec.hosts[${i}]`, `hosts must be FQDN if no endpoints are provided for resolution mode ${resolution}`, host);
        });
      }
      if (resolution === 'DNS_ROUND_ROBIN' && endpoints.length > 1) out.error('spec.endpoints', 'there must only be 0 or 1 endpoint for resolution mode DNS_ROUND_ROBIN');
      eachEndpoint((endpoint, path) => {
        const address = asText(endpoint['address']);
        if (!isIpAddress(address) && checkFqdn(address)) out.error(at(path, 'address'), 'endpoint address is not a valid FQDN or an IP address', address);
        checkEndpointPortsAndLabels(endpoint, ports.names, path, out);
      });
      if (hasSelector) out.warn('spec.workloadSelector', `workloadSelector should not be set when resolution mode is ${resolution}`);
      if (asList(spec['addresses']).length > 0 && hosts.length > 1 && ports.protocols.some(isTcpProtocol)) {
        out.warn('spec.hosts', 'service entry can not have more than one host specified simultaneously with address and tcp port');
      }
      return;
    case 'DYNAMIC_DNS':
      checkDynamicDns(spec, ports, out);
      return;
  }
}

export function validateServiceEntrySpec(spec: Obj, namespace: string, out: Collector): void {
  const hosts = asList(spec['hosts']).map(asText);
  const resolution = asText(spec['resolution']) || 'NONE';
  checkSelector(spec, out);
  if (has(spec, 'workloadSelector') && asList(spec['endpoints']).length > 0) {
    out.error('spec', 'only one of workloadSelector or endpoints is allowed in a service entry');
  }
  checkHosts(hosts, out);
  let cidr = false;
  asList(spec['addresses']).forEach((address, i) => {
    const text = asText(address);
    cidr ||= text.includes('/');
    const problem = checkIpOrCidr(text);
    if (problem) out.error(`spec.addresses[${i}]`, problem, text);
  });
  if (cidr && resolution !== 'NONE' && resolution !== 'STATIC') out.error('spec.addresses', 'CIDR addresses are allowed only for NONE/STATIC resolution types');
  const ports = checkPorts(spec, resolution, out);
  checkResolution(spec, resolution, hosts, ports, out);
  // Plain TCP carries no name to tell several hosts apart (HTTP has Host, TLS has SNI); NONE ignores hosts anyway.
  if (resolution !== 'NONE' && hosts.length > 1 && ports.protocols.some((p) => !isHttpProtocol(p) && !isTlsProtocol(p))) {
    out.error('spec.ports', 'multiple hosts provided with non-HTTP, non-TLS ports');
  }
  checkExportTo(asList(spec['exportTo']), namespace, true, 'spec.exportTo', out);
}
