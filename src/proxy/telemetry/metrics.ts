import { Counter, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { SourceIdentity } from './events.ts';
import { createHttpSeries } from './http-series.ts';

const DURATION_BUCKETS = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];
const TCP_LABELS = ['reporter', 'source_workload', 'source_workload_namespace', 'destination_service', 'destination_service_name', 'request_protocol', 'response_flags'] as const;

/** Distinct destinations the deny counter names before folding the rest into "other" (a bounded label set). */
const MAX_DENY_DESTINATIONS = 500;

export interface ProxyMetrics {
  registry: Registry;
  request(service: string | undefined, serviceName: string, code: number, flags: string, durationMs: number): void;
  tcpOpened(service: string | undefined, serviceName: string, protocol: string): void;
  tcpClosed(service: string | undefined, serviceName: string, protocol: string, flags: string, sent: number, received: number): void;
  denied(protocol: string, destination: string): void;
  configReload(result: 'applied' | 'rejected'): void;
}

/**
 * Istio's metric names on a private registry. Label values are few by design (destination service, code, flags).
 * The per-request pair (count, duration) is kept by http-series.ts so a request costs a Map lookup, not a label hash.
 */
export function createProxyMetrics(source: SourceIdentity, withProcessMetrics = true): ProxyMetrics {
  const registry = new Registry();
  if (withProcessMetrics) collectDefaultMetrics({ register: registry });
  const http = createHttpSeries(
    { requests: 'istio_requests_total', duration: 'istio_request_duration_milliseconds' },
    { requests: 'HTTP requests, by destination and response code', duration: 'HTTP request duration' },
    DURATION_BUCKETS,
  );
  registry.registerMetric(http.requests as unknown as Metric);
  registry.registerMetric(http.duration as unknown as Metric);
  const sent = new Counter({ name: 'istio_tcp_sent_bytes_total', help: 'Bytes sent to the client on TCP/TLS connections', labelNames: TCP_LABELS, registers: [registry] });
  const received = new Counter({ name: 'istio_tcp_received_bytes_total', help: 'Bytes received from the client on TCP/TLS connections', labelNames: TCP_LABELS, registers: [registry] });
  const opened = new Counter({ name: 'istio_tcp_connections_opened_total', help: 'TCP/TLS connections opened', labelNames: TCP_LABELS, registers: [registry] });
  const closed = new Counter({ name: 'istio_tcp_connections_closed_total', help: 'TCP/TLS connections closed', labelNames: TCP_LABELS, registers: [registry] });
  const denies = new Counter({ name: 'meshgate_proxy_denied_total', help: 'Connections and requests denied by the outbound policy, by destination', labelNames: ['protocol', 'destination'], registers: [registry] });
  const reloads = new Counter({ name: 'meshgate_proxy_config_reloads_total', help: 'Config changes applied or rejected', labelNames: ['result'], registers: [registry] });
  const base = { reporter: 'source', source_workload: source.workload, source_workload_namespace: source.namespace };
  const seenDenies = new Set<string>();
  const tcpLabels = (service: string | undefined, serviceName: string, protocol: string, flags: string) =>
    ({ ...base, destination_service: service ?? 'unknown', destination_service_name: serviceName, request_protocol: protocol, response_flags: flags || '-' });
  return {
    registry,
    request(service, serviceName, code, flags, durationMs) {
      const key = `${service}\u0000${serviceName}\u0000${code}\u0000${flags}`;
      http.record(key, () => ({ ...base, destination_service: service ?? 'unknown', destination_service_name: serviceName, request_protocol: 'http', response_code: String(code), response_flags: flags || '-' }), durationMs);
    },
    tcpOpened(service, serviceName, protocol) {
      opened.inc(tcpLabels(service, serviceName, protocol, '-'));
    },
    tcpClosed(service, serviceName, protocol, flags, sentBytes, receivedBytes) {
      const labels = tcpLabels(service, serviceName, protocol, flags);
      closed.inc(labels);
      sent.inc(labels, sentBytes);
      received.inc(labels, receivedBytes);
    },
    denied(protocol, destination) {
      const label = seenDenies.has(destination) || seenDenies.size < MAX_DENY_DESTINATIONS ? destination : 'other';
      seenDenies.add(label);
      denies.inc({ protocol, destination: label });
    },
    configReload(result) {
      reloads.inc({ result });
    },
  };
}
