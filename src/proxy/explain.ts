import { isIP } from 'node:net';
import { normalizeHost } from '../mesh/host-match.ts';
import { decide, type ResolvedUpstream, type SnapshotDecision } from '../snapshot/decide.ts';
import type { ProxySnapshot, SourceRef } from '../snapshot/types.ts';

export interface Explanation {
  host: string;
  port: number;
  mode: string;
  /** The snapshot the answer comes from (the data plane reports the same version). */
  snapshotVersion: string;
  http: ExplainedDecision;
  tls: ExplainedDecision;
  tcp: ExplainedDecision | { note: string };
}

interface ExplainedDecision {
  verdict: 'allow' | 'deny';
  reason: string;
  /** The decision's reason code (docs/snapshot.md). */
  code: string;
  cluster: string | null;
  /** What allowed or denied it: the ServiceEntry port or the mesh setting. */
  rule: string;
  upstream: string;
  status?: number;
  virtualService?: string;
}

export interface ExplainRequest {
  method?: string;
  path?: string;
}

function describeSource(s: SourceRef): string {
  return `${s.kind} ${s.namespace}/${s.name}${s.path ? ` ${s.path}` : ''}`;
}

function describeUpstream(u: ResolvedUpstream | null): string {
  if (u === null) return 'none';
  if (u.kind === 'original') return 'the original destination';
  if (u.kind === 'dns') return `DNS answer for ${u.host}:${u.port}`;
  return `endpoints ${u.endpoints.map((e) => `${e.address}:${e.port}`).join(', ')}`;
}

function explained(d: SnapshotDecision): ExplainedDecision {
  const out: ExplainedDecision = { verdict: d.verdict, reason: d.detail, code: d.reason, cluster: d.cluster, rule: describeSource(d.policySource), upstream: describeUpstream(d.upstream) };
  if (d.status !== null) out.status = d.status;
  if (d.routeSource) out.virtualService = describeSource(d.routeSource);
  return out;
}

/**
 * Why a destination is allowed or denied, for each way a client could reach it (HTTP by Host, TLS by SNI, TCP by
 * address). The answer comes from the snapshot through src/snapshot/decide.ts, the decision the data plane
 * implements and test/vectors/ pins down, so explain and the proxy decide from the same document.
 */
export function explain(snapshot: ProxySnapshot, hostText: string, port: number, request: ExplainRequest = {}): Explanation {
  const host = normalizeHost(hostText);
  const literal = isIP(host) !== 0;
  const ip = literal ? host : '0.0.0.0';
  const destination = { ip, port };
  const http = decide(snapshot, {
    destination, protocol: 'http',
    // The authority as asked (case and port kept): route matches on `authority` see what a client would send.
    request: { scheme: 'http', method: request.method ?? 'GET', authority: hostText.trim(), path: request.path ?? '/', headers: {} },
  });
  return {
    host,
    port,
    mode: snapshot.mesh.outboundTrafficPolicy,
    snapshotVersion: snapshot.version,
    http: explained(http),
    tls: explained(decide(snapshot, { destination, protocol: 'tls', sni: literal ? undefined : host })),
    tcp: literal ? explained(decide(snapshot, { destination, protocol: 'tcp' })) : { note: 'TCP is matched by destination address: ask with an IP address' },
  };
}
