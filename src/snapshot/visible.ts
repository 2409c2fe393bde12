import type { MeshSnapshot } from '../mesh/config-store.ts';
import { exportedTo } from '../proxy/routing/registry.ts';

/**
 * What a proxy in `namespace` sees under exportTo (every object when no namespace is given): the file mode's rule.
 * The control plane applies Istio's full visibility rules itself before calling compileSnapshot.
 */
export function visibleTo(config: MeshSnapshot, namespace: string | undefined): MeshSnapshot {
  const visible = <T extends { metadata: { namespace?: string }; spec: { exportTo?: string[] } }>(list: T[]): T[] =>
    list.filter((o) => exportedTo(o.spec.exportTo, o.metadata.namespace ?? 'default', namespace));
  return { mesh: config.mesh, serviceEntries: visible(config.serviceEntries), virtualServices: visible(config.virtualServices) };
}
