import { parse as parseYaml } from 'yaml';
import { isRecord } from '../k8s/types.ts';
import { parseDurationMs } from './duration.ts';

/** Istio's namespace when nothing says otherwise: the chart's `global.istioNamespace` default. */
export const DEFAULT_ISTIO_NAMESPACE = 'istio-system';

/**
 * The namespace Istio's own objects live in when no flag names it: `$ISTIO_NAMESPACE` (what Istio's binaries read;
 * the chart sets it from `global.istioNamespace`), else istio-system. The one place that default is decided.
 */
export function istioNamespaceFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env['ISTIO_NAMESPACE'] || DEFAULT_ISTIO_NAMESPACE;
}

/** Where Istio keeps the mesh config: ConfigMap `istio` in Istio's namespace, key `mesh` (YAML). */
export const MESH_CONFIG_MAP = { name: 'istio', key: 'mesh' } as const;

/** The mesh ConfigMap's reference in `istioNamespace`. */
export function meshConfigMapIn(istioNamespace: string): { namespace: string; name: string } {
  return { namespace: istioNamespace, name: MESH_CONFIG_MAP.name };
}

export type OutboundMode = 'ALLOW_ANY' | 'REGISTRY_ONLY';

export interface MeshConfig {
  outboundTrafficPolicy: { mode: OutboundMode };
  /** The proxy's access log: absent means meshgate's default (stdout), `""` turns it off. */
  accessLogFile?: string;
  accessLogEncoding?: 'TEXT' | 'JSON';
  accessLogFormat?: string;
  /** `defaultConfig.terminationDrainDuration`, in milliseconds. */
  terminationDrainDurationMs?: number;
}

export const DEFAULT_MESH_CONFIG: MeshConfig = { outboundTrafficPolicy: { mode: 'ALLOW_ANY' } };

export class MeshConfigError extends Error {}

/**
 * Istio's third mode (1.31) has no place in the ProxySnapshot: the format (docs/snapshot.schema.json, the contract with
 * the Rust data plane) has no policy value for "resolve the Host of unknown HTTP", and a ServiceEntry-like stand-in
 * cannot cover every port. Refused with Istio's meaning, so the user knows what is missing, until the format grows it.
 */
export const ALLOW_ANY_DYNAMIC_DNS_REFUSED = 'mesh config: outboundTrafficPolicy.mode ALLOW_ANY_DYNAMIC_DNS is not supported. In Istio it '
  + 'sends plaintext HTTP for hosts outside the registry through Envoy\'s dynamic forward proxy (the Host header resolved '
  + 'at request time, optional upstream TLS from outboundTrafficPolicy.tls) and passes TLS and TCP through as ALLOW_ANY '
  + 'does; meshgate\'s snapshot format (v1) cannot express it. Use ALLOW_ANY, or REGISTRY_ONLY with DYNAMIC_DNS ServiceEntries';

/** Parses the `mesh` YAML text. An absent policy is ALLOW_ANY (Istio's default); an unknown mode is an error. */
export function parseMeshConfig(text: string | undefined): MeshConfig {
  if (text === undefined || text.trim() === '') return structuredClone(DEFAULT_MESH_CONFIG);
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new MeshConfigError(`mesh config: ${(error as Error).message.split('\n')[0]}`);
  }
  if (document === null || document === undefined) return structuredClone(DEFAULT_MESH_CONFIG);
  if (!isRecord(document)) throw new MeshConfigError('mesh config: expected a mapping');
  const policy = document['outboundTrafficPolicy'] ?? {};
  if (!isRecord(policy)) throw new MeshConfigError('mesh config: outboundTrafficPolicy must be a mapping');
  const mode = policy['mode'] ?? 'ALLOW_ANY';
  if (mode === 'ALLOW_ANY_DYNAMIC_DNS') throw new MeshConfigError(ALLOW_ANY_DYNAMIC_DNS_REFUSED);
  if (mode !== 'ALLOW_ANY' && mode !== 'REGISTRY_ONLY') {
    throw new MeshConfigError(`mesh config: outboundTrafficPolicy.mode must be ALLOW_ANY or REGISTRY_ONLY, got ${JSON.stringify(mode)}`);
  }
  return { outboundTrafficPolicy: { mode }, ...proxySettings(document) };
}

/** The settings the sidecar itself reads (access log, drain), each only when the mesh config sets it. */
function proxySettings(document: Record<string, unknown>): Omit<MeshConfig, 'outboundTrafficPolicy'> {
  const settings: Omit<MeshConfig, 'outboundTrafficPolicy'> = {};
  for (const key of ['accessLogFile', 'accessLogFormat'] as const) {
    const value = document[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') throw new MeshConfigError(`mesh config: ${key} must be a string`);
    settings[key] = value;
  }
  const encoding = document['accessLogEncoding'];
  if (encoding !== undefined && encoding !== null) {
    if (encoding !== 'TEXT' && encoding !== 'JSON') throw new MeshConfigError(`mesh config: accessLogEncoding must be TEXT or JSON, got ${JSON.stringify(encoding)}`);
    settings.accessLogEncoding = encoding;
  }
  const defaults = document['defaultConfig'];
  const drain = isRecord(defaults) ? defaults['terminationDrainDuration'] : undefined;
  if (drain !== undefined && drain !== null) {
    const ms = parseDurationMs(drain);
    if (ms === undefined) throw new MeshConfigError(`mesh config: defaultConfig.terminationDrainDuration ${JSON.stringify(drain)} is not a duration`);
    settings.terminationDrainDurationMs = ms;
  }
  return settings;
}

/** The mesh config carried by a ConfigMap object (`data.mesh`), as `kubectl get configmap istio -o yaml` shows it. */
export function meshConfigFromConfigMap(configMap: unknown): MeshConfig {
  const data = isRecord(configMap) && isRecord(configMap['data']) ? configMap['data'] : {};
  const text = data[MESH_CONFIG_MAP.key];
  return parseMeshConfig(typeof text === 'string' ? text : undefined);
}
