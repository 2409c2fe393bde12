import type { HTTPMatchRequest, HTTPRoute, StringMatch as IstioStringMatch } from '../mesh/resources.ts';
import {
  appliesToMesh, destinationRef, durationMs, isObj, list, omitUndefined, optionalText, percentOf, port, Refused, regex, sourceFields, stringMap, text, weighted, type Obj,
} from './route-fields.ts';
import type { CorsPolicy, Fault, HeaderOps, Headers, HttpDestination, HttpMatch, HttpRoute, Mirror, Retries, SourceRef, StringMatch } from './types.ts';

// A VirtualService's HTTP routes, compiled. Every field a route can hold is carried over or the VirtualService is
// refused as a whole: a route that silently lost a match field would match more than it says, and one that lost an
// action would do something else than it says.

/** Istio's default retry policy, applied when a route says nothing about retries. */
export const DEFAULT_RETRY_ON = ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'];
export const DEFAULT_RETRIABLE_STATUS_CODES = [503];
/** Envoy's retry back-off when none is given: 25 ms base, capped at ten times the base. */
export const DEFAULT_BACKOFF_BASE_MS = 25;

const GRPC_CODES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Istio's StringMatch. For header-like fields (`presence`), an empty match, `prefix: ""` and `regex: "*"` are a
 * presence check, as Istio translates them.
 */
function stringMatch(value: unknown, path: string, presence: boolean, ignoreCase = false): StringMatch {
  if (!isObj(value)) throw new Refused(path, 'must be a StringMatch (exact, prefix or regex)');
  const m = value as IstioStringMatch;
  const set = (['exact', 'prefix', 'regex'] as const).filter((k) => m[k] !== undefined && m[k] !== null);
  if (set.length > 1) throw new Refused(path, `exactly one of exact, prefix or regex, got ${set.join(' and ')}`);
  const unknown = Object.keys(value).filter((k) => !['exact', 'prefix', 'regex'].includes(k));
  if (unknown.length > 0) throw new Refused(`${path}.${unknown[0]}`, 'unknown field');
  const flag = ignoreCase ? { ignoreCase: true } : {};
  if (set.length === 0) {
    if (presence) return { present: true };
    throw new Refused(path, 'one of exact, prefix or regex is required');
  }
  if (m.exact !== undefined) return { exact: text(m.exact, `${path}.exact`), ...flag };
  if (m.prefix !== undefined) {
    const prefix = text(m.prefix, `${path}.prefix`);
    return presence && prefix === '' ? { present: true } : { prefix, ...flag };
  }
  const pattern = text(m.regex, `${path}.regex`);
  if (presence && pattern === '*') return { present: true };
  return { regex: regex(pattern, `${path}.regex`), ...flag };
}

function matchMap(value: unknown, path: string, lowerNames: boolean): Record<string, StringMatch> {
  if (value === undefined || value === null) return {};
  if (!isObj(value)) throw new Refused(path, 'must be a map of StringMatch');
  return Object.fromEntries(Object.entries(value).map(([name, m]) => {
    if (lowerNames && !HEADER_NAME.test(name)) throw new Refused(`${path}.${name}`, 'invalid header name');
    return [lowerNames ? name.toLowerCase() : name, stringMatch(m, `${path}.${name}`, true)];
  }));
}

const HTTP_MATCH_FIELDS = new Set(['name', 'uri', 'scheme', 'method', 'authority', 'headers', 'withoutHeaders', 'queryParams', 'port', 'ignoreUriCase', 'sourceLabels', 'sourceNamespace', 'gateways', 'statPrefix']);

function httpMatch(value: unknown, path: string): HttpMatch | undefined {
  if (!isObj(value)) throw new Refused(path, 'must be a mapping');
  for (const key of Object.keys(value)) if (!HTTP_MATCH_FIELDS.has(key)) throw new Refused(`${path}.${key}`, 'unknown match field: refused rather than ignored, so the route never matches more than it says');
  const m = value as HTTPMatchRequest & Obj;
  if (!appliesToMesh(m.gateways, `${path}.gateways`)) return undefined;
  const ignoreUriCase = m.ignoreUriCase === true;
  return omitUndefined<HttpMatch>({
    name: optionalText(m.name, `${path}.name`),
    uri: m.uri === undefined ? undefined : stringMatch(m.uri, `${path}.uri`, false, ignoreUriCase),
    scheme: m.scheme === undefined ? undefined : stringMatch(m.scheme, `${path}.scheme`, false),
    method: m.method === undefined ? undefined : stringMatch(m.method, `${path}.method`, false),
    authority: m.authority === undefined ? undefined : stringMatch(m.authority, `${path}.authority`, false),
    headers: matchMap(m.headers, `${path}.headers`, true),
    withoutHeaders: matchMap(m.withoutHeaders, `${path}.withoutHeaders`, true),
    queryParams: matchMap(m.queryParams, `${path}.queryParams`, false),
    port: port(m.port, `${path}.port`),
    ...sourceFields(m, path),
  });
}

function headerOps(value: unknown, path: string): HeaderOps {
  if (value === undefined || value === null) return { set: {}, add: {}, remove: [] };
  if (!isObj(value)) throw new Refused(path, 'must be a mapping');
  const ops: HeaderOps = { set: {}, add: {}, remove: [] };
  for (const kind of ['set', 'add'] as const) {
    for (const [name, v] of Object.entries(stringMap(value[kind], `${path}.${kind}`))) {
      if (!HEADER_NAME.test(name)) throw new Refused(`${path}.${kind}.${name}`, 'invalid header name');
      if (/[\r\n\0]/.test(v)) throw new Refused(`${path}.${kind}.${name}`, 'header values must not contain CR, LF or NUL');
      ops[kind][name.toLowerCase()] = v;
    }
  }
  ops.remove = list(value['remove'], `${path}.remove`).map((n, i) => {
    const name = text(n, `${path}.remove[${i}]`);
    if (!HEADER_NAME.test(name)) throw new Refused(`${path}.remove[${i}]`, 'invalid header name');
    return name.toLowerCase();
  });
  return ops;
}

function headers(value: unknown, path: string): Headers {
  const h = isObj(value) ? value : {};
  return { request: headerOps(h['request'], `${path}.request`), response: headerOps(h['response'], `${path}.response`) };
}

function retries(value: unknown, path: string): Retries {
  const defaults = { perTryTimeoutMs: 0, backoffBaseMs: DEFAULT_BACKOFF_BASE_MS, backoffMaxMs: DEFAULT_BACKOFF_BASE_MS * 10 };
  if (value === undefined || value === null) return { attempts: 2, retryOn: [...DEFAULT_RETRY_ON], retriableStatusCodes: [...DEFAULT_RETRIABLE_STATUS_CODES], ...defaults };
  if (!isObj(value)) throw new Refused(path, 'must be a mapping');
  const attempts = value['attempts'] ?? 0;
  if (typeof attempts !== 'number' || !Number.isInteger(attempts) || attempts < 0) throw new Refused(`${path}.attempts`, 'must be a non-negative integer');
  if (attempts === 0) return { attempts: 0, retryOn: [], retriableStatusCodes: [], ...defaults }; // Istio: 0 disables retries
  const retryOnText = optionalText(value['retryOn'], `${path}.retryOn`);
  let retryOn = [...DEFAULT_RETRY_ON];
  let codes = [...DEFAULT_RETRIABLE_STATUS_CODES];
  if (retryOnText !== undefined && retryOnText.trim() !== '') {
    const tokens = retryOnText.split(',').map((t) => t.trim()).filter(Boolean);
    codes = tokens.filter((t) => /^\d{3}$/.test(t)).map(Number);
    retryOn = tokens.filter((t) => !/^\d+$/.test(t));
    if (codes.length > 0 && !retryOn.includes('retriable-status-codes')) retryOn.push('retriable-status-codes');
  }
  const base = durationMs(value['backoff'], `${path}.backoff`) ?? DEFAULT_BACKOFF_BASE_MS;
  return { attempts, perTryTimeoutMs: durationMs(value['perTryTimeout'], `${path}.perTryTimeout`) ?? 0, retryOn, retriableStatusCodes: codes, backoffBaseMs: base, backoffMaxMs: base * 10 };
}

function fault(value: unknown, path: string): Fault | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObj(value)) throw new Refused(path, 'must be a mapping');
  const out: Fault = {};
  const delay = value['delay'];
  if (isObj(delay)) {
    if (delay['exponentialDelay'] !== undefined) throw new Refused(`${path}.delay.exponentialDelay`, 'is not supported (Istio does not implement it either)');
    const fixed = durationMs(delay['fixedDelay'], `${path}.delay.fixedDelay`);
    if (fixed === undefined) throw new Refused(`${path}.delay.fixedDelay`, 'is required');
    const legacy = delay['percent'];
    out.delay = { fixedDelayMs: fixed, percent: delay['percentage'] !== undefined ? percentOf(delay['percentage'], `${path}.delay.percentage`) : percentOf(legacy, `${path}.delay.percent`) };
  }
  const abort = value['abort'];
  if (isObj(abort)) {
    const at = `${path}.abort`;
    const percent = percentOf(abort['percentage'], `${at}.percentage`);
    if (abort['httpStatus'] !== undefined) {
      const status = abort['httpStatus'];
      if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) throw new Refused(`${at}.httpStatus`, 'must be an HTTP status (100-599)');
      out.abort = { httpStatus: status, percent };
    } else if (abort['grpcStatus'] !== undefined) {
      const name = abort['grpcStatus'];
      const code = typeof name === 'number' ? name : GRPC_CODES.indexOf(String(name));
      if (!Number.isInteger(code) || code < 0 || code > 16) throw new Refused(`${at}.grpcStatus`, `${JSON.stringify(name)} is not a gRPC status (e.g. UNAVAILABLE)`);
      out.abort = { grpcStatus: code, percent };
    } else if (abort['http2Error'] !== undefined) {
      out.abort = { http2Error: text(abort['http2Error'], `${at}.http2Error`), percent };
    } else throw new Refused(at, 'one of httpStatus, grpcStatus or http2Error is required');
  }
  return out;
}

function mirrors(route: Obj, path: string): Mirror[] {
  const out: Mirror[] = [];
  if (route['mirror'] !== undefined && route['mirror'] !== null) {
    const percent = route['mirrorPercentage'] !== undefined ? percentOf(route['mirrorPercentage'], `${path}.mirrorPercentage`) : percentOf(route['mirrorPercent'], `${path}.mirrorPercent`);
    out.push({ ...destinationRef(route['mirror'], `${path}.mirror`), percent });
  }
  list(route['mirrors'], `${path}.mirrors`).forEach((m, i) => {
    const at = `${path}.mirrors[${i}]`;
    if (!isObj(m)) throw new Refused(at, 'must be a mapping');
    out.push({ ...destinationRef(m['destination'], `${at}.destination`), percent: percentOf(m['percentage'], `${at}.percentage`) });
  });
  return out;
}

function corsPolicy(value: unknown, path: string): CorsPolicy | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObj(value)) throw new Refused(path, 'must be a mapping');
  const strings = (key: string): string[] => list(value[key], `${path}.${key}`).map((v, i) => text(v, `${path}.${key}[${i}]`));
  const allowOrigins = [
    ...list(value['allowOrigins'], `${path}.allowOrigins`).map((m, i) => stringMatch(m, `${path}.allowOrigins[${i}]`, false)),
    ...strings('allowOrigin').map((exact): StringMatch => ({ exact })), // deprecated form: exact origins
  ];
  const credentials = value['allowCredentials'];
  const unmatched = value['unmatchedPreflights'] ?? 'FORWARD';
  if (unmatched !== 'FORWARD' && unmatched !== 'IGNORE' && unmatched !== 'UNSPECIFIED') throw new Refused(`${path}.unmatchedPreflights`, 'must be FORWARD or IGNORE');
  return omitUndefined<CorsPolicy>({
    allowOrigins, allowMethods: strings('allowMethods'), allowHeaders: strings('allowHeaders'), exposeHeaders: strings('exposeHeaders'),
    maxAgeMs: durationMs(value['maxAge'], `${path}.maxAge`),
    allowCredentials: typeof credentials === 'boolean' ? credentials : isObj(credentials) && typeof credentials['value'] === 'boolean' ? credentials['value'] : undefined,
    unmatchedPreflights: unmatched === 'IGNORE' ? 'IGNORE' : 'FORWARD',
  });
}

const HTTP_ROUTE_FIELDS = new Set(['name', 'match', 'route', 'redirect', 'directResponse', 'delegate', 'rewrite', 'timeout', 'retries', 'fault', 'mirror', 'mirrors', 'mirrorPercentage', 'mirrorPercent', 'corsPolicy', 'headers']);

/** undefined when every match names gateways other than `mesh` (the route is for gateways only). */
export function httpRoute(value: unknown, path: string, ref: (p: string) => SourceRef): HttpRoute | undefined {
  if (!isObj(value)) throw new Refused(path, 'must be a mapping');
  for (const key of Object.keys(value)) if (!HTTP_ROUTE_FIELDS.has(key)) throw new Refused(`${path}.${key}`, 'unknown route field');
  const r = value as HTTPRoute & Obj;
  if (r.delegate !== undefined) throw new Refused(`${path}.delegate`, 'delegation is not supported for sidecars');
  const written = list(r.match, `${path}.match`);
  const match = written.flatMap((m, i) => httpMatch(m, `${path}.match[${i}]`) ?? []);
  if (written.length > 0 && match.length === 0) return undefined;
  const route = weighted<HttpDestination>(r.route, `${path}.route`, (d, at, base) => ({ ...base, headers: headers(d['headers'], `${at}.headers`) }));
  const actions = [route.length > 0 && 'route', r.redirect && 'redirect', r.directResponse && 'directResponse'].filter(Boolean);
  if (actions.length === 0) throw new Refused(path, 'one of route, redirect or directResponse is required');
  if (actions.length > 1) throw new Refused(path, `only one of route, redirect or directResponse, got ${actions.join(' and ')}`);
  const out: HttpRoute = {
    ...(r.name !== undefined ? { name: text(r.name, `${path}.name`) } : {}),
    source: ref(path), match, route,
    timeoutMs: durationMs(r.timeout, `${path}.timeout`) ?? 0,
    retries: retries(r.retries, `${path}.retries`),
    headers: headers(r.headers, `${path}.headers`),
    mirrors: mirrors(r, path),
  };
  if (isObj(r.redirect)) {
    const red = r.redirect as Obj;
    const code = red['redirectCode'] ?? 301;
    if (typeof code !== 'number' || !Number.isInteger(code) || code < 300 || code > 399) throw new Refused(`${path}.redirect.redirectCode`, 'must be a 3xx status');
    const derivePort = red['derivePort'];
    if (derivePort !== undefined && derivePort !== 'FROM_PROTOCOL_DEFAULT' && derivePort !== 'FROM_REQUEST_PORT') throw new Refused(`${path}.redirect.derivePort`, 'must be FROM_PROTOCOL_DEFAULT or FROM_REQUEST_PORT');
    out.redirect = omitUndefined({
      uri: optionalText(red['uri'], `${path}.redirect.uri`), authority: optionalText(red['authority'], `${path}.redirect.authority`),
      port: port(red['port'], `${path}.redirect.port`), derivePort: derivePort as 'FROM_PROTOCOL_DEFAULT' | 'FROM_REQUEST_PORT' | undefined,
      scheme: optionalText(red['scheme'], `${path}.redirect.scheme`), code,
    });
  }
  if (isObj(r.directResponse)) {
    const dr = r.directResponse as Obj;
    const status = dr['status'];
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) throw new Refused(`${path}.directResponse.status`, 'must be an HTTP status (100-599)');
    const body = isObj(dr['body']) ? dr['body'] : undefined;
    out.directResponse = { status };
    if (body?.['string'] !== undefined) out.directResponse.body = { string: text(body['string'], `${path}.directResponse.body.string`) };
    else if (body?.['bytes'] !== undefined) {
      const bytes = text(body['bytes'], `${path}.directResponse.body.bytes`);
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(bytes) || bytes.length % 4 !== 0) throw new Refused(`${path}.directResponse.body.bytes`, 'must be base64');
      out.directResponse.body = { bytes };
    }
  }
  if (isObj(r.rewrite)) {
    const rw = r.rewrite as Obj;
    const uriRegex = isObj(rw['uriRegexRewrite']) ? rw['uriRegexRewrite'] : undefined;
    if (uriRegex && rw['uri'] !== undefined) throw new Refused(`${path}.rewrite`, 'uri and uriRegexRewrite cannot both be set');
    out.rewrite = omitUndefined({
      uri: optionalText(rw['uri'], `${path}.rewrite.uri`), authority: optionalText(rw['authority'], `${path}.rewrite.authority`),
      uriRegex: uriRegex ? { match: regex(text(uriRegex['match'], `${path}.rewrite.uriRegexRewrite.match`), `${path}.rewrite.uriRegexRewrite.match`), rewrite: text(uriRegex['rewrite'] ?? '', `${path}.rewrite.uriRegexRewrite.rewrite`) } : undefined,
    });
  }
  const f = fault(r.fault, `${path}.fault`);
  if (f) out.fault = f;
  const cors = corsPolicy(r.corsPolicy, `${path}.corsPolicy`);
  if (cors) out.corsPolicy = cors;
  return out;
}

