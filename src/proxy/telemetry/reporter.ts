import type { Logger } from '../../observability/logger.ts';
import { formatAccessLog, type AccessRecord } from './access-log.ts';
import { telemetryEvent, type EventContext, type SourceIdentity } from './events.ts';
import type { ProxyMetrics } from './metrics.ts';
import type { LineSink } from './sink.ts';

/** One place that turns a finished request or connection into its access log line, event and metrics. */
export interface Reporter {
  request(record: AccessRecord, ctx: EventContext, service: string | undefined): void;
  connectionOpened(service: string | undefined, cluster: string, protocol: string): void;
  connection(record: AccessRecord, ctx: EventContext, service: string | undefined, protocol: string): void;
  /** Every deny: a log line with the destination and the rule, and a counter. Silent blocking is not an option. */
  denied(protocol: string, destination: string, rule: string, reason: string): void;
}

export interface ReporterDeps {
  accessLog: LineSink;
  events: LineSink | undefined;
  metrics: ProxyMetrics;
  source: SourceIdentity;
  logger: Logger;
}

/** destination_service_name: the registry host, or Istio's cluster names for passthrough and blackhole. */
function serviceName(service: string | undefined, cluster: string): string {
  return service ?? cluster;
}

export function createReporter(deps: ReporterDeps): Reporter {
  const event = (record: AccessRecord, ctx: EventContext): void => {
    if (deps.events) deps.events.write(`${JSON.stringify(telemetryEvent(record, ctx, deps.source))}\n`);
  };
  return {
    request(record, ctx, service) {
      deps.accessLog.write(formatAccessLog(record));
      event(record, ctx);
      deps.metrics.request(service, serviceName(service, record.cluster), record.code, record.flags, record.durationMs);
    },
    connectionOpened(service, cluster, protocol) {
      deps.metrics.tcpOpened(service, serviceName(service, cluster), protocol);
    },
    connection(record, ctx, service, protocol) {
      deps.accessLog.write(formatAccessLog(record));
      event(record, ctx);
      deps.metrics.tcpClosed(service, serviceName(service, record.cluster), protocol, record.flags, record.bytesSent, record.bytesReceived);
    },
    denied(protocol, destination, rule, reason) {
      deps.logger.warn({ protocol, destination, rule, reason }, 'outbound traffic denied');
      deps.metrics.denied(protocol, destination);
    },
  };
}
