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

/** Istio's three modes (ALLOW_ANY_DYNAMIC_DNS since 1.31: unknown plaintext HTTP goes to the DNS answer for its Host). */
export type OutboundMode = 'ALLOW_ANY' | 'REGISTRY_ONLY' | 'ALLOW_ANY_DYNAMIC_DNS';
const OUTBOUND_MODES: readonly OutboundMode[] = ['ALLOW_ANY', 'REGISTRY_ONLY', 'ALLOW_ANY_DYNAMIC_DNS'];

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
 * Istio's `outboundTrafficPolicy.tls` originates TLS for ALLOW_ANY_DYNAMIC_DNS's upstreams; meshgate forwards the
 * request as the app sent it, so a setting that would change that is refused rather than ignored.
 */
export const OUTBOUND_TLS_REFUSED = 'mesh config: outboundTrafficPolicy.tls (upstream TLS origination for ALLOW_ANY_DYNAMIC_DNS) is not '
  + 'implemented: meshgate forwards plaintext HTTP to the resolved host as plaintext. Remove it';

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
  const mode: unknown = policy['mode'] ?? 'ALLOW_ANY';
  if (!OUTBOUND_MODES.includes(mode as OutboundMode)) {
    throw new MeshConfigError(`mesh config: outboundTrafficPolicy.mode must be ${OUTBOUND_MODES.join(', ')}, got ${JSON.stringify(mode)}`);
  }
  if (policy['tls'] !== undefined && policy['tls'] !== null) throw new MeshConfigError(OUTBOUND_TLS_REFUSED);
  return { outboundTrafficPolicy: { mode: mode as OutboundMode }, ...proxySettings(document) };
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
