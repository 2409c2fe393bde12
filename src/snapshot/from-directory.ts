import { ConfigStore } from '../mesh/config-store.ts';
import type { MeshSnapshot } from '../mesh/config-store.ts';
import { exportedTo } from '../proxy/routing/registry.ts';
import { formatProblem, loadDocuments } from '../cli/yaml-io.ts';
import { compileSnapshot } from './compile.ts';
import type { ProxySnapshot } from './types.ts';

export interface DirectorySnapshot {
  snapshot: ProxySnapshot;
  /** One line per thing left out: a broken YAML document, an object the store refused, a compiler problem. */
  problems: string[];
}

/** What a proxy in `namespace` sees (exportTo); every object when no namespace is given. */
export function visibleTo(config: MeshSnapshot, namespace: string | undefined): MeshSnapshot {
  const visible = <T extends { metadata: { namespace?: string }; spec: { exportTo?: string[] } }>(list: T[]): T[] =>
    list.filter((o) => exportedTo(o.spec.exportTo, o.metadata.namespace ?? 'default', namespace));
  return { mesh: config.mesh, serviceEntries: visible(config.serviceEntries), virtualServices: visible(config.virtualServices) };
}

/**
 * `--config-dir` compiled to a snapshot: the same reading as the proxy's file mode (every .yaml/.yml/.json, the
 * same object checks, objects in kind/namespace/name order) and the same compiler as the control plane.
 */
export function compileDirectory(dir: string, namespace: string | undefined): DirectorySnapshot {
  const problems: string[] = [];
  const { documents, problems: parse } = loadDocuments(dir);
  for (const p of parse) problems.push(formatProblem(p));
  const store = new ConfigStore((p) => problems.push(`${p.source}: ${p.key ?? 'object'}: ${p.message}`));
  store.replaceAll([...new Set(documents.map((d) => d.file))].map((file) => ({ source: file, values: documents.filter((d) => d.file === file).map((d) => d.value), broken: false })));
  const snapshot = compileSnapshot(visibleTo(store.snapshot(), namespace));
  for (const p of snapshot.problems) problems.push(`${p.source.kind} ${p.source.namespace}/${p.source.name}: ${p.source.path}: ${p.message}`);
  return { snapshot, problems };
}
