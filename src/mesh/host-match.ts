// Host names as ServiceEntry and VirtualService hosts match them: exact names and `*.suffix` wildcards, compared
// without case and without a trailing dot. A request's port is never part of the host match.

/** Lower-cases and strips a trailing dot and any `:port` (IPv6 literals keep their brackets' contents). */
export function normalizeHost(authority: string): string {
  let host = authority.trim().toLowerCase();
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    host = end > 0 ? host.slice(1, end) : host;
  } else {
    const colon = host.indexOf(':');
    if (colon >= 0 && host.indexOf(':', colon + 1) < 0) host = host.slice(0, colon);
  }
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

/**
 * Where a `*` stands in a host: nowhere (`none`), alone (`all`), as the whole leading label (`labels`:
 * `*.example.com`), or glued to the first label (`partial`: `*foo.com`, `*-foo.com`, which Istio's admission accepts
 * with a warning); any other place (`a.*.com`, `foo*`, `*.`) is `invalid`, as Istio's admission refuses it.
 */
export type WildcardShape = 'none' | 'all' | 'labels' | 'partial' | 'invalid';

export function wildcardShape(host: string): WildcardShape {
  if (!host.includes('*')) return 'none';
  if (host === '*') return 'all';
  const rest = host.slice(1);
  if (!host.startsWith('*') || rest.includes('*')) return 'invalid';
  if (rest.startsWith('.')) return rest.length > 1 ? 'labels' : 'invalid';
  return 'partial';
}

/** `*.example.com` matches `a.example.com` and `a.b.example.com`, never `example.com`; `*` matches everything. */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return host.length > pattern.length - 1 && host.endsWith(pattern.slice(1));
  return pattern === host;
}

/**
 * Exact names in a Map, wildcards ordered most specific (longest) first: one lookup per request, and a narrower
 * wildcard wins over a broader one as in Istio.
 */
export class HostIndex<T> {
  private readonly exact = new Map<string, T>();
  private readonly wildcards: Array<{ pattern: string; value: T }> = [];

  /** The first value added for a pattern wins (objects are added oldest or name-ordered first). */
  add(pattern: string, value: T): void {
    const key = pattern.toLowerCase();
    if (key.startsWith('*')) {
      if (!this.wildcards.some((w) => w.pattern === key)) this.wildcards.push({ pattern: key, value });
      this.wildcards.sort((a, b) => b.pattern.length - a.pattern.length);
    } else if (!this.exact.has(key)) this.exact.set(key, value);
  }

  find(host: string): { pattern: string; value: T } | undefined {
    const exact = this.exact.get(host);
    if (exact !== undefined) return { pattern: host, value: exact };
    return this.wildcards.find((w) => hostMatches(w.pattern, host));
  }

  get size(): number {
    return this.exact.size + this.wildcards.length;
  }
}
