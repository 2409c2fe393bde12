import { parse as parseYaml } from 'yaml';
import { isRecord } from '../k8s/types.ts';
import { meshConfigFromConfigMap, type MeshConfig } from '../mesh/mesh-config.ts';

/** What the control plane reads from the mesh ConfigMap: the proxy's mesh config and the exportTo defaults. */
export interface ControlMesh {
  mesh: MeshConfig;
  /** The mesh's defaultServiceExportTo (Istio's default: everyone). Also the default of Kubernetes Services. */
  defaultServiceExportTo: string[];
  defaultVirtualServiceExportTo: string[];
}

export const DEFAULT_EXPORT_TO: readonly string[] = ['*'];

function exportList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [...DEFAULT_EXPORT_TO];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v !== '')) throw new Error(`mesh config: ${field} must be a list of namespaces, ., * or ~`);
  return value.length === 0 ? [...DEFAULT_EXPORT_TO] : value;
}

/**
 * The mesh ConfigMap as the control plane needs it. Throws with the field on a bad value, so the caller keeps the
 * last good one; an absent ConfigMap (undefined) is Istio's defaults.
 */
export function controlMeshFromConfigMap(configMap: unknown): ControlMesh {
  const mesh = meshConfigFromConfigMap(configMap);
  const data = isRecord(configMap) && isRecord(configMap['data']) ? configMap['data'] : {};
  const text = data['mesh'];
  const document: unknown = typeof text === 'string' ? parseYaml(text) : undefined;
  const fields = isRecord(document) ? document : {};
  return {
    mesh,
    defaultServiceExportTo: exportList(fields['defaultServiceExportTo'], 'defaultServiceExportTo'),
    defaultVirtualServiceExportTo: exportList(fields['defaultVirtualServiceExportTo'], 'defaultVirtualServiceExportTo'),
  };
}
