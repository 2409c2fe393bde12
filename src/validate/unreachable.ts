import { asList, asObj, isRecord } from './access.ts';
import { at, type Collector } from './field-errors.ts';

// Warnings, as Istio gives them: a rule after a match-all rule, or whose matches all repeat earlier ones, is never
// used. They never deny; they tell the author that part of the config is dead.

/**
 * The text of a match for duplicate detection: its fields in a fixed order (as Go's JSON of the struct has), the
 * name left out. A value too deep to serialise (garbage in an unknown field) makes the match unique.
 */
function canonical(match: Record<string, unknown>, unique: string): string {
  const keys = Object.keys(match).filter((k) => k !== 'name' && match[k] != null).sort();
  try {
    return `{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(match[k])}`).join(',')}}`;
  } catch {
    return `#${unique}`;
  }
}

export function warnUnreachableRules(routes: unknown[], path: string, out: Collector): void {
  const seen = new Map<string, number>();
  let matchAll = -1;
  routes.forEach((route, i) => {
    if (!isRecord(route)) return;
    const matches = asList(route['match']);
    if (matches.length === 0) {
      if (matchAll >= 0) out.warn(at(path, i), `rule not used (only the last rule can have no matches; rule ${matchAll} matches everything)`);
      matchAll = i;
      return;
    }
    let duplicates = 0;
    matches.forEach((match, j) => {
      const key = canonical(asObj(match), `${i}.${j}`);
      const earlier = seen.get(key);
      if (earlier !== undefined) {
        out.warn(at(at(path, i), 'match') + `[${j}]`, `match is not used (duplicate of a match in rule ${earlier})`);
        duplicates += 1;
      } else seen.set(key, i);
    });
    if (duplicates === matches.length) out.warn(at(path, i), 'rule not used (all matches used by prior rules)');
  });
}
