import { TEMPLATE_PATHS } from '../inject/kube-inject.ts';
import { injectPod } from '../inject/inject.ts';
import { defaultValues } from '../inject/values.ts';
import { isRecord, type PodLike } from '../k8s/types.ts';
import { DEFAULT_MESH_CONFIG, MeshConfigError, meshConfigFromConfigMap, MESH_CONFIG_MAP, type MeshConfig } from '../mesh/mesh-config.ts';
import { asList, asObj, asText } from '../validate/access.ts';
import { formatIssue } from '../validate/field-errors.ts';
import { MESH_GATEWAY } from '../validate/gateways.ts';
import { isIpAddress, isHttpProtocol } from '../validate/names.ts';
import { validatedKindOf, validateMeshObject } from '../validate/validate.ts';
import { finding, type Finding } from './codes.ts';
import { classifyInput, objectLabel } from './input-kinds.ts';
import { addKubernetesService, addServiceEntry, emptyRegistry, isClusterLocal, isKnownHost, portsServing, type Registry } from './registry.ts';

// Cross-object findings over a set of manifests, like `istioctl analyze`. Per-object rules come from the validation
// webhook (validateMeshObject) and the injector (injectPod): nothing is written twice.

export interface SourceObject {
  object: unknown;
  /** file:document */
  origin: string;
}

interface Placed { object: Record<string, unknown>; origin: string; kind: string; name: string; namespace: string }

/** The objects analyze looks at; the rest are counted as skipped, and what no API server would accept is a finding. */
function place(inputs: SourceObject[], defaultNamespace: string, findings: Finding[], skippedKinds: string[]): Placed[] {
  const out: Placed[] = [];
  const visit = (object: unknown, origin: string): void => {
    if (isRecord(object) && object['kind'] === 'List') {
      asList(object['items']).forEach((item) => visit(item, origin));
      return;
    }
    const input = classifyInput(object);
    if (input.status === 'unrecognized') {
      findings.push(finding('MG0007', objectLabel(object, defaultNamespace), origin, input.message));
      return;
    }
    const record = object as Record<string, unknown>;
    const meta = asObj(record['metadata']);
    const kind = asText(record['kind']);
    if (input.status === 'skipped' && !READ_KINDS.has(kind)) skippedKinds.push(kind);
    out.push({ object: record, origin, kind, name: asText(meta['name']) || '?', namespace: asText(meta['namespace']) || defaultNamespace });
  };
  for (const input of inputs) visit(input.object, input.origin);
  return out;
}

const label = (p: Placed): string => `${p.kind} ${p.namespace}/${p.name}`;

function meshConfigOf(objects: Placed[], findings: Finding[]): MeshConfig {
  const configMap = objects.find((p) => p.kind === 'ConfigMap' && p.name === MESH_CONFIG_MAP.name);
  if (!configMap) return structuredClone(DEFAULT_MESH_CONFIG);
  try {
    return meshConfigFromConfigMap(configMap.object);
  } catch (error) {
    if (!(error instanceof MeshConfigError)) throw error;
    findings.push(finding('MG0001', label(configMap), configMap.origin, error.message));
    return structuredClone(DEFAULT_MESH_CONFIG);
  }
}

function conflictingProtocols(registry: Registry, findings: Finding[]): void {
  const byHostPort = new Map<string, typeof registry.ports>();
  for (const port of registry.ports) {
    const key = `${port.host}:${port.number}`;
    byHostPort.set(key, [...(byHostPort.get(key) ?? []), port]);
  }
  for (const [key, ports] of byHostPort) {
    const protocols = new Set(ports.map((p) => p.protocol ?? 'unset'));
    const owners = new Set(ports.map((p) => p.owner));
    if (protocols.size < 2 || owners.size < 2) continue;
    const claims = ports.map((p) => `${p.owner} says ${p.protocol ?? 'unset'}`).join(', ');
    findings.push(finding('MG0003', ports[1]!.owner, ports[1]!.origin, `host and port ${key} are claimed with conflicting protocols: ${claims}`));
  }
}

function destinationHosts(spec: Record<string, unknown>): string[] {
  const hosts: string[] = [];
  for (const key of ['http', 'tls', 'tcp'] as const) {
    for (const route of asList(spec[key])) {
      const r = asObj(route);
      for (const d of asList(r['route'])) hosts.push(asText(asObj(asObj(d)['destination'])['host']));
      if (key === 'http') {
        if (isRecord(r['mirror'])) hosts.push(asText(r['mirror']['host']));
        for (const m of asList(r['mirrors'])) hosts.push(asText(asObj(asObj(m)['destination'])['host']));
      }
    }
  }
  return [...new Set(hosts.filter((h) => h !== ''))];
}

function checkVirtualService(vs: Placed, registry: Registry, mesh: MeshConfig, findings: Finding[]): void {
  const spec = asObj(vs.object['spec']);
  const gateways = asList(spec['gateways']).map(asText);
  if (gateways.length > 0 && !gateways.includes(MESH_GATEWAY)) return; // gateway-only routes are not sidecar egress
  const hosts = asList(spec['hosts']).map(asText);
  const external = (host: string): boolean => host !== '' && !isClusterLocal(host) && !isIpAddress(host);
  for (const host of hosts) {
    if (mesh.outboundTrafficPolicy.mode === 'REGISTRY_ONLY' && external(host) && !isKnownHost(registry, host)) {
      findings.push(finding('MG0002', label(vs), vs.origin, `host ${JSON.stringify(host)} has no ServiceEntry and the mesh is REGISTRY_ONLY: its traffic is blocked`));
    }
    const ports = portsServing(registry, host);
    // Unset protocols are sniffed and may be HTTP; only a host declared purely TLS/TCP makes HTTP settings dead.
    const httpCapable = ports.some((p) => p.protocol === undefined || isHttpProtocol(p.protocol));
    if (ports.length === 0 || httpCapable) continue;
    asList(spec['http']).forEach((route, i) => {
      if (asObj(route)['timeout'] == null) return;
      const protocols = [...new Set(ports.map((p) => p.protocol))].join('/');
      findings.push(finding('MG0004', label(vs), vs.origin, `spec.http[${i}].timeout has no effect: ${host} is served only as ${protocols}`));
    });
  }
  for (const host of destinationHosts(spec)) {
    if (external(host) && !isKnownHost(registry, host)) {
      findings.push(finding('MG0005', label(vs), vs.origin, `destination host ${JSON.stringify(host)} matches no ServiceEntry host`));
    }
  }
}

function checkPod(p: Placed, findings: Finding[], values = defaultValues()): void {
  const path = p.kind === 'Pod' ? [] : TEMPLATE_PATHS[p.kind];
  if (!path) return;
  let template: unknown = p.object;
  for (const key of path) template = asObj(template)[key];
  if (!isRecord(template)) return;
  const outcome = injectPod(template as PodLike, { values, namespace: p.namespace });
  if (outcome.kind !== 'deny') return;
  const prefix = path.length > 0 ? `${path.join('.')}.` : '';
  for (const error of outcome.errors) findings.push(finding('MG0006', label(p), p.origin, `${prefix}${error.field}: ${error.message}`));
}

/** Kinds analyze reads besides the mesh objects: Services (registry), the mesh ConfigMap and the injectable workloads. */
const READ_KINDS = new Set(['Service', 'ConfigMap', 'Pod', ...Object.keys(TEMPLATE_PATHS)]);

export interface Analysis {
  findings: Finding[];
  /** Kinds of the objects analyze did not look at, one entry per object. */
  skippedKinds: string[];
}

export function analyzeObjects(inputs: SourceObject[], defaultNamespace = 'default'): Finding[] {
  return analyzeInput(inputs, defaultNamespace).findings;
}

export function analyzeInput(inputs: SourceObject[], defaultNamespace = 'default'): Analysis {
  const findings: Finding[] = [];
  const skippedKinds: string[] = [];
  const objects = place(inputs, defaultNamespace, findings, skippedKinds);
  const mesh = meshConfigOf(objects, findings);
  const registry = emptyRegistry();
  for (const p of objects) {
    if (p.kind === 'Service' && asText(p.object['apiVersion']) === 'v1') addKubernetesService(registry, p.name, p.namespace);
    const kind = validatedKindOf(p.object['apiVersion'], p.object['kind']);
    if (!kind) continue;
    const result = validateMeshObject(p.object, p.namespace, kind);
    if (result.applies) for (const error of result.errors) findings.push(finding('MG0001', label(p), p.origin, formatIssue(error)));
    if (kind === 'ServiceEntry') addServiceEntry(registry, p.object['spec'], label(p), p.origin);
  }
  conflictingProtocols(registry, findings);
  for (const p of objects) {
    if (validatedKindOf(p.object['apiVersion'], p.object['kind']) === 'VirtualService') checkVirtualService(p, registry, mesh, findings);
    checkPod(p, findings);
  }
  return { findings, skippedKinds };
}
