import { asList, asNumber, asObj, asStringMap, asText, has, isRecord, type Obj } from './access.ts';
import { checkDuration, hasSubSecondPart } from '../mesh/duration.ts';
import { at, type Collector } from './field-errors.ts';
import { checkPort, checkWildcardDomain, isDns1123Label } from './names.ts';
import { checkRe2 } from './regex.ts';

// Pieces of an HTTP route that Istio validates the same way wherever they appear: destinations, string matches,
// header operations, percentages, CORS, faults, retries, redirects and rewrites.

/** RFC 7230 `token`: the characters a header field name may have (Istio's rule for matches and CORS lists). */
const HEADER_TOKEN = /^[!#$%&'*+\-.^_`|~A-Za-z0-9]+$/;
/** HTTP/2 pseudo-headers (RFC 7540 §8.1.2.3): a match may name them, e.g. `:authority` or `:method`. */
const PSEUDO_HEADERS = new Set([':method', ':scheme', ':authority', ':path', ':status']);
// `@request.auth.claims.sub` or `@request.auth.claims[nested][key]`: JWT claim routing (gateways only).
const JWT_CLAIM = /^@request\.auth\.claims(?:\.[^.[\]]+(?:\.[^.[\]]+)*|(?:\[[^[\]]+\])+)$/;

export function isJwtClaimHeader(name: string): boolean {
  return JWT_CLAIM.test(name);
}

/** A header a match may name: a JWT claim (gateways only, checked by the caller), a pseudo-header or an RFC 7230 token. */
export function checkMatchHeaderName(name: string): string | undefined {
  if (name === '') return 'header name cannot be empty';
  if (isJwtClaimHeader(name) || PSEUDO_HEADERS.has(name)) return undefined;
  return HEADER_TOKEN.test(name) ? undefined : 'not a valid header name (RFC 7230 token characters, or a pseudo-header such as :authority)';
}

/** A header named in a CORS allow/expose list: `*` or an RFC 7230 token. */
export function checkCorsHeaderName(name: string): string | undefined {
  if (name === '') return 'header name cannot be empty';
  if (name === '*') return undefined;
  return HEADER_TOKEN.test(name) ? undefined : 'not a valid header name (RFC 7230 token characters)';
}

export function checkDestination(value: unknown, path: string, out: Collector): void {
  if (!isRecord(value)) return;
  const host = asText(value['host']);
  if (host === '*') out.error(at(path, 'host'), 'invalid destination host', host);
  else {
    const problem = checkWildcardDomain(host);
    if (problem) out.error(at(path, 'host'), problem, host);
  }
  if (has(value, 'subset')) {
    const subset = asText(value['subset']);
    if (subset === '') out.error(at(path, 'subset'), 'subset name cannot be empty');
    else if (!isDns1123Label(subset)) out.error(at(path, 'subset'), 'subset name is invalid', subset);
  }
  if (has(value, 'port')) {
    const number = asNumber(asObj(value['port'])['number']);
    const problem = checkPort(number);
    if (problem) out.error(at(at(path, 'port'), 'number'), problem, number);
  }
}

/** Checks one StringMatch; `emptyPrefixOk` for uri, where Envoy accepts an empty prefix. */
export function checkStringMatch(value: unknown, path: string, out: Collector, emptyPrefixOk = false): void {
  if (!isRecord(value)) return;
  if (has(value, 'prefix') && !emptyPrefixOk && asText(value['prefix']) === '') out.error(at(path, 'prefix'), 'prefix string match should not be empty');
  if (has(value, 'regex')) checkRegexField(asText(value['regex']), at(path, 'regex'), out);
}

export function checkRegexField(pattern: string, path: string, out: Collector): void {
  if (pattern === '') {
    out.error(path, 'regex string match should not be empty');
    return;
  }
  const problem = checkRe2(pattern);
  if (problem) out.error(path, problem, pattern);
}

const HEADER_VALUE_CONTROL = /[\u0000-\u0008\u000A-\u001F\u007F]/;

/** Envoy's header-value template syntax: `%VAR%`, `%VAR(args)%`, `%%` for a literal percent. */
export function checkHeaderValue(value: string): string | undefined {
  if (HEADER_VALUE_CONTROL.test(value)) return 'header value contains control characters';
  let state: 'literal' | 'name' | 'array' | 'string' | 'delimiter' | 'expectString' | 'argsEnd' | 'varEnd' = 'literal';
  for (let pos = 0; pos < value.length; pos += 1) {
    const ch = value[pos];
    switch (state) {
      case 'literal':
        if (ch !== '%') break;
        if (pos + 1 >= value.length) return 'un-escaped % in header value (write %% for a literal %)';
        if (value[pos + 1] === '%') pos += 1;
        else state = 'name';
        break;
      case 'name':
        if (ch === '%') state = 'literal';
        else if (ch === '(') state = 'array';
        break;
      case 'array':
        if (ch === '[') state = 'expectString';
        else if (ch !== ' ') state = 'string';
        break;
      case 'delimiter':
        if (ch === ',') state = 'expectString';
        else if (ch === ']') state = 'argsEnd';
        else if (ch !== ' ') return "invalid header value: expecting ',', ']' or whitespace";
        break;
      case 'expectString':
        if (ch === '"') state = 'string';
        else if (ch !== ' ') return "invalid header value: expecting '\"'";
        break;
      case 'string':
        if (ch === '\\') {
          if (pos + 1 >= value.length) return 'invalid header value: unterminated backslash in a string';
          pos += 1;
        } else if (ch === ')') state = 'varEnd';
        else if (ch === '"') state = 'delimiter';
        break;
      case 'argsEnd':
        if (ch === ')') state = 'varEnd';
        else if (ch !== ' ') return "invalid header value: expecting ')'";
        break;
      case 'varEnd':
        if (ch === '%') state = 'literal';
        else if (ch !== ' ') return "invalid header value: expecting '%'";
        break;
    }
  }
  return state === 'literal' ? undefined : 'invalid header value: unterminated %VARIABLE% expression';
}

const isAuthority = (name: string): boolean => name.toLowerCase() === ':authority' || name.toLowerCase() === 'host';
const isInternal = (name: string): boolean => name.startsWith(':') || name.toLowerCase() === 'host';

function checkOperationName(name: string, allowAuthority: boolean): string | undefined {
  if (name === '') return 'header name cannot be empty';
  if (allowAuthority) return isInternal(name) && !isAuthority(name) ? 'header cannot have ":" prefix' : undefined;
  if (name.toLowerCase() === 'host') return 'cannot set the Host header';
  return isInternal(name) ? 'header cannot have ":" prefix' : undefined;
}

/** Request set/add may rewrite the authority; response operations and removals may not touch pseudo-headers or Host. */
export function checkHeaderOperations(value: unknown, path: string, out: Collector): void {
  if (!isRecord(value)) return;
  for (const side of ['request', 'response'] as const) {
    const ops = asObj(value[side]);
    const sidePath = at(path, side);
    for (const op of ['set', 'add'] as const) {
      for (const [name, headerValue] of Object.entries(asStringMap(ops[op]))) {
        const problem = checkOperationName(name, side === 'request');
        if (problem) out.error(at(at(sidePath, op), name), problem);
        const valueProblem = checkHeaderValue(asText(headerValue));
        if (valueProblem) out.error(at(at(sidePath, op), name), valueProblem, headerValue);
      }
    }
    asList(ops['remove']).forEach((name, i) => {
      const problem = checkOperationName(asText(name), false);
      if (problem) out.error(at(at(sidePath, 'remove'), i), problem, name);
    });
  }
}

/** Rewriting the authority in two places (rewrite.authority and a Host/:authority header) is ambiguous. */
export function checkAuthorityRewrite(route: Obj, path: string, out: Collector): void {
  let current = asText(asObj(route['rewrite'])['authority']);
  const request = asObj(asObj(route['headers'])['request']);
  for (const op of ['set', 'add'] as const) {
    for (const [name, value] of Object.entries(asStringMap(request[op]))) {
      if (!isAuthority(name)) continue;
      if (current !== '') {
        out.error(at(path, 'headers'), `authority header cannot be set multiple times: have ${JSON.stringify(current)}, attempting to set ${JSON.stringify(value)}`);
        return;
      }
      current = asText(value);
    }
  }
}

/** A fractional percentage: 0, or within [0.0001, 100]. */
export function checkPercentage(value: unknown, path: string, out: Collector): void {
  if (!isRecord(value)) return;
  const v = asNumber(value['value']);
  if (v < 0 || v > 100 || (v > 0 && v < 0.0001)) out.error(at(path, 'value'), 'percentage must be 0 or within [0.0001, 100]', v);
}

export function checkDurationField(record: Obj, key: string, path: string, out: Collector): void {
  if (!has(record, key)) return;
  const problem = checkDuration(asText(record[key]));
  if (problem) out.error(at(path, key), problem, record[key]);
}

const CORS_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE']);

export function checkCors(value: unknown, path: string, out: Collector): void {
  if (!isRecord(value)) return;
  asList(value['allowOrigins']).forEach((origin, i) => {
    const match = asObj(origin);
    const text = asText(match['exact'] ?? match['prefix'] ?? match['regex']);
    if (text === '') out.error(at(at(path, 'allowOrigins'), i), 'an origin must set a non-empty exact, prefix or regex');
    else if (has(match, 'regex')) checkRegexField(text, at(at(at(path, 'allowOrigins'), i), 'regex'), out);
  });
  asList(value['allowMethods']).forEach((method, i) => {
    if (!CORS_METHODS.has(asText(method))) out.error(at(at(path, 'allowMethods'), i), 'not a supported HTTP method', method);
  });
  for (const key of ['allowHeaders', 'exposeHeaders'] as const) {
    asList(value[key]).forEach((name, i) => {
      const problem = checkCorsHeaderName(asText(name));
      if (problem) out.error(at(at(path, key), i), problem, name);
    });
  }
  if (has(value, 'maxAge')) {
    checkDurationField(value, 'maxAge', path, out);
    if (hasSubSecondPart(asText(value['maxAge']))) out.error(at(path, 'maxAge'), 'max_age duration is accurate only to seconds precision', value['maxAge']);
  }
}
