import type { MeshSnapshot } from '../mesh/config-store.ts';

/**
 * Istio's exportTo for one object owned by `owner`, seen from `namespace`: unset, empty or `*` is everyone, `.` the
 * owner's namespace, other entries the namespaces named. No namespace (a tool looking at everything) sees it all.
 */
export function exportedTo(exportTo: string[] | undefined, owner: string, namespace: string | undefined): boolean {
  if (!exportTo || exportTo.length === 0 || exportTo.includes('*') || namespace === undefined) return true;
  return exportTo.includes(namespace) || (exportTo.includes('.') && owner === namespace);
}

/**
 * What a proxy in `namespace` sees under exportTo (every object when no namespace is given): the file mode's rule.
 * The control plane applies Istio's full visibility rules itself before calling compileSnapshot.
 */
export function visibleTo(config: MeshSnapshot, namespace: string | undefined): MeshSnapshot {
  const visible = <T extends { metadata: { namespace?: string }; spec: { exportTo?: string[] } }>(list: T[]): T[] =>
    list.filter((o) => exportedTo(o.spec.exportTo, o.metadata.namespace ?? 'default', namespace));
  return { mesh: config.mesh, serviceEntries: visible(config.serviceEntries), virtualServices: visible(config.virtualServices) };
}
