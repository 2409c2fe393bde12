import type { IncomingMessage } from 'node:http';
import { normalizeHost } from '../../mesh/host-match.ts';

/** The authority a request actually uses and the origin-form path to forward, or why the request is refused. */
export type RequestTarget =
  | { ok: true; authority: string; host: string; path: string }
  | { ok: false; status: 400 | 431; message: string };

/**
 * One authority per request, the one forwarded and connected to: an absolute-form target's authority replaces Host
 * (RFC 9112 §3.2.2) and the Host header is rewritten to it, so policy and upstream never disagree. Duplicate Host
 * headers are refused (RFC 9112 §3.2): a proxy that authorised one and forwarded the other could be spoofed.
 */
export function requestTarget(req: IncomingMessage, maxHeaders: number): RequestTarget {
  const raw = req.rawHeaders;
  if (raw.length / 2 > maxHeaders) return { ok: false, status: 431, message: `more than ${maxHeaders} request headers` };
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') hosts += 1;
  if (hosts > 1) return { ok: false, status: 400, message: 'duplicate Host header' };
  const url = req.url ?? '';
  if (url.startsWith('/')) {
    const authority = req.headers.host;
    if (!authority) return { ok: false, status: 400, message: 'missing Host header' };
    return checked(authority, url);
  }
  if (/^https?:\/\//i.test(url)) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return { ok: false, status: 400, message: 'malformed request target' };
    }
    if (parsed.username || parsed.password) return { ok: false, status: 400, message: 'userinfo in the request target' };
    return checked(parsed.host, `${parsed.pathname}${parsed.search}`);
  }
  return { ok: false, status: 400, message: 'unsupported request target form' };
}

function checked(authority: string, path: string): RequestTarget {
  // Host is a reg-name or IP literal with an optional port: anything else (spaces, '@', '/') is an attempt to confuse.
  if (!/^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._~%!$&'()*+,;=-]+)(?::\d{1,5})?$/.test(authority)) return { ok: false, status: 400, message: 'malformed Host' };
  return { ok: true, authority, host: normalizeHost(authority), path };
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate', 'host']);

/** Headers to forward: hop-by-hop ones and those the Connection header names are dropped. */
export function forwardableHeaders(headers: IncomingMessage['headers']): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const connection = headers['connection'];
  const named = connection ? new Set(connection.toLowerCase().split(',').map((t) => t.trim())) : undefined;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || named?.has(name)) continue;
    out[name] = value;
  }
  return out;
}
