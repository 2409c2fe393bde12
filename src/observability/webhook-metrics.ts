import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The webhook's metrics, on a private registry per app so two apps in one process (tests) never collide.
 * Injection counters carry Istio's names (sidecar_injection_*), so existing dashboards keep working.
 */
export interface WebhookMetrics {
  registry: Registry;
  injectionRequests: Counter;
  injectionSuccess: Counter;
  injectionSkipped: Counter<'reason'>;
  injectionFailures: Counter<'reason'>;
  validationRequests: Counter<'kind' | 'result'>;
  admissionDuration: Histogram<'webhook'>;
  rangeDiscoveryFailures: Counter<'reason'>;
  connectionsDropped: Counter;
  openConnections: Gauge;
}

export function createWebhookMetrics(withProcessMetrics = true): WebhookMetrics {
  const registry = new Registry();
  if (withProcessMetrics) collectDefaultMetrics({ register: registry });
  return {
    registry,
    injectionRequests: new Counter({ name: 'sidecar_injection_requests_total', help: 'Injection AdmissionReviews received', registers: [registry] }),
    injectionSuccess: new Counter({ name: 'sidecar_injection_success_total', help: 'Pods injected', registers: [registry] }),
    injectionSkipped: new Counter({ name: 'sidecar_injection_skip_total', help: 'Pods not injected, by reason', labelNames: ['reason'], registers: [registry] }),
    injectionFailures: new Counter({ name: 'sidecar_injection_failure_total', help: 'Injection requests denied or failed, by reason', labelNames: ['reason'], registers: [registry] }),
    validationRequests: new Counter({ name: 'meshgate_validation_requests_total', help: 'Validation AdmissionReviews, by kind and result', labelNames: ['kind', 'result'], registers: [registry] }),
    admissionDuration: new Histogram({
      name: 'meshgate_admission_duration_seconds',
      help: 'Time to answer an AdmissionReview, body parsing excluded',
      labelNames: ['webhook'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1],
      registers: [registry],
    }),
    rangeDiscoveryFailures: new Counter({ name: 'meshgate_range_discovery_failures_total',
      help: 'Cluster range discoveries that failed (the injector then captures * or keeps the last ranges), by reason',
      labelNames: ['reason'], registers: [registry] }),
    connectionsDropped: new Counter({ name: 'meshgate_webhook_connections_dropped_total',
      help: 'Connections closed on accept because the webhook already held its maximum', registers: [registry] }),
    openConnections: new Gauge({ name: 'meshgate_webhook_open_connections',
      help: 'Connections the webhook holds (TLS handshakes in progress included)', registers: [registry] }),
  };
}
