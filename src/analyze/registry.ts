import { hostSubsetOf } from '../validate/hosts.ts';
import { parseProtocol } from '../validate/names.ts';
import { asList, asNumber, asObj, asText } from '../validate/access.ts';

// The service registry the analyzer can see: every (host, port, protocol) the ServiceEntries in the input declare,
// plus the Kubernetes Services in it (their cluster-local names).

export interface RegistryPort {
  host: string;
  number: number;
  /** Istio's protocol name; undefined when unset (sniffed). */
  protocol: string | undefined;
  owner: string;
  origin: string;
}

export interface Registry {
  ports: RegistryPort[];
  /** Hosts declared by ServiceEntries (even without ports). */
  hosts: Array<{ host: string; owner: string }>;
  serviceHosts: Set<string>;
}

export function emptyRegistry(): Registry {
  return { ports: [], hosts: [], serviceHosts: new Set() };
}

export function addServiceEntry(registry: Registry, spec: unknown, owner: string, origin: string): void {
  const s = asObj(spec);
  for (const host of asList(s['hosts']).map(asText)) {
    registry.hosts.push({ host, owner });
    for (const port of asList(s['ports'])) {
      const p = asObj(port);
      registry.ports.push({ host, number: asNumber(p['number']), protocol: parseProtocol(asText(p['protocol'])), owner, origin });
    }
  }
}

export function addKubernetesService(registry: Registry, name: string, namespace: string): void {
  for (const host of [name, `${name}.${namespace}`, `${name}.${namespace}.svc`, `${name}.${namespace}.svc.cluster.local`]) registry.serviceHosts.add(host);
}

/** Names the cluster resolves itself (short names, `.svc`, `.cluster.local`): not egress, not for ServiceEntries. */
export function isClusterLocal(host: string): boolean {
  return !host.includes('.') || host.endsWith('.svc') || host.endsWith('.cluster.local') || host.endsWith('.svc.cluster.local');
}

/** True when a ServiceEntry or a Service in the input covers the host. */
export function isKnownHost(registry: Registry, host: string): boolean {
  return registry.serviceHosts.has(host) || registry.hosts.some((entry) => hostSubsetOf(host, entry.host));
}

/** The ServiceEntry ports whose host covers `host`. */
export function portsServing(registry: Registry, host: string): RegistryPort[] {
  return registry.ports.filter((port) => hostSubsetOf(host, port.host));
}
