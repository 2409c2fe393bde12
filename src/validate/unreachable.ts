import { asList, asNumber, asObj, asStringMap, asText, isRecord, type Obj } from './access.ts';
import { at, type Collector } from './field-errors.ts';

// Warnings, as Istio gives them: a rule after a match-all rule, a rule whose matches all repeat earlier ones, and a
// prefix match shadowed by an earlier, broader prefix match with the same other conditions. They never deny; they
// tell the author that part of the config is dead.

/**
 * The text of a match for duplicate detection: its fields in a fixed order (as Go's JSON of the struct has), the
 * name left out. A value too deep to serialise (garbage in an unknown field) makes the match unique.
 */
function canonical(match: Obj, unique: string): string {
  const keys = Object.keys(match).filter((k) => k !== 'name' && match[k] != null).sort();
  try {
    return `{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(match[k])}`).join(',')}}`;
  } catch {
    return `#${unique}`;
  }
}

/** `exact:v` or `prefix:v` (regex and empty count as unconstrained, as in Istio's overlap check). */
function exactOrPrefix(value: unknown): string {
  const m = asObj(value);
  if (asText(m['exact']) !== '') return `exact:${asText(m['exact'])}`;
  if (asText(m['prefix']) !== '') return `prefix:${asText(m['prefix'])}`;
  return '';
}

interface PrefixMatch {
  route: string;
  match: string;
  prefix: string;
  port: number;
  method: string;
  authority: string;
  maps: Array<Map<string, string>>;
}

function prefixMatchOf(match: Obj, route: string, matchName: string): PrefixMatch | undefined {
  const prefix = asText(asObj(match['uri'])['prefix']);
  if (prefix === '') return undefined;
  const toMap = (key: string): Map<string, string> => new Map(Object.entries(asStringMap(match[key])).map(([k, v]) => [k, exactOrPrefix(v)]));
  return {
    route, match: matchName, prefix, port: asNumber(match['port']),
    method: exactOrPrefix(match['method']) || 'exact:GET', // no method is taken as GET, as Istio does
    authority: exactOrPrefix(match['authority']),
    maps: [toMap('headers'), toMap('queryParams'), toMap('withoutHeaders')],
  };
}

const narrows = (a: string, b: string): boolean => a === b || a.startsWith(b);

/** True when every request `b` matches is already taken by `a` (an earlier, broader prefix). */
function covers(a: PrefixMatch, b: PrefixMatch): boolean {
  if (!b.prefix.startsWith(a.prefix) || a.port !== b.port) return false;
  if (!narrows(a.method, b.method) || !narrows(a.authority, b.authority)) return false;
  return a.maps.every((mapA, i) => {
    const mapB = b.maps[i]!;
    if (mapA.size !== mapB.size) return false;
    for (const [key, value] of mapA) {
      const other = mapB.get(key);
      if (other === undefined || !narrows(value, other)) return false;
    }
    return true;
  });
}

function routeName(route: Obj, index: number): string {
  return asText(route['name']) ? JSON.stringify(asText(route['name'])) : `#${index}`;
}

export function warnUnreachableRules(routes: unknown[], path: string, out: Collector, http = false): void {
  const seen = new Map<string, number>();
  const prefixes: PrefixMatch[] = [];
  let matchAll = -1;
  routes.forEach((route, i) => {
    if (!isRecord(route)) return;
    const matches = asList(route['match']);
    if (matches.length === 0) {
      if (matchAll >= 0) out.warn(at(path, i), `rule ${routeName(route, i)} not used (only the last rule can have no matches)`);
      matchAll = i;
      return;
    }
    let duplicates = 0;
    matches.forEach((match, j) => {
      const m = asObj(match);
      const matchName = asText(m['name']) ? JSON.stringify(asText(m['name'])) : `#${j}`;
      const key = canonical(m, `${i}.${j}`);
      const earlier = seen.get(key);
      if (earlier !== undefined) {
        out.warn(at(at(path, i), 'match') + `[${j}]`, `rule ${routeName(route, i)} match ${matchName} is not used (duplicate/overlapping match in rule ${routeName(asObj(routes[earlier]), earlier)})`);
        duplicates += 1;
        return;
      }
      seen.set(key, i);
      const prefix = http ? prefixMatchOf(m, routeName(route, i), matchName) : undefined;
      if (prefix) prefixes.push(prefix);
    });
    if (duplicates === matches.length) out.warn(at(path, i), `rule ${routeName(route, i)} not used (all matches used by prior rules)`);
  });
  warnShadowedPrefixes(prefixes, path, out);
}

/**
 * Istio compares every pair of prefix matches; a 10,000-route object makes that 50 million pairs. Only an earlier
 * match whose prefix is a proper prefix of the later one can cover it, so each match looks up just its own
 * prefixes: linear in the routes times the prefix length.
 */
function warnShadowedPrefixes(prefixes: PrefixMatch[], path: string, out: Collector): void {
  const byPrefix = new Map<string, number[]>();
  prefixes.forEach((m, index) => byPrefix.set(m.prefix, [...(byPrefix.get(m.prefix) ?? []), index]));
  prefixes.forEach((later, b) => {
    for (let length = 1; length < later.prefix.length; length += 1) {
      for (const a of byPrefix.get(later.prefix.slice(0, length)) ?? []) {
        if (a >= b) break;
        const first = prefixes[a]!;
        if (!covers(first, later)) continue;
        out.warn(path, `rule ${later.route} match ${later.match} of prefix ${later.prefix} is not used (duplicate/overlapping match in rule ${first.match} of prefix ${first.prefix} on ${first.route})`);
      }
    }
  });
}
