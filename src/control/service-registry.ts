// Kubernetes Services as registry entries, the way Istio's Kubernetes registry puts them there, expressed as
// ServiceEntry-shaped objects so the snapshot compiler has one input shape for every registry entry.
import { isRecord } from '../k8s/types.ts';
import type { Port, ServiceEntry } from '../mesh/resources.ts';

/** The annotation Istio reads a Service's visibility from (comma-separated exportTo entries). */
export const SERVICE_EXPORT_TO_ANNOTATION = 'networking.istio.io/exportTo';

/**
 * Protocols recognised in a port name (`http`, `http-web`) and in `appProtocol`, upper-cased as ServiceEntry
 * ports write them. Istio also knows `grpc-web`, a kind of HTTP for the proxy.
 */
const PROTOCOL_PREFIXES: ReadonlyMap<string, string> = new Map([
  ['http', 'HTTP'], ['http2', 'HTTP2'], ['grpc', 'GRPC'], ['grpc-web', 'HTTP'], ['tcp', 'TCP'], ['tls', 'TLS'],
  ['https', 'HTTPS'], ['mongo', 'MONGO'], ['redis', 'REDIS'], ['mysql', 'MYSQL'],
]);

/** appProtocol values Kubernetes standardised (KEP-3726) that name a protocol without Istio's words. */
const KUBERNETES_APP_PROTOCOLS: ReadonlyMap<string, string> = new Map([
  ['kubernetes.io/h2c', 'HTTP2'], ['kubernetes.io/ws', 'HTTP'], ['kubernetes.io/wss', 'HTTPS'],
]);

/**
 * The protocol of a Service port: `appProtocol` first, then the port name (`<protocol>` or `<protocol>-<suffix>`).
 * Undefined when neither names one: the proxy then detects the protocol from the first bytes, as Istio does.
 */
export function portProtocol(port: { name?: unknown; appProtocol?: unknown }): string | undefined {
  if (typeof port.appProtocol === 'string' && port.appProtocol !== '') {
    const app = port.appProtocol.toLowerCase();
    const known = KUBERNETES_APP_PROTOCOLS.get(app) ?? PROTOCOL_PREFIXES.get(app);
    if (known) return known;
  }
  if (typeof port.name !== 'string') return undefined;
  const name = port.name.toLowerCase();
  // The longest prefix wins: `grpc-web-x` is grpc-web, `http2-x` is http2.
  if (name.startsWith('grpc-web-') || name === 'grpc-web') return 'HTTP';
  const prefix = name.split('-', 1)[0] ?? '';
  return PROTOCOL_PREFIXES.get(prefix);
}

/** The names a pod's resolv.conf search path (`<ns>.svc.<domain> svc.<domain> <domain>`) turns into the Service. */
export function serviceHostnames(name: string, namespace: string, clusterDomain: string, viewerNamespace: string): string[] {
  const fqdn = `${name}.${namespace}.svc.${clusterDomain}`;
  const hosts = [fqdn, `${name}.${namespace}.svc`, `${name}.${namespace}`];
  // The bare name resolves only from a pod in the Service's own namespace (the first search domain).
  if (viewerNamespace === namespace) hosts.push(name);
  return hosts;
}

export interface RegistryService {
  /** The Service's own identity, for exportTo and precedence. */
  namespace: string;
  name: string;
  creationTimestamp: string | undefined;
  exportTo: string[] | undefined;
  /** Everything but the hosts, which depend on the namespace looking (short names). */
  spec: Omit<ServiceEntry['spec'], 'hosts'>;
}

export type ServiceConversion = { ok: true; service: RegistryService } | { ok: false; reason: string } | { ok: 'ignored' };

/**
 * One Kubernetes Service as a registry entry, or why not:
 * - ClusterIP, NodePort, LoadBalancer: its cluster IPs (both families) and TCP ports; traffic goes on to the
 *   cluster IP, as kube-proxy expects (resolution NONE keeps the original destination).
 * - Headless (`clusterIP: None`): no address; matched by name (Host, SNI) and port, forwarded to the pod IP the
 *   client resolved, as Istio's passthrough for headless Services.
 * - ExternalName: resolved by DNS to `externalName` and MESH_EXTERNAL, as Istio registers it.
 * UDP and SCTP ports are left out: the sidecar only carries TCP.
 */
export function serviceToRegistryEntry(value: unknown): ServiceConversion {
  if (!isRecord(value) || !isRecord(value['metadata']) || !isRecord(value['spec'])) return { ok: 'ignored' };
  const metadata = value['metadata'];
  const spec = value['spec'];
  const name = metadata['name'];
  const namespace = metadata['namespace'];
  if (typeof name !== 'string' || typeof namespace !== 'string') return { ok: false, reason: 'Service without metadata.name or metadata.namespace' };
  const ports: Port[] = [];
  for (const raw of Array.isArray(spec['ports']) ? spec['ports'] : []) {
    if (!isRecord(raw)) continue;
    const number = raw['port'];
    const protocol = raw['protocol'] ?? 'TCP';
    if (typeof number !== 'number' || !Number.isInteger(number) || number < 1 || number > 65535 || protocol !== 'TCP') continue;
    const detected = portProtocol({ name: raw['name'], appProtocol: raw['appProtocol'] });
    const portName = typeof raw['name'] === 'string' && raw['name'] !== '' ? raw['name'] : `port-${number}`;
    ports.push(detected === undefined ? { number, name: portName } : { number, name: portName, protocol: detected });
  }
  const annotations = isRecord(metadata['annotations']) ? metadata['annotations'] : {};
  const exportAnnotation = annotations[SERVICE_EXPORT_TO_ANNOTATION];
  const exportTo = typeof exportAnnotation === 'string' && exportAnnotation.trim() !== ''
    ? exportAnnotation.split(',').map((e) => e.trim()).filter((e) => e !== '')
    : undefined;
  const creationTimestamp = typeof metadata['creationTimestamp'] === 'string' ? metadata['creationTimestamp']
    : metadata['creationTimestamp'] instanceof Date ? metadata['creationTimestamp'].toISOString() : undefined;
  const base = { namespace, name, creationTimestamp, exportTo };
  const type = spec['type'] ?? 'ClusterIP';
  if (type === 'ExternalName') {
    const externalName = spec['externalName'];
    if (typeof externalName !== 'string' || externalName === '') return { ok: false, reason: `Service ${namespace}/${name}: ExternalName without spec.externalName` };
    return { ok: true, service: { ...base, spec: { location: 'MESH_EXTERNAL', resolution: 'DNS', ports, endpoints: [{ address: externalName }] } } };
  }
  const clusterIPs = (Array.isArray(spec['clusterIPs']) ? spec['clusterIPs'] : [spec['clusterIP']])
    .filter((ip): ip is string => typeof ip === 'string' && ip !== '' && ip !== 'None');
  const headless = spec['clusterIP'] === 'None';
  // A ClusterIP Service the API server has not given an address yet (never seen from a watch, but possible from
  // a file) is registered by name only, like a headless one.
  return {
    ok: true,
    service: { ...base, spec: { location: 'MESH_INTERNAL', resolution: 'NONE', ports, ...(headless || clusterIPs.length === 0 ? {} : { addresses: clusterIPs }) } },
  };
}

/** The registry entry as the namespace `viewer` sees it: a ServiceEntry-shaped object with the hosts filled in. */
export function registryEntryFor(service: RegistryService, clusterDomain: string, viewer: string): ServiceEntry {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntry',
    metadata: { name: `k8s-svc.${service.name}`, namespace: service.namespace },
    // The spec is shared, not copied: registry entries are read-only once built (one per Service per namespace).
    spec: { hosts: serviceHostnames(service.name, service.namespace, clusterDomain, viewer), ...service.spec },
  };
}
