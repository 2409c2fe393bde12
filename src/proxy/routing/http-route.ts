import type { IncomingHttpHeaders } from 'node:http';
import type { HeaderOperations } from '../../mesh/resources.ts';
import type { CompiledHttpMatch, CompiledHttpRoute, CompiledVirtualService } from './virtual-services.ts';

/** What a route match looks at. `path` includes the query string; matchers see the path without it. */
export interface RouteRequest {
  method: string;
  path: string;
  authority: string;
  port: number;
  headers: IncomingHttpHeaders;
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function matchOne(m: CompiledHttpMatch, r: RouteRequest, pathOnly: string): boolean {
  if (m.port !== undefined && m.port !== r.port) return false;
  if (m.uri && !m.uri.test(pathOnly)) return false;
  if (m.method && !m.method.test(r.method)) return false;
  if (m.authority && !m.authority.test(r.authority)) return false;
  for (const [name, matcher] of m.headers) {
    const value = headerValue(r.headers, name);
    if (value === undefined || !matcher.test(value)) return false;
  }
  for (const [name, matcher] of m.withoutHeaders) {
    const value = headerValue(r.headers, name);
    if (value !== undefined && matcher.test(value)) return false;
  }
  return true;
}

/** The first route whose matches (any of them; none means all) accept the request, and the match that did. */
export function selectHttpRoute(vs: CompiledVirtualService, r: RouteRequest): { route: CompiledHttpRoute; match: CompiledHttpMatch | undefined } | undefined {
  const query = r.path.indexOf('?');
  const pathOnly = query < 0 ? r.path : r.path.slice(0, query);
  for (const route of vs.http) {
    if (route.matches.length === 0) return { route, match: undefined };
    const match = route.matches.find((m) => matchOne(m, r, pathOnly));
    if (match) return { route, match };
  }
  return undefined;
}

/** Weighted choice, the snapshot decision's own walk (one implementation for both data paths). */
export { pickWeightedOfTotal as pickDestination } from '../../snapshot/decide.ts';

/** Applies set/add/remove to a header object in place (names compared without case). */
export function applyHeaderOps(headers: Record<string, string | string[] | number | undefined>, ops: HeaderOperations | undefined): void {
  if (!ops) return;
  for (const [name, value] of Object.entries(ops.set ?? {})) headers[name.toLowerCase()] = value;
  for (const [name, value] of Object.entries(ops.add ?? {})) {
    const key = name.toLowerCase();
    const current = headers[key];
    headers[key] = current === undefined ? value : [...(Array.isArray(current) ? current : [String(current)]), value];
  }
  for (const name of ops.remove ?? []) delete headers[name.toLowerCase()];
}

/** rewrite.uri replaces the matched prefix when the match was a prefix, else the whole path (query kept). */
export function rewritePath(path: string, rewriteUri: string | undefined, match: CompiledHttpMatch | undefined): string {
  if (rewriteUri === undefined) return path;
  const prefix = match?.uri?.prefix;
  if (prefix !== undefined && path.startsWith(prefix)) return rewriteUri + path.slice(prefix.length);
  const query = path.indexOf('?');
  return rewriteUri + (query < 0 ? '' : path.slice(query));
}

/** The Location of a redirect: each part replaced when the route sets it, else the request's. */
export function redirectLocation(redirect: NonNullable<CompiledHttpRoute['redirect']>, r: RouteRequest, host: string): string {
  const scheme = redirect.scheme ?? 'http';
  const authorityHost = redirect.authority ?? host;
  const port = redirect.port !== undefined ? `:${redirect.port}` : '';
  const withPort = redirect.authority === undefined && redirect.port === undefined ? r.authority : `${authorityHost}${port}`;
  return `${scheme}://${withPort}${redirect.uri ?? r.path}`;
}

/** Percent chance helper for faults: `random` in [0, 1). */
export function chance(percent: number, random: number): boolean {
  return random * 100 < percent;
}
