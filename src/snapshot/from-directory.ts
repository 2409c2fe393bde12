import { ConfigStore } from '../mesh/config-store.ts';
import { formatProblem, loadDocuments } from '../cli/yaml-io.ts';
import { compileSnapshot } from './compile.ts';
import type { ProxySnapshot } from './types.ts';
import { visibleTo } from './visible.ts';

export interface DirectorySnapshot {
  snapshot: ProxySnapshot;
  /** One line per thing left out: a broken YAML document, an object the store refused, a compiler problem. */
  problems: string[];
}

/**
 * Manifests (ServiceEntries, VirtualServices, the istio ConfigMap; anything else ignored) compiled to a snapshot: the
 * same object checks and order (kind/namespace/name) as the proxy's file mode, and the control plane's compiler.
 */
export function compileManifests(batches: Array<{ source: string; values: unknown[] }>, namespace: string | undefined): DirectorySnapshot {
  const problems: string[] = [];
  const store = new ConfigStore((p) => problems.push(`${p.source}: ${p.key ?? 'object'}: ${p.message}`));
  store.replaceAll(batches.map((b) => ({ ...b, broken: false })));
  const snapshot = compileSnapshot(visibleTo(store.snapshot(), namespace));
  for (const p of snapshot.problems) problems.push(`${p.source.kind} ${p.source.namespace}/${p.source.name}: ${p.source.path}: ${p.message}`);
  return { snapshot, problems };
}

/** `--config-dir`: every .yaml/.yml/.json file in the directory, as `meshgate proxy --config-dir` reads it. */
export function compileDirectory(dir: string, namespace: string | undefined): DirectorySnapshot {
  const { documents, problems: parse } = loadDocuments(dir);
  const files = [...new Set(documents.map((d) => d.file))];
  const compiled = compileManifests(files.map((file) => ({ source: file, values: documents.filter((d) => d.file === file).map((d) => d.value) })), namespace);
  return { snapshot: compiled.snapshot, problems: [...parse.map(formatProblem), ...compiled.problems] };
}
