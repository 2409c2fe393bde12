import { isRecord } from '../k8s/types.ts';
import { DEFAULT_ISTIO_NAMESPACE, MESH_CONFIG_MAP, meshConfigFromConfigMap, type MeshConfig } from './mesh-config.ts';
import { wildcardShape } from './host-match.ts';
import { NETWORKING_GROUP, type ServiceEntry, type VirtualService } from './resources.ts';

/** One configuration object the proxy reads, after a shape check; `key` identifies it across reloads. */
export type MeshObject =
  | { kind: 'ServiceEntry'; key: string; object: ServiceEntry }
  | { kind: 'VirtualService'; key: string; object: VirtualService }
  | { kind: 'MeshConfig'; key: string; mesh: MeshConfig };

export type Classified = { ok: true; item: MeshObject } | { ok: false; key: string | undefined; message: string } | { ok: 'ignored' };

/** The key the store tracks objects by: kind/namespace/name. */
export function objectKey(kind: string, namespace: string | undefined, name: string | undefined): string {
  return `${kind}/${namespace ?? 'default'}/${name ?? ''}`;
}

const RESOLUTIONS = ['NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN', 'DYNAMIC_DNS'];
const PROTOCOLS = new Set(['HTTP', 'HTTPS', 'HTTP2', 'GRPC', 'TLS', 'TCP', 'MONGO', 'REDIS', 'MYSQL', 'UDP']);

/**
 * Recognises ServiceEntry, VirtualService and the `istio` ConfigMap of `istioNamespace`; other objects are ignored. The checks are the
 * ones whose failure would make the proxy misbehave (the validator owns the full rule set): a bad object is
 * reported and skipped, never allowed to crash the proxy.
 */
export function classifyObject(value: unknown, defaultNamespace = 'default', istioNamespace = DEFAULT_ISTIO_NAMESPACE): Classified {
  if (!isRecord(value)) return { ok: 'ignored' };
  const kind = value['kind'];
  const metadata = isRecord(value['metadata']) ? value['metadata'] : {};
  const name = typeof metadata['name'] === 'string' ? metadata['name'] : undefined;
  const namespace = typeof metadata['namespace'] === 'string' ? metadata['namespace'] : defaultNamespace;
  if (kind === 'ConfigMap') {
    if (name !== MESH_CONFIG_MAP.name || namespace !== istioNamespace) return { ok: 'ignored' };
    const key = objectKey('MeshConfig', namespace, name);
    try {
      return { ok: true, item: { kind: 'MeshConfig', key, mesh: meshConfigFromConfigMap(value) } };
    } catch (error) {
      return { ok: false, key, message: (error as Error).message };
    }
  }
  if (kind !== 'ServiceEntry' && kind !== 'VirtualService') return { ok: 'ignored' };
  const apiVersion = String(value['apiVersion'] ?? '');
  if (!apiVersion.startsWith(`${NETWORKING_GROUP}/`)) return { ok: 'ignored' };
  const key = objectKey(kind, namespace, name);
  if (!name) return { ok: false, key, message: `${kind} without metadata.name` };
  const spec = value['spec'];
  if (!isRecord(spec)) return { ok: false, key, message: 'spec must be a mapping' };
  const problem = kind === 'ServiceEntry' ? serviceEntryProblem(spec) : virtualServiceProblem(spec);
  if (problem) return { ok: false, key, message: problem };
  const object = { apiVersion, kind, metadata: { ...metadata, name, namespace }, spec } as unknown as ServiceEntry & VirtualService;
  return { ok: true, item: kind === 'ServiceEntry' ? { kind, key, object } : { kind, key, object } };
}

function isHostList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((h) => typeof h === 'string' && h.length > 0);
}

function serviceEntryProblem(spec: Record<string, unknown>): string | undefined {
  if (!isHostList(spec['hosts']) || spec['hosts'].length === 0) return 'spec.hosts must be a non-empty list of names';
  for (const [i, host] of spec['hosts'].entries()) {
    // What Istio's admission accepts: `*`, `*.suffix` and, with a warning, a partial wildcard (`*foo.com`; each
    // compiler says what it does with one). A `*` anywhere else (`a.*.com`) is refused there, and here.
    if (wildcardShape(host) === 'invalid') return `spec.hosts[${i}]: ${JSON.stringify(host)} has a wildcard Istio refuses (only a leading "*", as in "*.example.com" or "*foo.com")`;
  }
  const ports = spec['ports'];
  if (ports !== undefined && !Array.isArray(ports)) return 'spec.ports must be a list';
  for (const [i, port] of (Array.isArray(ports) ? ports : []).entries()) {
    if (!isRecord(port)) return `spec.ports[${i}] must be a mapping`;
    const n = port['number'];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) return `spec.ports[${i}].number must be a port number`;
    if (port['protocol'] !== undefined && !PROTOCOLS.has(String(port['protocol']).toUpperCase())) return `spec.ports[${i}].protocol ${JSON.stringify(port['protocol'])} is unknown`;
  }
  const resolution = spec['resolution'] ?? 'NONE';
  if (!RESOLUTIONS.includes(String(resolution))) return `spec.resolution ${JSON.stringify(resolution)} is unknown`;
  // Istio's DYNAMIC_DNS rule: the answer comes from the name asked for, so nothing may pin it.
  if (resolution === 'DYNAMIC_DNS') {
    for (const field of ['addresses', 'endpoints', 'workloadSelector'] as const) {
      if (spec[field] !== undefined && !(Array.isArray(spec[field]) && spec[field].length === 0)) return `spec.${field} is not allowed with resolution DYNAMIC_DNS`;
    }
  }
  if (spec['addresses'] !== undefined && !isHostList(spec['addresses'])) return 'spec.addresses must be a list of addresses';
  const endpoints = spec['endpoints'];
  if (endpoints !== undefined && !(Array.isArray(endpoints) && endpoints.every(isRecord))) return 'spec.endpoints must be a list of mappings';
  if (resolution === 'STATIC' && !(Array.isArray(endpoints) && endpoints.length > 0)) return 'resolution STATIC needs spec.endpoints';
  return undefined;
}

function virtualServiceProblem(spec: Record<string, unknown>): string | undefined {
  if (spec['hosts'] !== undefined && !isHostList(spec['hosts'])) return 'spec.hosts must be a list of names';
  for (const section of ['http', 'tls', 'tcp'] as const) {
    const routes = spec[section];
    if (routes !== undefined && !(Array.isArray(routes) && routes.every(isRecord))) return `spec.${section} must be a list of mappings`;
  }
  return undefined;
}
