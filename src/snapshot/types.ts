// The ProxySnapshot document (docs/snapshot.md, docs/snapshot.schema.json): what the data plane decides with.
// These types mirror the schema field for field; a change here is a change of the format and needs the schema,
// the document and the Rust reader changed with it.

export const SNAPSHOT_API_VERSION = 'meshgate.io/snapshot/v1';
export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';
/** Istio's cluster for ALLOW_ANY_DYNAMIC_DNS (Envoy's dynamic forward proxy): unknown HTTP to the DNS answer for its Host. */
export const DYNAMIC_DNS_CLUSTER = 'AllowAnyDynamicDNSCluster';
export const BLACKHOLE_CLUSTER = 'BlackHoleCluster';

export interface SourceRef {
  kind: 'ServiceEntry' | 'VirtualService' | 'MeshConfig';
  namespace: string;
  name: string;
  /** Field path inside the object: `spec.http[1]`, `spec.ports[0]`, `outboundTrafficPolicy.mode`. */
  path: string;
}

export interface Problem {
  source: SourceRef;
  message: string;
}

export interface SnapshotMesh {
  outboundTrafficPolicy: 'ALLOW_ANY' | 'REGISTRY_ONLY' | 'ALLOW_ANY_DYNAMIC_DNS';
  accessLogFile: string;
  accessLogEncoding: 'TEXT' | 'JSON';
  accessLogFormat: string;
  terminationDrainDurationMs: number;
}

export interface ClusterHostIndex {
  exact: Record<string, string>;
  wildcard: Array<{ host: string; cluster: string }>;
}

export interface AddressRule {
  cidr: string;
  cluster: string;
}

export interface Listener {
  port: number;
  http: ClusterHostIndex;
  tls: ClusterHostIndex;
  tcp: AddressRule[];
}

export interface ServiceHostIndex {
  exact: Record<string, string[]>;
  wildcard: Array<{ host: string; clusters: string[] }>;
}

export interface VirtualServiceHostIndex {
  exact: Record<string, number>;
  wildcard: Array<{ host: string; virtualService: number }>;
}

export type Protocol = 'HTTP' | 'HTTPS' | 'HTTP2' | 'GRPC' | 'TLS' | 'TCP' | 'MONGO' | 'REDIS' | 'MYSQL' | 'UDP' | 'UNSPECIFIED';
export type Resolution = 'NONE' | 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN' | 'DYNAMIC_DNS';

export interface Endpoint {
  address: string;
  port: number;
  weight?: number;
  labels?: Record<string, string>;
}

export type Upstream =
  | { kind: 'original' }
  /** `host: null`: the name the client asked for (Host or SNI). */
  | { kind: 'dns'; host: string | null; port: number }
  | { kind: 'static'; endpoints: Array<{ address: string; port: number }> };

export interface Cluster {
  service: string;
  port: number;
  protocol: Protocol;
  resolution: Resolution;
  location: 'MESH_EXTERNAL' | 'MESH_INTERNAL';
  endpoints: Endpoint[];
  upstream: Upstream;
  source: SourceRef;
}

export type StringMatch =
  | { exact: string; ignoreCase?: boolean }
  | { prefix: string; ignoreCase?: boolean }
  | { regex: string; ignoreCase?: boolean }
  | { present: true };

export interface HeaderOps {
  set: Record<string, string>;
  add: Record<string, string>;
  remove: string[];
}

export interface Headers {
  request: HeaderOps;
  response: HeaderOps;
}

export interface L4Destination {
  host: string;
  port?: number;
  subset?: string;
  weight: number;
}

export interface HttpDestination extends L4Destination {
  headers: Headers;
}

export interface HttpMatch {
  name?: string;
  uri?: StringMatch;
  scheme?: StringMatch;
  method?: StringMatch;
  authority?: StringMatch;
  headers: Record<string, StringMatch>;
  withoutHeaders: Record<string, StringMatch>;
  queryParams: Record<string, StringMatch>;
  port?: number;
  sourceLabels: Record<string, string>;
  sourceNamespace?: string;
}

export interface Redirect {
  uri?: string;
  authority?: string;
  port?: number;
  derivePort?: 'FROM_PROTOCOL_DEFAULT' | 'FROM_REQUEST_PORT';
  scheme?: string;
  code: number;
}

export interface DirectResponse {
  status: number;
  body?: { string: string } | { bytes: string };
}

export interface Rewrite {
  uri?: string;
  authority?: string;
  uriRegex?: { match: string; rewrite: string };
}

export interface Retries {
  attempts: number;
  perTryTimeoutMs: number;
  retryOn: string[];
  retriableStatusCodes: number[];
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export interface Fault {
  delay?: { fixedDelayMs: number; percent: number };
  abort?: { httpStatus?: number; grpcStatus?: number; http2Error?: string; percent: number };
}

export interface Mirror {
  host: string;
  port?: number;
  subset?: string;
  percent: number;
}

export interface CorsPolicy {
  allowOrigins: StringMatch[];
  allowMethods: string[];
  allowHeaders: string[];
  exposeHeaders: string[];
  maxAgeMs?: number;
  allowCredentials?: boolean;
  unmatchedPreflights: 'FORWARD' | 'IGNORE';
}

export interface HttpRoute {
  name?: string;
  source: SourceRef;
  match: HttpMatch[];
  route: HttpDestination[];
  redirect?: Redirect;
  directResponse?: DirectResponse;
  rewrite?: Rewrite;
  timeoutMs: number;
  retries: Retries;
  fault?: Fault;
  headers: Headers;
  mirrors: Mirror[];
  corsPolicy?: CorsPolicy;
}

export interface TlsMatch {
  sniHosts: string[];
  destinationSubnets: string[];
  port?: number;
  sourceLabels: Record<string, string>;
  sourceNamespace?: string;
}

export interface TcpMatch {
  destinationSubnets: string[];
  port?: number;
  sourceLabels: Record<string, string>;
  sourceNamespace?: string;
  sourceSubnet?: string;
}

export interface TlsRoute {
  source: SourceRef;
  match: TlsMatch[];
  route: L4Destination[];
}

export interface TcpRoute {
  source: SourceRef;
  match: TcpMatch[];
  route: L4Destination[];
}

export interface SnapshotVirtualService {
  source: SourceRef;
  hosts: string[];
  http: HttpRoute[];
  tls: TlsRoute[];
  tcp: TcpRoute[];
}

export interface ProxySnapshot {
  apiVersion: typeof SNAPSHOT_API_VERSION;
  kind: 'ProxySnapshot';
  version: string;
  mesh: SnapshotMesh;
  listeners: Listener[];
  hosts: ServiceHostIndex;
  clusters: Record<string, Cluster>;
  virtualServices: SnapshotVirtualService[];
  virtualServiceHosts: VirtualServiceHostIndex;
  problems: Problem[];
}
