import { isIP } from 'node:net';
import { parseCidr } from '../ranges/cidr.ts';

// Names, hosts, addresses and ports as Istio checks them (DNS-1123 labels, wildcard domains, IPs, label maps).

const DNS1123_LABEL = /^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
/** A leading `*`, `*-` or a plain label: `*`, `*foo`, `*-foo`, `foo`. */
const WILDCARD_LABEL = /^(?:\*|(?:\*|\*-)?[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)$/;
const LABEL_MAX = 63;

export function isDns1123Label(value: string): boolean {
  return value.length <= LABEL_MAX && DNS1123_LABEL.test(value);
}

function isWildcardLabel(value: string): boolean {
  return value.length <= LABEL_MAX && WILDCARD_LABEL.test(value);
}

function preconditions(name: string): string | undefined {
  if (name.length > 255) return 'domain name too long (max 255)';
  if (name.length === 0) return 'empty domain name not allowed';
  return undefined;
}

function checkLabels(domain: string): string | undefined {
  const parts = domain.split('.');
  const top = parts[parts.length - 1]!;
  if (/^[+-]?\d+$/.test(top)) return `domain name invalid (top level domain "${top}" cannot be all-numeric)`;
  for (let i = 0; i < parts.length; i += 1) {
    // A trailing dot (`istio.io.`) is an unambiguous absolute name.
    if (i === parts.length - 1 && parts[i] === '') return undefined;
    if (!isDns1123Label(parts[i]!)) return `domain name invalid (label "${parts[i]}" invalid)`;
  }
  return undefined;
}

/** A fully qualified (or short) DNS name, no wildcard. */
export function checkFqdn(name: string): string | undefined {
  return preconditions(name) ?? checkLabels(name);
}

/** A DNS name whose first label may carry a wildcard (`*`, `*.example.com`, and, as Istio allows, `*foo.com`). */
export function checkWildcardDomain(name: string): string | undefined {
  const pre = preconditions(name);
  if (pre) return pre;
  const dot = name.indexOf('.');
  const first = dot < 0 ? name : name.slice(0, dot);
  if (!isWildcardLabel(first)) return `domain name invalid (label "${first}" invalid)`;
  return dot < 0 ? undefined : checkLabels(name.slice(dot + 1));
}

const GENERATED_SNI_FORMAT = 'outbound_.<port>_._.<hostname>';

/** Istio's SNI for AUTO_PASSTHROUGH gateways, `outbound_.<port>_._.<hostname>`: split on `_`, a port with a digit, a host with a letter. */
function checkGeneratedSni(name: string): string | undefined {
  const parts = name.split('_');
  if (parts.length < 4) return `domain name invalid, should follow the ${GENERATED_SNI_FORMAT} format`;
  const trimDots = (text: string): string => text.replace(/^\.+|\.+$/g, '');
  const port = trimDots(parts[1]!);
  const hostname = trimDots(parts[3]!);
  if (!/[0-9]/.test(port)) return `domain name invalid (label "${port}" invalid): should follow the ${GENERATED_SNI_FORMAT} format`;
  if (!/[a-zA-Z]/.test(hostname)) return `domain name invalid (label "${hostname}" invalid): should follow the ${GENERATED_SNI_FORMAT} format`;
  return undefined;
}

/**
 * A host of a VirtualService bound to gateways (not to the mesh): a wildcard domain as anywhere else (`*` included),
 * and when the service routes TLS by SNI, also the SNI Istio generates for AUTO_PASSTHROUGH.
 */
export function checkGatewayBoundDomain(name: string, sni: boolean): string | undefined {
  const pre = preconditions(name);
  if (pre) return pre;
  if (sni && name.startsWith('outbound_')) return checkGeneratedSni(name);
  return checkWildcardDomain(name);
}

/** A wildcard anywhere but as a whole leading label (`*foo.com`, `foo.*.com`). */
export function isPartialWildcard(host: string): boolean {
  return host.includes('*') && host !== '*' && !(host.startsWith('*.') && !host.slice(1).includes('*'));
}

export function isIpAddress(value: string): boolean {
  return isIP(value) !== 0;
}

/**
 * An IP or a CIDR block (Istio's ValidateIPSubnet, which parses with Go's netip: host bits are fine, a prefix length
 * with a leading zero such as `/08` is not).
 */
export function checkIpOrCidr(value: string): string | undefined {
  if (value.split('/').length === 2) return parseCidr(value) && !/\/0\d/.test(value) ? undefined : 'not a valid CIDR block';
  return isIpAddress(value) ? undefined : 'not a valid IP address';
}

export function checkPort(port: number): string | undefined {
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? undefined : 'port number must be in the range 1..65535';
}

const PROTOCOLS = new Map([
  ['tcp', 'TCP'], ['udp', 'UDP'], ['grpc', 'GRPC'], ['grpc-web', 'GRPC-Web'], ['http', 'HTTP'], ['http_proxy', 'HTTP_PROXY'],
  ['http2', 'HTTP2'], ['https', 'HTTPS'], ['tls', 'TLS'], ['mongo', 'Mongo'], ['redis', 'Redis'], ['mysql', 'MySQL'],
]);

/** Istio's protocol names, case-insensitive; undefined when unknown. */
export function parseProtocol(value: string): string | undefined {
  return PROTOCOLS.get(value.toLowerCase());
}

export function isHttpProtocol(protocol: string | undefined): boolean {
  return protocol === 'HTTP' || protocol === 'HTTP2' || protocol === 'HTTP_PROXY' || protocol === 'GRPC' || protocol === 'GRPC-Web';
}

export function isTlsProtocol(protocol: string | undefined): boolean {
  return protocol === 'HTTPS' || protocol === 'TLS';
}

export function isTcpProtocol(protocol: string | undefined): boolean {
  return protocol === 'TCP' || protocol === 'HTTPS' || protocol === 'TLS' || protocol === 'Mongo' || protocol === 'Redis' || protocol === 'MySQL';
}

const LABEL_KEY = /^((?:[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)*\/)?((?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/;
const LABEL_VALUE = /^(?:(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Kubernetes label rules for keys and values; one message per bad entry. */
export function checkLabelMap(labels: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(labels)) {
    const match = LABEL_KEY.exec(key);
    if (!match) problems.push(`invalid label key ${JSON.stringify(key)}`);
    else if (match[1] && match[1].length - 1 > 253) problems.push(`invalid label key ${JSON.stringify(key)} (DNS prefix is too long)`);
    else if (match[2]!.length > LABEL_MAX) problems.push(`invalid label key ${JSON.stringify(key)} (name is too long)`);
    if (typeof value !== 'string' || !LABEL_VALUE.test(value) || value.length > LABEL_MAX) problems.push(`invalid label value ${JSON.stringify(value)}`);
  }
  return problems;
}
