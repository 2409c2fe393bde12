import { isIP } from 'node:net';
import { normalizeHost } from '../mesh/host-match.ts';
import { selectHttpRoute } from './routing/http-route.ts';
import { decideHttp, decideTcp, decideTls, type RoutingTable } from './routing/table.ts';
import type { Decision } from './routing/types.ts';

export interface Explanation {
  host: string;
  port: number;
  mode: string;
  http: ExplainedDecision;
  tls: ExplainedDecision;
  tcp: ExplainedDecision | { note: string };
}

interface ExplainedDecision {
  verdict: 'allow' | 'deny';
  cluster: string;
  rule: string;
  reason: string;
  upstream: string;
  virtualService?: string;
}

function explained(d: Decision): ExplainedDecision {
  const upstream = !d.allowed ? 'none' : d.plan.kind === 'original' ? 'the original destination' : d.plan.kind === 'dns' ? `DNS answer for ${d.plan.host}` : `endpoints ${d.plan.endpoints.map((e) => e.address).join(', ')}`;
  return { verdict: d.allowed ? 'allow' : 'deny', cluster: d.cluster, rule: d.rule, reason: d.reason, upstream };
}

/**
 * Why a destination is allowed or denied, for each way a client could reach it (HTTP by Host, TLS by SNI, TCP by
 * address): the same decision functions the proxy runs, so the answer cannot drift from the behaviour.
 */
export function explain(table: RoutingTable, hostText: string, port: number): Explanation {
  const host = normalizeHost(hostText);
  const ip = isIP(host) ? host : '0.0.0.0';
  const http = explained(decideHttp(table, host, port, ip));
  const vs = table.virtualServices.find(host)?.value;
  if (vs) {
    const selected = selectHttpRoute(vs, { method: 'GET', path: '/', authority: host, port, headers: {} });
    http.virtualService = selected ? `${vs.ref} route ${selected.route.name} (for GET /)` : `${vs.ref} (no route matches GET /)`;
  }
  return {
    host,
    port,
    mode: table.mode,
    http,
    tls: explained(decideTls(table, isIP(host) ? undefined : host, port, ip)),
    tcp: isIP(host) ? explained(decideTcp(table, host, port)) : { note: 'TCP is matched by destination address: ask with an IP address' },
  };
}
