// Host matching as Istio's host.Name does it: `*` and `*.suffix` wildcards, compared by suffix.

function isWildcard(host: string): boolean {
  return host.startsWith('*');
}

/** True when the two hosts can name a common host (used for duplicate detection). */
export function hostsOverlap(a: string, b: string): boolean {
  if (isWildcard(a)) {
    if (isWildcard(b)) return a.length < b.length ? b.slice(1).endsWith(a.slice(1)) : a.slice(1).endsWith(b.slice(1));
    return b.endsWith(a.slice(1));
  }
  if (isWildcard(b)) return a.endsWith(b.slice(1));
  return a === b;
}

/** True when every host `a` names is also named by `b`. */
export function hostSubsetOf(a: string, b: string): boolean {
  if (isWildcard(a)) return isWildcard(b) && a.length >= b.length && a.slice(1).endsWith(b.slice(1));
  if (isWildcard(b)) return a.endsWith(b.slice(1));
  return a === b;
}
