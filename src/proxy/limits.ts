/** Limits set on purpose (each bounds memory or time a client or upstream can take). */
export interface ProxyLimits {
  /** Request line plus headers, bytes (Envoy's default is 60 KiB; 431 beyond). */
  maxHeaderBytes: number;
  /** Header fields per request (Envoy's default: 100; 431 beyond). */
  maxHeaders: number;
  /** Time to receive a request's headers: slowloris connections are closed after it. */
  headersTimeoutMs: number;
  /** Time to receive a whole request body. */
  requestTimeoutMs: number;
  /** Idle client keep-alive connections. */
  keepAliveTimeoutMs: number;
  /** Concurrent downstream connections; more are refused at accept. */
  maxConnections: number;
  /** Idle TCP/TLS connections (Envoy: 1 h). */
  streamIdleTimeoutMs: number;
  /** Connecting to an upstream. */
  connectTimeoutMs: number;
  /** Idle pooled upstream connections. */
  upstreamIdleTimeoutMs: number;
  maxUpstreamSocketsPerHost: number;
  /** How long to wait for a client's first bytes before treating the connection as server-first TCP. */
  sniffTimeoutMs: number;
}

export const DEFAULT_LIMITS: ProxyLimits = {
  maxHeaderBytes: 60 * 1024,
  maxHeaders: 100,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 300_000,
  keepAliveTimeoutMs: 60_000,
  maxConnections: 10_000,
  streamIdleTimeoutMs: 3_600_000,
  connectTimeoutMs: 10_000,
  upstreamIdleTimeoutMs: 60_000,
  maxUpstreamSocketsPerHost: 1024,
  sniffTimeoutMs: 100,
};
