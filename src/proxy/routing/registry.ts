import { BlockList, isIP } from 'node:net';
import { HostIndex } from '../../mesh/host-match.ts';
import type { Port, ServiceEntry, WorkloadEntry } from '../../mesh/resources.ts';
import { parseCidr } from '../../ranges/cidr.ts';
import { clusterName, type Allow, type TrafficKind, type UpstreamPlan } from './types.ts';

/** One ServiceEntry port, with the traffic kinds it carries (from `protocol`, else the port name's prefix). */
interface RegistryPort {
  entry: CompiledEntry;
  port: Port;
}

interface CompiledEntry {
  ref: string;
  hosts: string[];
  addresses: BlockList | undefined;
  resolution: string;
  endpoints: WorkloadEntry[];
}

/** ServiceEntries compiled into per-port indexes: HTTP by Host, TLS by SNI, TCP by destination address. */
export interface Registry {
  http: Map<number, HostIndex<RegistryPort>>;
  tls: Map<number, HostIndex<RegistryPort>>;
  tcp: Map<number, RegistryPort[]>;
  /** Every host on any port, for resolving a VirtualService destination. */
  byHost: HostIndex<RegistryPort[]>;
}

function kindsOf(port: Port): TrafficKind[] {
  const declared = (port.protocol ?? port.name.split('-')[0] ?? '').toUpperCase();
  if (declared === 'HTTP' || declared === 'HTTP2' || declared === 'GRPC') return ['http'];
  if (declared === 'HTTPS' || declared === 'TLS') return ['tls'];
  if (declared === 'TCP' || declared === 'MONGO' || declared === 'REDIS' || declared === 'MYSQL') return ['tcp'];
  return ['http', 'tls', 'tcp']; // unspecified: Istio sniffs, so does meshgate
}

function addressList(addresses: string[] | undefined): BlockList | undefined {
  if (!addresses || addresses.length === 0) return undefined;
  const list = new BlockList();
  for (const text of addresses) {
    // The project's one CIDR parser: an address that is neither an IP nor a CIDR (`10.0.0.0/99`) is skipped, as
    // BlockList would throw on it and take the whole routing table down with it.
    const cidr = parseCidr(text.includes('/') ? text : `${text}/${isIP(text) === 6 ? 128 : 32}`);
    if (!cidr) continue;
    list.addSubnet(cidr.address, cidr.prefix, cidr.family === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}

/** Visible to a proxy in `namespace` per exportTo (absent or `*`: everywhere; `.`: its own namespace). */
export function exportedTo(exportTo: string[] | undefined, owner: string, namespace: string | undefined): boolean {
  if (!exportTo || exportTo.length === 0 || exportTo.includes('*') || namespace === undefined) return true;
  return exportTo.includes(namespace) || (exportTo.includes('.') && owner === namespace);
}

export function compileRegistry(entries: ServiceEntry[], namespace: string | undefined): Registry {
  const registry: Registry = { http: new Map(), tls: new Map(), tcp: new Map(), byHost: new HostIndex() };
  for (const se of entries) {
    const owner = se.metadata.namespace ?? 'default';
    if (!exportedTo(se.spec.exportTo, owner, namespace)) continue;
    const entry: CompiledEntry = {
      ref: `ServiceEntry ${owner}/${se.metadata.name}`,
      hosts: se.spec.hosts.map((h) => h.toLowerCase()),
      addresses: addressList(se.spec.addresses),
      resolution: se.spec.resolution ?? 'NONE',
      endpoints: se.spec.endpoints ?? [],
    };
    const ports = (se.spec.ports ?? []).map((port) => ({ entry, port }));
    for (const host of entry.hosts) registry.byHost.add(host, ports);
    for (const rp of ports) {
      for (const kind of kindsOf(rp.port)) {
        if (kind === 'tcp') {
          if (entry.addresses || entry.resolution === 'STATIC') registry.tcp.set(rp.port.number, [...(registry.tcp.get(rp.port.number) ?? []), rp]);
          continue;
        }
        const byPort = registry[kind];
        const index = byPort.get(rp.port.number) ?? new HostIndex<RegistryPort>();
        for (const host of entry.hosts) index.add(host, rp);
        byPort.set(rp.port.number, index);
      }
    }
  }
  return registry;
}

/** The upstream for an allowed destination, per the entry's resolution. `name` is the name the client asked for. */
export function planFor(rp: RegistryPort, name: string | undefined): UpstreamPlan {
  const { entry, port } = rp;
  const endpointPort = (e: WorkloadEntry): number | undefined => e.ports?.[port.name] ?? port.targetPort ?? port.number;
  if (entry.resolution === 'STATIC') {
    return { kind: 'static', endpoints: entry.endpoints.flatMap((e) => (e.address ? [{ address: e.address, port: endpointPort(e) }] : [])) };
  }
  if (entry.resolution === 'DYNAMIC_DNS') {
    // The name asked for (Host or SNI), resolved when asked: what Istio's dynamic forward proxy connects to.
    const host = name ?? entry.hosts.find((h) => !h.startsWith('*'));
    if (host) return { kind: 'dns', host, port: port.targetPort ?? port.number };
  }
  if (entry.resolution === 'DNS' || entry.resolution === 'DNS_ROUND_ROBIN') {
    const endpoint = entry.endpoints.find((e) => e.address);
    if (endpoint?.address) return { kind: 'dns', host: endpoint.address, port: endpointPort(endpoint) };
    const host = name ?? entry.hosts.find((h) => !h.startsWith('*'));
    if (host) return { kind: 'dns', host, port: port.targetPort ?? port.number };
  }
  return { kind: 'original' };
}

function allowed(rp: RegistryPort, pattern: string, name: string | undefined, how: string): Allow {
  return {
    allowed: true,
    cluster: clusterName(rp.port.number, pattern),
    service: pattern,
    plan: planFor(rp, name),
    rule: `${rp.entry.ref} host ${pattern} port ${rp.port.number} (${rp.port.protocol ?? 'unspecified'})`,
    reason: `${how}; resolution ${rp.entry.resolution}`,
  };
}

/** HTTP on `port` with this Host (port already stripped). */
export function lookupHttp(registry: Registry, host: string, port: number): Allow | undefined {
  const hit = registry.http.get(port)?.find(host);
  return hit ? allowed(hit.value, hit.pattern, host, `Host ${host} matches ${hit.pattern} on port ${port}`) : undefined;
}

/** TLS on `port` with this SNI. */
export function lookupTls(registry: Registry, sni: string, port: number): Allow | undefined {
  const hit = registry.tls.get(port)?.find(sni);
  return hit ? allowed(hit.value, hit.pattern, sni, `SNI ${sni} matches ${hit.pattern} on port ${port}`) : undefined;
}

/** TCP to ip:port: the entry's addresses, or a STATIC entry's endpoint addresses. */
export function lookupTcp(registry: Registry, ip: string, port: number): Allow | undefined {
  const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
  for (const rp of registry.tcp.get(port) ?? []) {
    const inAddresses = rp.entry.addresses?.check(ip, family) ?? false;
    const isEndpoint = rp.entry.resolution === 'STATIC' && rp.entry.endpoints.some((e) => e.address === ip);
    if (inAddresses || isEndpoint) {
      const host = rp.entry.hosts[0] ?? ip;
      return allowed(rp, host, undefined, `destination ${ip}:${port} is ${inAddresses ? 'in the addresses' : 'an endpoint'} of ${host}`);
    }
  }
  return undefined;
}

/** A VirtualService destination: the registry entry for that host and port (the first port when none is given). */
export function lookupDestination(registry: Registry, host: string, port: number | undefined): Allow | undefined {
  const hit = registry.byHost.find(host.toLowerCase());
  if (!hit) return undefined;
  const rp = port === undefined ? hit.value[0] : hit.value.find((p) => p.port.number === port);
  return rp ? allowed(rp, hit.pattern, host.startsWith('*') ? undefined : host.toLowerCase(), `route destination ${host}`) : undefined;
}
