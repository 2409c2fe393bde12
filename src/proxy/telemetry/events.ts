import type { AccessRecord } from './access-log.ts';

/** Who this sidecar reports as: from the env the injector sets (ISTIO_META_WORKLOAD_NAME, POD_NAMESPACE). */
export interface SourceIdentity {
  workload: string;
  namespace: string;
}

export function sourceFromEnv(env: NodeJS.ProcessEnv): SourceIdentity {
  return { workload: env['ISTIO_META_WORKLOAD_NAME'] || 'unknown', namespace: env['POD_NAMESPACE'] || 'unknown' };
}

/** Extra facts an event carries beyond the access log record. */
export interface EventContext {
  destinationServiceHost: string;
  destinationIp: string;
  destinationPort: number;
  rule: string;
}

function ms(value: number): string {
  return `${value.toFixed(3)}ms`;
}

/** One JSON telemetry event with Istio's attribute names: one per HTTP request or TCP/TLS connection. */
export function telemetryEvent(r: AccessRecord, ctx: EventContext, source: SourceIdentity): Record<string, unknown> {
  const base = {
    time: new Date(r.startMs).toISOString(),
    reporter: 'source',
    sourceWorkload: source.workload,
    sourceNamespace: source.namespace,
    destinationServiceHost: ctx.destinationServiceHost,
    destinationIp: ctx.destinationIp,
    destinationPort: ctx.destinationPort,
    upstreamCluster: r.cluster,
    responseFlags: r.flags || '-',
    rule: ctx.rule,
  };
  if (r.request) {
    return {
      ...base,
      protocol: 'http',
      method: r.request.method,
      url: r.request.path,
      requestId: r.request.requestId,
      userAgent: r.request.userAgent,
      responseCode: r.code,
      requestSize: r.bytesReceived,
      responseSize: r.bytesSent,
      latency: ms(r.durationMs),
    };
  }
  return {
    ...base,
    protocol: r.sni ? 'tls' : 'tcp',
    requestedServerName: r.sni,
    connectionEvent: 'close',
    receivedBytes: r.bytesReceived,
    sentBytes: r.bytesSent,
    connectionDuration: ms(r.durationMs),
  };
}
