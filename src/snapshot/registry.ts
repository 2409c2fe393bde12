import { wildcardShape } from '../mesh/host-match.ts';
import type { Port, ServiceEntry, WorkloadEntry } from '../mesh/resources.ts';
import { canonicalCidr, cidrPrefix, parseIp } from './address.ts';
import { HostTable } from './host-index.ts';
import { identify } from './identity.ts';
import type { AddressRule, Cluster, Endpoint, Listener, Problem, Protocol, Resolution, ServiceHostIndex, SourceRef, Upstream } from './types.ts';

// ServiceEntries → clusters, per-port host and address indexes, and the host → clusters index route destinations
// resolve through. A malformed part is reported in `problems` and left out; the rest of the object still applies
// only where that is safe (a bad address is dropped; a bad host, resolution or STATIC without endpoints drops the
// entry, since half of it would allow something else than what was written).

const PROTOCOLS = new Set<Protocol>(['HTTP', 'HTTPS', 'HTTP2', 'GRPC', 'TLS', 'TCP', 'MONGO', 'REDIS', 'MYSQL', 'UDP']);
const RESOLUTIONS = new Set<Resolution>(['NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN', 'DYNAMIC_DNS']);

type Kind = 'http' | 'tls' | 'tcp';

export interface CompiledRegistry {
  listeners: Listener[];
  hosts: ServiceHostIndex;
  clusters: Record<string, Cluster>;
}

export function clusterName(port: number, host: string): string {
  return `outbound|${port}||${host}`;
}

/** Lower case, no trailing dot: the form every snapshot host is in. */
export function normalizeName(host: string): string {
  const lower = host.trim().toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** A name, `*` or `*.suffix`: the hosts a snapshot can hold (docs/snapshot.schema.json, `Host`). */
export function isValidHostPattern(host: string): boolean {
  if (host === '') return false;
  const shape = wildcardShape(host);
  return shape === 'none' || shape === 'all' || shape === 'labels';
}

/**
 * Why a partial wildcard host (`*foo.com`), which admission accepts with a warning, is not in the snapshot: its
 * format has no way to say it (a schema change, for the data plane to match it), so it is left out and said so.
 */
function partialWildcardMessage(raw: unknown): string {
  return `${JSON.stringify(raw)} is a partial wildcard: Istio matches it as a suffix of the HTTP Host, but snapshot v1 `
    + 'holds only names, "*" and "*.suffix", so this host is left out (the entry\'s other hosts apply)';
}

/** The declared protocol, else the port name's prefix (`http-web`), else UNSPECIFIED (the proxy sniffs). */
function protocolOf(port: Port): Protocol {
  const declared = (typeof port.protocol === 'string' ? port.protocol : String(port.name ?? '').split('-')[0] ?? '').toUpperCase() as Protocol;
  return PROTOCOLS.has(declared) ? declared : 'UNSPECIFIED';
}

function kindsOf(protocol: Protocol): Kind[] {
  switch (protocol) {
    case 'HTTP': case 'HTTP2': case 'GRPC': return ['http'];
    case 'HTTPS': case 'TLS': return ['tls'];
    case 'TCP': case 'MONGO': case 'REDIS': case 'MYSQL': return ['tcp'];
    case 'UDP': return [];
    case 'UNSPECIFIED': return ['http', 'tls', 'tcp'];
  }
}

function isPort(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;
}

interface EntryParts {
  ref: (path: string) => SourceRef;
  hosts: string[];
  addresses: string[];
  resolution: Resolution;
  location: Cluster['location'];
  endpoints: WorkloadEntry[];
}

function entryParts(se: ServiceEntry, problems: Problem[]): EntryParts | undefined {
  const { namespace, name, spec: rawSpec } = identify(se);
  const ref = (path: string): SourceRef => ({ kind: 'ServiceEntry', namespace, name, path });
  const refuse = (path: string, message: string): undefined => {
    problems.push({ source: ref(path), message });
    return undefined;
  };
  if (!rawSpec) return refuse('spec', 'must be a mapping');
  const spec = rawSpec as Partial<ServiceEntry['spec']>;
  if (!Array.isArray(spec.hosts) || spec.hosts.length === 0) return refuse('spec.hosts', 'at least one host is required');
  const hosts: string[] = [];
  for (const [i, raw] of spec.hosts.entries()) {
    const host = typeof raw === 'string' ? normalizeName(raw) : '';
    if (host !== '' && wildcardShape(host) === 'partial') {
      problems.push({ source: ref(`spec.hosts[${i}]`), message: partialWildcardMessage(raw) });
      continue;
    }
    if (!isValidHostPattern(host)) return refuse(`spec.hosts[${i}]`, `${JSON.stringify(raw)} is not a host name or a * / *.suffix wildcard`);
    hosts.push(host);
  }
  if (hosts.length === 0) return undefined; // every host was a partial wildcard, each reported above
  const resolution = (spec.resolution ?? 'NONE') as Resolution;
  if (!RESOLUTIONS.has(resolution)) return refuse('spec.resolution', `${JSON.stringify(resolution)} is not one of ${[...RESOLUTIONS].join(', ')}`);
  const endpoints = Array.isArray(spec.endpoints) ? spec.endpoints.filter((e): e is WorkloadEntry => typeof e === 'object' && e !== null) : [];
  if (resolution === 'STATIC' && !endpoints.some((e) => typeof e.address === 'string' && e.address !== '')) return refuse('spec.endpoints', 'resolution STATIC needs endpoints with addresses');
  const addresses: string[] = [];
  for (const [i, text] of (Array.isArray(spec.addresses) ? spec.addresses : []).entries()) {
    const cidr = typeof text === 'string' ? canonicalCidr(text) : undefined;
    if (cidr) addresses.push(cidr);
    else problems.push({ source: ref(`spec.addresses[${i}]`), message: `${JSON.stringify(text)} is not an IP address or CIDR; this address is ignored` });
  }
  const location = spec.location === 'MESH_INTERNAL' ? 'MESH_INTERNAL' : 'MESH_EXTERNAL';
  return { ref, hosts, addresses, resolution, location, endpoints };
}

function endpointsFor(parts: EntryParts, port: Port): Endpoint[] {
  const list: Endpoint[] = [];
  for (const e of parts.endpoints) {
    if (typeof e.address !== 'string' || e.address === '') continue;
    const mapped = e.ports?.[port.name];
    const number = isPort(mapped) ? mapped : isPort(port.targetPort) ? port.targetPort : port.number;
    const endpoint: Endpoint = { address: e.address, port: number };
    if (typeof e.weight === 'number' && Number.isInteger(e.weight) && e.weight >= 0) endpoint.weight = e.weight;
    if (e.labels && typeof e.labels === 'object') endpoint.labels = Object.fromEntries(Object.entries(e.labels).filter((kv): kv is [string, string] => typeof kv[1] === 'string'));
    list.push(endpoint);
  }
  return list;
}

/** Where an allowed connection to this host and port goes, per the entry's resolution. */
function upstreamFor(parts: EntryParts, host: string, port: Port, endpoints: Endpoint[]): Upstream {
  const servicePort = isPort(port.targetPort) ? port.targetPort : port.number;
  const name = host.startsWith('*') ? null : host;
  switch (parts.resolution) {
    case 'STATIC':
      return { kind: 'static', endpoints: endpoints.map((e) => ({ address: e.address, port: e.port })) };
    case 'DNS':
    case 'DNS_ROUND_ROBIN': {
      const first = endpoints[0];
      return first ? { kind: 'dns', host: first.address, port: first.port } : { kind: 'dns', host: name, port: servicePort };
    }
    case 'DYNAMIC_DNS':
      return { kind: 'dns', host: name, port: servicePort };
    case 'NONE':
      return { kind: 'original' };
  }
}

interface ListenerBuild {
  http: HostTable<string>;
  tls: HostTable<string>;
  tcp: AddressRule[];
}

/**
 * What one ServiceEntry adds to a snapshot, worked out without looking at the other entries: its problems, and per
 * port its clusters, listener entries and address rules, in the order the compiler applies them. Pure in the entry,
 * so a control plane can compute it once per object and reuse it in every namespace that sees the object; which
 * of its clusters and hosts win is decided when entries are assembled (`assembleRegistry`), first come first served.
 */
export interface EntryContribution {
  problems: Problem[];
  ports: PortContribution[];
  /** Every cluster of the entry per host, for the host index route destinations resolve through. */
  hostClusters: Array<[string, string[]]>;
}

interface PortContribution {
  number: number;
  /** `[clusterName, cluster]`: each is the snapshot's unless an earlier entry owns the name. */
  clusters: Array<[string, Cluster]>;
  http: Array<[string, string]>;
  tls: Array<[string, string]>;
  tcp: AddressRule[];
}

export function entryContribution(se: ServiceEntry): EntryContribution {
  const problems: Problem[] = [];
  const parts = entryParts(se, problems);
  if (!parts) return { problems, ports: [], hostClusters: [] };
  const entryClusters = new Map<string, string[]>(parts.hosts.map((h) => [h, []]));
  const out: PortContribution[] = [];
  const ports = Array.isArray(se.spec.ports) ? se.spec.ports : [];
  for (const [j, port] of ports.entries()) {
    if (!port || !isPort(port.number)) {
      problems.push({ source: parts.ref(`spec.ports[${j}]`), message: 'number must be a port number (1-65535); this port is ignored' });
      continue;
    }
    const protocol = protocolOf(port);
    const endpoints = endpointsFor(parts, port);
    const contribution: PortContribution = { number: port.number, clusters: [], http: [], tls: [], tcp: [] };
    const named = new Set<string>();
    for (const host of parts.hosts) {
      const name = clusterName(port.number, host);
      entryClusters.get(host)!.push(name);
      if (named.has(name)) continue; // a host written twice: its first cluster stands
      named.add(name);
      contribution.clusters.push([name, {
        service: host, port: port.number, protocol, resolution: parts.resolution, location: parts.location,
        endpoints, upstream: upstreamFor(parts, host, port, endpoints), source: parts.ref(`spec.ports[${j}]`),
      }]);
    }
    const kinds = kindsOf(protocol);
    for (const kind of ['http', 'tls'] as const) {
      if (kinds.includes(kind)) for (const host of parts.hosts) contribution[kind].push([host, clusterName(port.number, host)]);
    }
    if (kinds.includes('tcp')) {
      // By address: the entry's addresses, and a STATIC entry's endpoint IPs. Named by its first exact host.
      const endpointIps = parts.resolution === 'STATIC' ? endpoints.flatMap((e) => (parseIp(e.address) ? [canonicalCidr(e.address)!] : [])) : [];
      const owner = parts.hosts.find((h) => !h.startsWith('*')) ?? parts.hosts[0]!;
      for (const cidr of new Set([...parts.addresses, ...endpointIps])) contribution.tcp.push({ cidr, cluster: clusterName(port.number, owner) });
    }
    out.push(contribution);
  }
  return { problems, ports: out, hostClusters: [...entryClusters] };
}

/** The registry of a list of entries before it is written out: the tables in the order the snapshot lists them. */
export interface RegistryTables {
  /** By port, ascending. */
  listeners: Array<{ port: number; http: HostTable<string>; tls: HostTable<string>; tcp: AddressRule[] }>;
  hosts: HostTable<string[]>;
  clusters: Map<string, Cluster>;
}

/**
 * Entries in precedence order → the registry's tables: the first entry to claim a cluster name or a listener host
 * keeps it. The contributions are only read (they may be shared between snapshots).
 */
export function assembleRegistry(contributions: readonly EntryContribution[], problems: Problem[]): RegistryTables {
  const clusters = new Map<string, Cluster>();
  const listeners = new Map<number, ListenerBuild>();
  const hosts = new HostTable<string[]>();
  for (const entry of contributions) {
    problems.push(...entry.problems);
    for (const port of entry.ports) {
      let listener = listeners.get(port.number);
      if (!listener) listeners.set(port.number, (listener = { http: new HostTable(), tls: new HostTable(), tcp: [] }));
      for (const [name, cluster] of port.clusters) if (!clusters.has(name)) clusters.set(name, cluster); // else an earlier object owns this host and port
      for (const [host, cluster] of port.http) listener.http.add(host, cluster);
      for (const [host, cluster] of port.tls) listener.tls.add(host, cluster);
      listener.tcp.push(...port.tcp);
    }
    // Several entries may declare one host on different ports: a route destination must find every port's cluster.
    for (const [host, names] of entry.hostClusters) {
      const known = hosts.get(host);
      if (known) known.push(...names.filter((n) => !known.includes(n)));
      else hosts.add(host, [...names]);
    }
  }
  return {
    listeners: [...listeners].sort(([a], [b]) => a - b).map(([port, l]) => ({
      port, http: l.http, tls: l.tls,
      // Most specific first (Envoy picks the longest matching prefix); Array.prototype.sort is stable.
      tcp: [...l.tcp].sort((a, b) => cidrPrefix(b.cidr) - cidrPrefix(a.cidr)),
    })),
    hosts,
    clusters,
  };
}

export function compileRegistry(entries: ServiceEntry[], problems: Problem[]): CompiledRegistry {
  const tables = assembleRegistry(entries.map(entryContribution), problems);
  return {
    listeners: tables.listeners.map((l) => ({
      port: l.port,
      http: l.http.toIndex((host, cluster) => ({ host, cluster })),
      tls: l.tls.toIndex((host, cluster) => ({ host, cluster })),
      tcp: l.tcp,
    })),
    hosts: tables.hosts.toIndex((host, list) => ({ host, clusters: list })),
    clusters: Object.fromEntries(tables.clusters),
  };
}
