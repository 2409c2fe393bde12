// meshgate proxy: the egress sidecar. How to run it (the injected container runs just `meshgate proxy`):
//
//   meshgate proxy [--config-dir DIR] [--kubeconfig FILE] [--port 15001] [--inbound-port 15006] [--metrics-port 15090]
//                  [--status-port 15021] [--admin-port 15000] [--telemetry-file FILE] [--bind ADDRESS]
//
// Without --config-dir it reads ServiceEntries, VirtualServices and the `istio` ConfigMap from Kubernetes
// (in-cluster, $KUBECONFIG or --kubeconfig). With --config-dir DIR it reads the YAML files there (ConfigMap `istio`
// in istio-system with key `mesh` included) and reloads them on change. Access log lines and the proxy's own JSON
// log lines go to stdout; JSON telemetry events only with --telemetry-file (opt-in: they cost CPU per request). Readiness: GET
// :15021/healthz/ready; metrics: GET :15090/stats/prometheus; GET 127.0.0.1:15000/explain?host=H&port=P.
import { Agent, type Server as HttpServer } from 'node:http';
import type { Server, Socket } from 'node:net';
import { ConfigStore } from '../mesh/config-store.ts';
import type { ConfigFeed } from '../mesh/file-source.ts';
import type { Logger } from '../observability/logger.ts';
import { createAdminServer, createMetricsServer, createStatusServer } from './admin.ts';
import type { ConnectionInfo, OriginalDestinationFn } from './connection.ts';
import { createHttpHandler } from './http/handler.ts';
import { createProxyHttpServer } from './http/server.ts';
import { createInboundListener } from './inbound.ts';
import { createOutboundListener } from './listener.ts';
import { DEFAULT_LIMITS, type ProxyLimits } from './limits.ts';
import { compileTable, routingProblem, type RoutingTable } from './routing/table.ts';
import { compileSnapshot } from '../snapshot/compile.ts';
import type { ProxySnapshot } from '../snapshot/types.ts';
import { visibleTo } from '../snapshot/visible.ts';
import { sourceFromEnv, type SourceIdentity } from './telemetry/events.ts';
import { createProxyMetrics, type ProxyMetrics } from './telemetry/metrics.ts';
import { createReporter } from './telemetry/reporter.ts';
import type { LineSink } from './telemetry/sink.ts';
import { cachedLookup, systemLookup, type HostLookup } from './upstream.ts';

export interface ProxyOptions {
  /** Builds the config feed over the store the proxy owns (file or Kubernetes source). */
  feed: (store: ConfigStore, report: (message: string) => void) => ConfigFeed;
  originalDestination: OriginalDestinationFn;
  logger: Logger;
  accessLog: LineSink;
  events?: LineSink;
  bind?: string;
  port: number;
  /** undefined: that server is not started. */
  metricsPort?: number;
  /** The inbound passthrough listener (15006); undefined: not started. */
  inboundPort?: number;
  statusPort?: number;
  adminPort?: number;
  adminBind?: string;
  lookup?: HostLookup;
  limits?: Partial<ProxyLimits>;
  /** The proxy's namespace, for exportTo (POD_NAMESPACE). */
  namespace?: string;
  source?: SourceIdentity;
  random?: () => number;
  processMetrics?: boolean;
}

export interface RunningProxy {
  port: number;
  inboundPort: number | undefined;
  metricsPort: number | undefined;
  statusPort: number | undefined;
  adminPort: number | undefined;
  metrics: ProxyMetrics;
  table(): RoutingTable;
  ready(): boolean;
  /** Stops accepting, lets open requests finish (keep-alive ends), closes what is left after `graceMs`. */
  drain(graceMs: number): Promise<void>;
  close(): Promise<void>;
}

function listen(server: Server | HttpServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const logger = options.logger;
  const source = options.source ?? sourceFromEnv(process.env);
  const metrics = createProxyMetrics(source, options.processMetrics ?? true);
  const reporter = createReporter({ accessLog: options.accessLog, events: options.events, metrics, source, logger });
  const compileOptions = { namespace: options.namespace };
  const store = new ConfigStore((p) => {
    logger.warn({ object: p.key, source: p.source }, `invalid config object: ${p.message}`);
    metrics.configReload('rejected');
  }, routingProblem);
  let table = compileTable(store.snapshot(), compileOptions);
  let loaded = false;
  let listening = false;
  let draining = false;
  // /explain answers from the ProxySnapshot (the data plane's document), compiled on the first ask after a change.
  let explained: ProxySnapshot | undefined;
  const onChange = (): void => {
    // Compiled once per change and swapped: requests in flight keep the table they started with.
    table = compileTable(store.snapshot(), compileOptions);
    explained = undefined;
    metrics.configReload('applied');
    logger.info({ mode: table.mode, serviceEntries: table.counts.serviceEntries, virtualServices: table.counts.virtualServices }, 'config applied');
  };
  const feed = options.feed(store, (message) => {
    logger.warn(message);
    metrics.configReload('rejected');
  });

  const connections = new WeakMap<Socket, ConnectionInfo>();
  const open = new Set<Socket>();
  const agent = new Agent({ keepAlive: true, maxSockets: limits.maxUpstreamSocketsPerHost, maxFreeSockets: 64, timeout: limits.upstreamIdleTimeoutMs, scheduling: 'lifo' });
  const lookup = options.lookup ?? cachedLookup(systemLookup);
  const random = options.random ?? Math.random;
  const httpServer = createProxyHttpServer(limits, createHttpHandler({
    table: () => table, connection: (s) => connections.get(s), agent, lookup, reporter, maxHeaders: limits.maxHeaders, random, draining: () => draining,
  }));
  const listener = createOutboundListener({
    originalDestination: options.originalDestination, table: () => table, httpServer, connections,
    stream: { lookup, reporter, idleTimeoutMs: limits.streamIdleTimeoutMs, connectTimeoutMs: limits.connectTimeoutMs },
    sniffTimeoutMs: limits.sniffTimeoutMs, maxConnections: limits.maxConnections, logger,
  });
  listener.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });

  let applied = false;
  await feed.start(() => { applied = true; onChange(); });
  if (!applied) onChange(); // an empty or unchanged first read still puts the defaults in force
  loaded = true;
  // Dual stack ('::' also accepts IPv4) where the kernel has IPv6, else IPv4 only.
  const bind = options.bind ?? (await listen(listener, options.port, '::').then(() => '::', () => '0.0.0.0'));
  const port = listener.listening ? (listener.address() as { port: number }).port : await listen(listener, options.port, bind);
  listening = true;
  const streamDeps = { lookup, reporter, idleTimeoutMs: limits.streamIdleTimeoutMs, connectTimeoutMs: limits.connectTimeoutMs };
  let inboundPort: number | undefined;
  const inbound = options.inboundPort === undefined ? undefined : createInboundListener(options.originalDestination, streamDeps);
  if (inbound) {
    inbound.on('connection', (socket: Socket) => { open.add(socket); socket.once('close', () => open.delete(socket)); });
    inboundPort = await listen(inbound, options.inboundPort!, bind);
  }
  const ready = (): boolean => loaded && listening && !draining;
  const side: Array<Server | HttpServer> = [];
  const start = async (server: HttpServer, p: number | undefined, host: string): Promise<number | undefined> => {
    if (p === undefined) return undefined;
    side.push(server);
    return listen(server, p, host);
  };
  const metricsPort = await start(createMetricsServer(metrics.registry), options.metricsPort, bind);
  const statusPort = await start(createStatusServer(ready), options.statusPort, bind);
  const adminPort = await start(createAdminServer(() => (explained ??= compileSnapshot(visibleTo(store.snapshot(), options.namespace))), () => ({ mode: table.mode, ...table.counts, ready: ready(), openConnections: open.size })), options.adminPort, options.adminBind ?? '127.0.0.1');
  logger.info({ port, inboundPort, metricsPort, statusPort, adminPort }, 'proxy listening');

  const drain = async (graceMs: number): Promise<void> => {
    draining = true;
    listener.close();
    inbound?.close();
    httpServer.closeIdleConnections();
    const deadline = Date.now() + graceMs;
    while (open.size > 0 && Date.now() < deadline) {
      httpServer.closeIdleConnections();
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const socket of open) socket.destroy();
  };
  return {
    port, inboundPort, metricsPort, statusPort, adminPort, metrics,
    table: () => table,
    ready,
    drain,
    async close() {
      feed.stop();
      await drain(0);
      httpServer.close();
      agent.destroy();
      await Promise.all(side.map((s) => new Promise((r) => { (s as HttpServer).closeAllConnections?.(); s.close(() => r(undefined)); })));
    },
  };
}
