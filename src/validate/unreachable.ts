import { asList, asObj, isRecord } from './access.ts';
import { at, type Collector } from './field-errors.ts';

// Warnings, as Istio gives them: a rule after a match-all rule, or whose matches all repeat earlier ones, is never
// used. They never deny; they tell the author that part of the config is dead.

/** Key-order-independent text of a match, names left out; depth-bounded because unknown fields can hold anything. */
function canonical(value: unknown, depth = 0): string {
  if (depth > 16) return '"…"';
  if (Array.isArray(value)) return `[${value.map((v) => canonical(v, depth + 1)).join(',')}]`;
  if (isRecord(value)) {
    const keys = Object.keys(value).filter((k) => !(depth === 0 && k === 'name') && value[k] != null).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k], depth + 1)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
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
      const key = canonical(asObj(match));
      const earlier = seen.get(key);
      if (earlier !== undefined) {
        out.warn(at(at(path, i), 'match') + `[${j}]`, `match is not used (duplicate of a match in rule ${earlier})`);
        duplicates += 1;
      } else seen.set(key, i);
    });
    if (duplicates === matches.length) out.warn(at(path, i), 'rule not used (all matches used by prior rules)');
  });
}
