import { parse as parseYaml } from 'yaml';
import { isRecord } from '../k8s/types.ts';

/** Where Istio keeps the mesh config: ConfigMap `istio` in `istio-system`, key `mesh` (YAML). */
export const MESH_CONFIG_MAP = { namespace: 'istio-system', name: 'istio', key: 'mesh' } as const;

export type OutboundMode = 'ALLOW_ANY' | 'REGISTRY_ONLY';

export interface MeshConfig {
  outboundTrafficPolicy: { mode: OutboundMode };
}

export const DEFAULT_MESH_CONFIG: MeshConfig = { outboundTrafficPolicy: { mode: 'ALLOW_ANY' } };

export class MeshConfigError extends Error {}

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
  const policy = document['outboundTrafficPolicy'];
  if (policy === undefined || policy === null) return structuredClone(DEFAULT_MESH_CONFIG);
  if (!isRecord(policy)) throw new MeshConfigError('mesh config: outboundTrafficPolicy must be a mapping');
  const mode = policy['mode'] ?? 'ALLOW_ANY';
  if (mode !== 'ALLOW_ANY' && mode !== 'REGISTRY_ONLY') {
    throw new MeshConfigError(`mesh config: outboundTrafficPolicy.mode must be ALLOW_ANY or REGISTRY_ONLY, got ${JSON.stringify(mode)}`);
  }
  return { outboundTrafficPolicy: { mode } };
}

/** The mesh config carried by a ConfigMap object (`data.mesh`), as `kubectl get configmap istio -o yaml` shows it. */
export function meshConfigFromConfigMap(configMap: unknown): MeshConfig {
  const data = isRecord(configMap) && isRecord(configMap['data']) ? configMap['data'] : {};
  const text = data[MESH_CONFIG_MAP.key];
  return parseMeshConfig(typeof text === 'string' ? text : undefined);
}
