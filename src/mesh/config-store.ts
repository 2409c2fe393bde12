import { DEFAULT_ISTIO_NAMESPACE, DEFAULT_MESH_CONFIG, type MeshConfig } from './mesh-config.ts';
import { classifyObject, type MeshObject } from './objects.ts';
import type { ServiceEntry, VirtualService } from './resources.ts';

/** The config in force: what the routing table is compiled from. */
export interface MeshSnapshot {
  mesh: MeshConfig;
  serviceEntries: ServiceEntry[];
  virtualServices: VirtualService[];
}

export interface StoreProblem {
  key: string | undefined;
  source: string;
  message: string;
}

/** One source file's documents (or its parse failure) as a file source reads them. */
export interface SourceBatch {
  source: string;
  values: unknown[];
  /** The file could not be parsed in full: keep what it held before. */
  broken: boolean;
}

interface Held {
  item: MeshObject;
  source: string;
}

/**
 * Objects by key, with the last good version of each: an invalid update is reported and the previous version stays
 * in force; an invalid object never seen before is skipped. `check` adds the routing compiler's checks (e.g. a bad
 * regex) so what the store holds always compiles.
 */
export class ConfigStore {
  private held = new Map<string, Held>();

  constructor(
    private readonly report: (problem: StoreProblem) => void,
    private readonly check: (item: MeshObject) => string | undefined = () => undefined,
    /** Where the mesh ConfigMap `istio` is read from (`--istio-namespace`); one in another namespace is ignored. */
    private readonly istioNamespace = DEFAULT_ISTIO_NAMESPACE,
  ) {}

  /** Replaces everything (a file source's full read). Returns whether the config in force changed. */
  replaceAll(batches: SourceBatch[]): boolean {
    const next = new Map<string, Held>();
    for (const batch of batches) {
      if (batch.broken) {
        for (const [key, held] of this.held) if (held.source === batch.source) next.set(key, held);
      }
      for (const value of batch.values) this.accept(value, batch.source, next);
    }
    const changed = !sameObjects(this.held, next);
    this.held = next;
    return changed;
  }

  /** Adds or updates one object (an informer event). Returns whether the config in force changed. */
  upsert(value: unknown, source: string): boolean {
    const next = new Map(this.held);
    this.accept(value, source, next);
    const changed = !sameObjects(this.held, next);
    this.held = next;
    return changed;
  }

  remove(key: string): boolean {
    return this.held.delete(key);
  }

  snapshot(): MeshSnapshot {
    const items = [...this.held.values()].map((h) => h.item).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const meshItem = items.find((i) => i.kind === 'MeshConfig');
    return {
      mesh: meshItem?.kind === 'MeshConfig' ? meshItem.mesh : structuredClone(DEFAULT_MESH_CONFIG),
      serviceEntries: items.flatMap((i) => (i.kind === 'ServiceEntry' ? [i.object] : [])),
      virtualServices: items.flatMap((i) => (i.kind === 'VirtualService' ? [i.object] : [])),
    };
  }

  private accept(value: unknown, source: string, into: Map<string, Held>): void {
    const result = classifyObject(value, 'default', this.istioNamespace);
    if (result.ok === 'ignored') return;
    const problem = result.ok ? this.check(result.item) : result.message;
    const key = result.ok ? result.item.key : result.key;
    if (problem === undefined && result.ok) {
      into.set(result.item.key, { item: result.item, source });
      return;
    }
    const previous = key === undefined ? undefined : this.held.get(key);
    if (previous && key !== undefined) into.set(key, previous);
    this.report({ key, source, message: `${problem ?? 'invalid'}${previous ? '; keeping the last good version' : '; skipped'}` });
  }
}

function sameObjects(a: Map<string, Held>, b: Map<string, Held>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, held] of a) {
    const other = b.get(key);
    if (!other || JSON.stringify(other.item) !== JSON.stringify(held.item)) return false;
  }
  return true;
}
