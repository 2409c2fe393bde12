// The routing table's vocabulary, shared by the compiler, the forwarders, telemetry and /explain.

export type TrafficKind = 'http' | 'tls' | 'tcp';

/** Where a connection or request goes once allowed. */
export type UpstreamPlan =
  /** resolution NONE, and passthrough: the address the client dialled. */
  | { kind: 'original' }
  /** resolution DNS: the DNS answer for an allowed name (never the dialled IP: that stops Host and SNI spoofing). */
  | { kind: 'dns'; host: string; port: number | undefined }
  /** resolution STATIC: the ServiceEntry's endpoints. */
  | { kind: 'static'; endpoints: Array<{ address: string; port: number | undefined }> };

export interface Allow {
  allowed: true;
  /** Envoy's cluster name: `outbound|80||httpbin.org`, PassthroughCluster. */
  cluster: string;
  /** The registry host that allowed it (destination_service), or undefined for passthrough. */
  service: string | undefined;
  plan: UpstreamPlan;
  /** What allowed it, for logs and /explain. */
  rule: string;
  reason: string;
}

export interface Deny {
  allowed: false;
  cluster: 'BlackHoleCluster';
  service: undefined;
  rule: string;
  reason: string;
}

export type Decision = Allow | Deny;

export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';
export const BLACKHOLE_CLUSTER = 'BlackHoleCluster';

export function clusterName(port: number, host: string): string {
  return `outbound|${port}||${host}`;
}
