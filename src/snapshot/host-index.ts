import { hostMatches } from '../mesh/host-match.ts';

/**
 * Builds the snapshot's host indexes: exact names in a map, wildcards in a list ordered longest (narrowest) first,
 * `*` last; the first value added for a host wins (the compiler adds in object precedence order).
 */
export class HostTable<T> {
  private readonly exact = new Map<string, T>();
  private readonly wildcards = new Map<string, T>();

  /** false when the host was already taken. */
  add(host: string, value: T): boolean {
    const table = host.startsWith('*') ? this.wildcards : this.exact;
    if (table.has(host)) return false;
    table.set(host, value);
    return true;
  }

  get(host: string): T | undefined {
    return (host.startsWith('*') ? this.wildcards : this.exact).get(host);
  }

  toIndex<W>(wildcard: (host: string, value: T) => W): { exact: Record<string, T>; wildcard: W[] } {
    // Object.fromEntries defines own properties, so a host named `__proto__` stays data, never a prototype.
    return { exact: Object.fromEntries(this.exact), wildcard: this.orderedWildcards().map(([host, value]) => wildcard(host, value)) };
  }

  /** The exact names in the order they were added (what `toIndex` builds its `exact` object from). */
  exactEntries(): ReadonlyMap<string, T> {
    return this.exact;
  }

  /** The wildcards in index order: longest first, then in the order added. */
  orderedWildcards(): Array<[string, T]> {
    const ordered = [...this.wildcards].map(([host, value], order) => ({ host, value, order }));
    ordered.sort((a, b) => b.host.length - a.host.length || a.order - b.order);
    return ordered.map((w) => [w.host, w.value]);
  }
}

/** The lookup every reader does: exact first, then the first wildcard that matches (`valueOf` reads its value). */
export function findHost<V, W extends { host: string }>(index: { exact: Record<string, V>; wildcard: W[] }, host: string, valueOf: (entry: W) => V): { pattern: string; value: V } | undefined {
  if (Object.hasOwn(index.exact, host)) return { pattern: host, value: index.exact[host] as V };
  const hit = index.wildcard.find((w) => hostMatches(w.host, host));
  return hit ? { pattern: hit.host, value: valueOf(hit) } : undefined;
}
