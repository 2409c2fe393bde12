import { asList, asNumber, asObj, asStringMap, asText, has, isRecord, type Obj } from './access.ts';
import { at, type Collector } from './field-errors.ts';
import {
  checkAuthorityRewrite, checkCors, checkDestination, checkDurationField, checkHeaderOperations, checkMatchHeaderName, checkStringMatch,
} from './http-parts.ts';
import { checkDirectResponse, checkFault, checkMirrors, checkRedirect, checkRetries, checkRewrite } from './http-policies.ts';
import { checkGatewayNames } from './gateways.ts';
import { checkLabelMap, checkPort, isDns1123Label } from './names.ts';

// One HTTP route of a VirtualService: what it may combine, its matches, destinations and policies.

export type RouteKind = 'independent' | 'root' | 'delegate';

function checkConflicts(route: Obj, kind: RouteKind, path: string, out: Collector): void {
  const routes = asList(route['route']);
  if (kind === 'root') {
    // A root route hands the request to its delegate; it may not also answer or forward it.
    if (has(route, 'redirect')) out.error(at(path, 'redirect'), 'a root HTTP route (with a delegate) must not specify redirect');
    if (routes.length > 0) out.error(at(path, 'route'), 'a root HTTP route (with a delegate) must not specify route');
    return;
  }
  if (kind === 'delegate' && has(route, 'delegate')) out.error(at(path, 'delegate'), 'a delegate HTTP route cannot contain delegate');
  const others = (what: string, fields: string[]): void => {
    for (const field of fields) {
      if (field === 'route' ? routes.length > 0 : has(route, field)) out.error(path, `HTTP route cannot contain both ${field} and ${what}`);
    }
  };
  if (has(route, 'redirect')) others('redirect', ['route', 'fault', 'rewrite', 'directResponse']);
  else if (has(route, 'directResponse')) others('directResponse', ['route', 'fault', 'rewrite']);
  else if (routes.length === 0) out.error(path, 'HTTP route, redirect or directResponse is required');
  if (has(route, 'mirror') && asList(route['mirrors']).length > 0) out.error(path, 'HTTP route cannot contain both mirror and mirrors');
}

function checkMatch(match: Obj, path: string, out: Collector): void {
  for (const [name, header] of Object.entries(asStringMap(match['headers']))) {
    const headerPath = at(at(path, 'headers'), name);
    if (header === null) out.error(headerPath, 'header match cannot be null');
    const problem = checkMatchHeaderName(name);
    if (problem) out.error(headerPath, problem);
    checkStringMatch(header, headerPath, out);
  }
  for (const [name, header] of Object.entries(asStringMap(match['withoutHeaders']))) {
    const headerPath = at(at(path, 'withoutHeaders'), name);
    const problem = checkMatchHeaderName(name);
    if (problem) out.error(headerPath, problem);
    // `regex: "*"` is not RE2 here: Istio turns it into a presence match.
    if (asObj(header)['regex'] !== '*') checkStringMatch(header, headerPath, out);
  }
  checkStringMatch(match['uri'], at(path, 'uri'), out, true);
  for (const key of ['scheme', 'method', 'authority'] as const) checkStringMatch(match[key], at(path, key), out);
  for (const [name, param] of Object.entries(asStringMap(match['queryParams']))) checkStringMatch(param, at(at(path, 'queryParams'), name), out);
  const port = asNumber(match['port']);
  if (port !== 0 && checkPort(port)) out.error(at(path, 'port'), checkPort(port)!, port);
  for (const problem of checkLabelMap(asStringMap(match['sourceLabels']))) out.error(at(path, 'sourceLabels'), problem);
  checkGatewayNames(asList(match['gateways']), at(path, 'gateways'), out);
  const sourceNamespace = asText(match['sourceNamespace']);
  if (sourceNamespace !== '' && !isDns1123Label(sourceNamespace)) out.error(at(path, 'sourceNamespace'), 'not a valid namespace name', sourceNamespace);
}

/** Destinations with weights: each weight ≥ 0, and several destinations cannot all weigh 0. */
export function checkWeightedDestinations(list: unknown, path: string, out: Collector, withHeaders: boolean): void {
  const items = asList(list);
  let total = 0;
  items.forEach((item, i) => {
    const itemPath = at(path, i);
    if (!isRecord(item)) {
      out.error(itemPath, 'route destination may not be null');
      return;
    }
    if (!has(item, 'destination')) out.error(at(itemPath, 'destination'), 'destination is required');
    if (withHeaders) checkHeaderOperations(item['headers'], at(itemPath, 'headers'), out);
    checkDestination(item['destination'], at(itemPath, 'destination'), out);
    const weight = asNumber(item['weight']);
    if (weight < 0) out.error(at(itemPath, 'weight'), 'weight must not be negative', weight);
    total += weight;
  });
  if (items.length > 1 && total === 0) out.error(path, 'total destination weight = 0');
}

export function checkHttpRoute(route: Obj, kind: RouteKind, path: string, out: Collector): void {
  checkConflicts(route, kind, path, out);
  asList(route['match']).forEach((match, i) => {
    if (isRecord(match)) checkMatch(match, at(at(path, 'match'), i), out);
  });
  // Each check only when its field is there: building paths for absent fields was a measurable share of a
  // 1,000-route object's time.
  const present = (key: string): boolean => route[key] !== undefined && route[key] !== null;
  if (present('headers')) checkHeaderOperations(route['headers'], at(path, 'headers'), out);
  if (present('corsPolicy')) checkCors(route['corsPolicy'], at(path, 'corsPolicy'), out);
  if (present('fault')) checkFault(route['fault'], at(path, 'fault'), out);
  if (has(route, 'mirrorPercent')) {
    const value = asNumber(route['mirrorPercent']);
    if (value > 100) out.error(at(path, 'mirrorPercent'), 'mirrorPercent must have a max value of 100', value);
    out.warn(at(path, 'mirrorPercent'), 'using deprecated setting "mirrorPercent", use "mirrorPercentage" instead');
  }
  if (isRecord(route['mirrorPercentage'])) {
    const value = asNumber(route['mirrorPercentage']['value']);
    if (value > 100 || value < 0) out.error(at(at(path, 'mirrorPercentage'), 'value'), 'mirrorPercentage must be within 0..100', value);
  }
  if (present('mirror')) checkDestination(route['mirror'], at(path, 'mirror'), out);
  if (present('mirrors')) checkMirrors(route['mirrors'], at(path, 'mirrors'), out);
  if (present('redirect')) checkRedirect(route['redirect'], at(path, 'redirect'), out);
  if (present('directResponse')) checkDirectResponse(route['directResponse'], at(path, 'directResponse'), out);
  if (present('retries')) checkRetries(route['retries'], at(path, 'retries'), out);
  if (present('rewrite')) checkRewrite(route['rewrite'], at(path, 'rewrite'), out);
  if (present('rewrite') || present('headers')) checkAuthorityRewrite(route, path, out);
  checkWeightedDestinations(route['route'], at(path, 'route'), out, true);
  checkDurationField(route, 'timeout', path, out);
}
