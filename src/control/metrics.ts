import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The control plane's metrics, on a private registry (two servers in one test process never collide). */
export interface ControlMetrics {
  registry: Registry;
  requests: Counter<'code'>;
  authFailures: Counter<'reason'>;
  tokenReviews: Counter<'result'>;
  waiters: Gauge;
  waitersRefused: Counter;
  pushes: Counter;
  compileSeconds: Histogram;
  compileFailures: Counter;
  configChanges: Counter<'kind'>;
  configRejected: Counter<'kind'>;
}

export function createControlMetrics(withProcessMetrics = true): ControlMetrics {
  const registry = new Registry();
  if (withProcessMetrics) collectDefaultMetrics({ register: registry });
  const r = [registry];
  return {
    registry,
    requests: new Counter({ name: 'meshgate_control_requests_total', help: 'Snapshot requests answered, by HTTP status', labelNames: ['code'], registers: r }),
    authFailures: new Counter({ name: 'meshgate_control_auth_failures_total', help: 'Snapshot requests refused: 401 (missing, unauthenticated, audience, not-service-account) or 403 (namespace)', labelNames: ['reason'], registers: r }),
    tokenReviews: new Counter({ name: 'meshgate_control_token_reviews_total', help: 'TokenReviews sent to the API server, by result', labelNames: ['result'], registers: r }),
    waiters: new Gauge({ name: 'meshgate_control_waiting_requests', help: 'Long-poll requests waiting for a change', registers: r }),
    waitersRefused: new Counter({ name: 'meshgate_control_waiters_refused_total', help: 'Long-poll requests answered 503 because the waiter limit was reached', registers: r }),
    pushes: new Counter({ name: 'meshgate_control_snapshot_pushes_total', help: 'New snapshot versions sent to waiting sidecars', registers: r }),
    compileSeconds: new Histogram({ name: 'meshgate_control_compile_seconds', help: 'Time to compile one namespace snapshot', buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1], registers: r }),
    compileFailures: new Counter({ name: 'meshgate_control_compile_failures_total', help: 'Namespace compiles that threw (the last good snapshot stays in force)', registers: r }),
    configChanges: new Counter({ name: 'meshgate_control_config_changes_total', help: 'Informer events that changed the config, by kind', labelNames: ['kind'], registers: r }),
    configRejected: new Counter({ name: 'meshgate_control_config_rejected_total', help: 'Objects refused (invalid), by kind', labelNames: ['kind'], registers: r }),
  };
}
