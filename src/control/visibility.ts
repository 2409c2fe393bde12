// Which configuration a namespace sees, by Istio's rules: exportTo (`.`, `*`, `~`, namespace names, the mesh's
// defaults when absent) and, where two visible objects claim the same host, the one in the namespace looking wins,
// else the oldest (creation time, then namespace/name), as Istio's sidecar scope picks.
import type { ServiceEntry, VirtualService } from '../mesh/resources.ts';
import type { ControlMesh } from './mesh-defaults.ts';
import { registryEntryFor, serviceHostnames, type RegistryService } from './service-registry.ts';

/** Whether an object of namespace `owner` with these exportTo entries is visible from namespace `viewer`. */
export function isVisible(exportTo: readonly string[] | undefined, defaults: readonly string[], owner: string, viewer: string): boolean {
  const entries = exportTo === undefined || exportTo.length === 0 ? defaults : exportTo;
  for (const entry of entries) {
    if (entry === '*') return true;
    if (entry === '~') continue;
    if ((entry === '.' ? owner : entry) === viewer) return true;
  }
  return false;
}

export interface ClusterConfig {
  control: ControlMesh;
  serviceEntries: ServiceEntry[];
  virtualServices: VirtualService[];
  services: RegistryService[];
  clusterDomain: string;
}

/** What one namespace's snapshot is compiled from. */
export interface NamespaceInput {
  mesh: ControlMesh['mesh'];
  serviceEntries: ServiceEntry[];
  virtualServices: VirtualService[];
}

interface Claimant {
  namespace: string;
  name: string;
  created: string;
  hosts: string[];
}

/**
 * A short host (no dot, not a wildcard) in an Istio object means a Service of the object's namespace, as Istio
 * resolves it; the viewer sees it under the names its own search path would use.
 */
function expandHosts(hosts: string[], owner: string, viewer: string, clusterDomain: string): string[] {
  // The common case (every host a FQDN or wildcard) allocates nothing: this runs per object per namespace.
  if (hosts.every((h) => h.includes('.') || h === '*')) return hosts;
  const out: string[] = [];
  for (const host of hosts) {
    if (host.includes('.') || host === '*') out.push(host);
    else out.push(...serviceHostnames(host, owner, clusterDomain, viewer));
  }
  return [...new Set(out)];
}

/**
 * Per object, the forms namespaces see it in (with its claim on hosts), which depend on the namespace looking only
 * through short names and a Service's hosts: the viewer is either the object's own namespace or another one, so two
 * forms, each built once and then the same object in every view. The compiler caches its work per object
 * (src/snapshot/incremental.ts): a form built anew for every namespace would be compiled anew for every namespace.
 */
const viewedForms = new WeakMap<object, { clusterDomain: string; own?: unknown; other?: unknown }>();

function viewedForm<T>(object: object, clusterDomain: string, own: boolean, build: () => T): T {
  let forms = viewedForms.get(object);
  if (forms?.clusterDomain !== clusterDomain) viewedForms.set(object, (forms = { clusterDomain }));
  const key = own ? 'own' : 'other';
  return (forms[key] ??= build()) as T;
}

/** A destination's short host is the FQDN of a Service in the route's namespace. */
function fqdnDestination(host: string, owner: string, clusterDomain: string): string {
  return host.includes('.') || host.includes('*') ? host : `${host}.${owner}.svc.${clusterDomain}`;
}

const resolvedCache = new WeakMap<VirtualService, { clusterDomain: string; resolved: VirtualService }>();

/** Destinations do not depend on the namespace looking: resolved once per object, not once per namespace. */
function withDestinationsResolved(vs: VirtualService, owner: string, clusterDomain: string): VirtualService {
  const cached = resolvedCache.get(vs);
  if (cached?.clusterDomain === clusterDomain) return cached.resolved;
  const resolved = resolveDestinations(vs, owner, clusterDomain);
  resolvedCache.set(vs, { clusterDomain, resolved });
  return resolved;
}

function resolveDestinations(vs: VirtualService, owner: string, clusterDomain: string): VirtualService {
  const spec = structuredClone(vs.spec);
  const resolve = (d: { destination?: { host?: unknown } } | undefined): void => {
    if (d?.destination && typeof d.destination.host === 'string') d.destination.host = fqdnDestination(d.destination.host, owner, clusterDomain);
  };
  for (const section of [spec.http, spec.tls, spec.tcp]) {
    for (const route of section ?? []) for (const d of (route as { route?: Array<{ destination?: { host?: unknown } }> }).route ?? []) resolve(d);
  }
  for (const route of spec.http ?? []) {
    if (route.mirror && typeof route.mirror.host === 'string') route.mirror.host = fqdnDestination(route.mirror.host, owner, clusterDomain);
    for (const m of route.mirrors ?? []) resolve(m);
  }
  return { ...vs, spec };
}

/**
 * For every host claimed by more than one object: the viewer's own namespace first, then the oldest. Returns, per
 * claimant index, the hosts it keeps (an object left with none is dropped by the caller).
 */
export function resolveHostClaims(claimants: readonly Claimant[], viewer: string): string[][] {
  const winner = new Map<string, number>();
  const better = (a: Claimant, b: Claimant): boolean => {
    const aLocal = a.namespace === viewer;
    const bLocal = b.namespace === viewer;
    if (aLocal !== bLocal) return aLocal;
    if (a.created !== b.created) return a.created < b.created;
    return `${a.namespace}/${a.name}` < `${b.namespace}/${b.name}`;
  };
  claimants.forEach((c, i) => {
    for (const host of c.hosts) {
      const current = winner.get(host);
      if (current === undefined || better(c, claimants[current] as Claimant)) winner.set(host, i);
    }
  });
  // An object that keeps every host keeps its own list (the caller then keeps the object as it is).
  return claimants.map((c, i) => (c.hosts.every((h) => winner.get(h) === i) ? c.hosts : c.hosts.filter((h) => winner.get(h) === i)));
}

const created = (metadata: Record<string, unknown>): string => {
  const value = metadata['creationTimestamp'];
  // Objects without a creation time (files, tests) sort last among equals, stable by name.
  return typeof value === 'string' ? value : value instanceof Date ? value.toISOString() : '~';
};

/** The ServiceEntries (Kubernetes Services included), VirtualServices and mesh config namespace `viewer` sees. */
export function namespaceView(config: ClusterConfig, viewer: string): NamespaceInput {
  const { control, clusterDomain } = config;
  const entries: Array<{ entry: ServiceEntry; claim: Claimant }> = [];
  for (const se of config.serviceEntries) {
    const owner = se.metadata.namespace ?? 'default';
    if (!isVisible(se.spec.exportTo, control.defaultServiceExportTo, owner, viewer)) continue;
    entries.push(viewedForm(se, clusterDomain, owner === viewer, () => {
      const expanded = expandHosts(se.spec.hosts, owner, viewer, clusterDomain);
      const entry = expanded === se.spec.hosts ? se : { ...se, spec: { ...se.spec, hosts: expanded } };
      return { entry, claim: { namespace: owner, name: `se/${se.metadata.name ?? ''}`, created: created(se.metadata), hosts: expanded } };
    }));
  }
  for (const service of config.services) {
    if (!isVisible(service.exportTo, control.defaultServiceExportTo, service.namespace, viewer)) continue;
    entries.push(viewedForm(service, clusterDomain, service.namespace === viewer, () => {
      const entry = registryEntryFor(service, clusterDomain, viewer);
      return { entry, claim: { namespace: service.namespace, name: `svc/${service.name}`, created: service.creationTimestamp ?? '~', hosts: entry.spec.hosts } };
    }));
  }
  const serviceEntries = keepClaimed(entries, viewer, (entry, hosts) => ({ ...entry, spec: { ...entry.spec, hosts } }));

  const routes: Array<{ entry: VirtualService; claim: Claimant }> = [];
  for (const vs of config.virtualServices) {
    const owner = vs.metadata.namespace ?? 'default';
    if (!isVisible(vs.spec.exportTo, control.defaultVirtualServiceExportTo, owner, viewer)) continue;
    // A VirtualService bound only to gateways does not apply to sidecars (`mesh` is the sidecars' name).
    const gateways = vs.spec.gateways ?? [];
    if (gateways.length > 0 && !gateways.includes('mesh')) continue;
    routes.push(viewedForm(vs, clusterDomain, owner === viewer, () => {
      const expanded = vs.spec.hosts === undefined ? [] : expandHosts(vs.spec.hosts, owner, viewer, clusterDomain);
      const resolved = withDestinationsResolved(vs, owner, clusterDomain);
      const entry = expanded === vs.spec.hosts ? resolved : { ...resolved, spec: { ...resolved.spec, hosts: expanded } };
      return { entry, claim: { namespace: owner, name: vs.metadata.name ?? '', created: created(vs.metadata), hosts: expanded } };
    }));
  }
  const virtualServices = keepClaimed(routes, viewer, (entry, hosts) => ({ ...entry, spec: { ...entry.spec, hosts } }));
  return { mesh: control.mesh, serviceEntries, virtualServices };
}

function keepClaimed<T>(items: Array<{ entry: T; claim: Claimant }>, viewer: string, withHosts: (entry: T, hosts: string[]) => T): T[] {
  const kept = resolveHostClaims(items.map((i) => i.claim), viewer);
  const out: T[] = [];
  items.forEach((item, i) => {
    const hosts = kept[i] as string[];
    if (hosts.length === 0) return;
    out.push(hosts.length === item.claim.hosts.length ? item.entry : withHosts(item.entry, hosts));
  });
  return out;
}
