import type { Command } from 'commander';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`invalid port ${JSON.stringify(value)}`);
  return n;
}

interface ProxyFlags {
  configDir?: string;
  kubeconfig?: string;
  port: number;
  inboundPort: number;
  metricsPort: number;
  statusPort: number;
  adminPort: number;
  bind?: string;
  telemetryFile?: string;
  drainSeconds: number;
  dataplane: string;
  snapshotFile?: string;
}

export function registerProxy(program: Command): void {
  program
    .command('proxy')
    .description('the egress sidecar: outbound policy, routing and telemetry for redirected connections')
    .option('--config-dir <dir>', 'read ServiceEntries, VirtualServices and the istio ConfigMap from YAML files here (reloaded on change) instead of Kubernetes')
    .option('--kubeconfig <file>', 'kubeconfig (default: in-cluster or $KUBECONFIG)')
    .option('--port <port>', 'outbound listener (iptables redirects here)', port, 15001)
    .option('--inbound-port <port>', 'inbound passthrough listener (meshgate init -b redirects here); 0 disables', port, 15006)
    .option('--metrics-port <port>', 'Prometheus: GET /stats/prometheus', port, 15090)
    .option('--status-port <port>', 'readiness: GET /healthz/ready', port, 15021)
    .option('--admin-port <port>', 'admin on 127.0.0.1: GET /explain?host=&port=, /config', port, 15000)
    .option('--bind <address>', 'address of the listeners, metrics and status servers (default: :: dual stack, else 0.0.0.0)')
    .option('--telemetry-file <file>', 'also write JSON telemetry events there, one per request or connection (default: none; the access log and metrics are always on)')
    .option('--drain-seconds <n>', 'on SIGTERM, how long open connections may finish', Number, 5)
    .option('--dataplane <node|rust>', 'node: this process proxies; rust: compile the config to a snapshot file and run meshgate-proxy on it (MESHGATE_PROXY_BIN or dataplane/target/release/meshgate-proxy)', process.env['MESHGATE_DATAPLANE'] ?? 'node')
    .option('--snapshot-file <file>', 'with --dataplane rust: where the compiled snapshot is written (default: a temporary file)')
    .action(async (opts: ProxyFlags) => {
      if (opts.dataplane === 'rust') return runRustDataplane(opts);
      if (opts.dataplane !== 'node') throw new Error(`--dataplane must be node or rust, got ${JSON.stringify(opts.dataplane)}`);
      // Loaded here, not at registration: other subcommands never pay for the proxy, prom-client or pino.
      const [{ fileFeed }, { kubernetesFeed }, { createLogger }, { originalDestination, originalDestinationAvailable }, { startProxy }, { createSink }] = await Promise.all([
        import('../../mesh/file-source.ts'),
        import('../../mesh/k8s-source.ts'),
        import('../../observability/logger.ts'),
        import('../../proxy/original-dst.ts'),
        import('../../proxy/proxy.ts'),
        import('../../proxy/telemetry/sink.ts'),
      ]);
      const logger = createLogger('proxy');
      // Last line of defence: one bad connection or request must never take the pod's egress down with it.
      process.on('uncaughtException', (error) => logger.error({ err: error.stack ?? String(error) }, 'uncaught exception; continuing'));
      process.on('unhandledRejection', (error) => logger.error({ err: String(error) }, 'unhandled rejection; continuing'));
      if (!originalDestinationAvailable()) logger.warn('SO_ORIGINAL_DST addon not loaded: redirected connections cannot be forwarded');
      const accessLog = createSink(1);
      // JSON events are opt-in: one JSON.stringify and one more line written per request was a measured share of
      // the proxy's CPU (BENCHMARKS.md), and the access log and Prometheus already carry the same facts.
      const events = opts.telemetryFile === undefined ? undefined : createSink(opts.telemetryFile);
      const proxy = await startProxy({
        feed: (store, report) => (opts.configDir ? fileFeed(opts.configDir, store, report) : kubernetesFeed(store, logger, opts.kubeconfig)),
        originalDestination, logger, accessLog, events,
        bind: opts.bind, port: opts.port, inboundPort: opts.inboundPort === 0 ? undefined : opts.inboundPort, metricsPort: opts.metricsPort, statusPort: opts.statusPort, adminPort: opts.adminPort,
        namespace: process.env['POD_NAMESPACE'],
      });
      const stop = (signal: string): void => {
        logger.info({ signal }, 'draining');
        void proxy.drain(opts.drainSeconds * 1000).then(() => proxy.close()).finally(() => {
          accessLog.flush();
          events?.flush();
          process.exit(0);
        });
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
}

/** The Rust data plane: this process compiles and watches the config; meshgate-proxy serves the traffic. */
async function runRustDataplane(opts: ProxyFlags): Promise<void> {
  if (opts.telemetryFile !== undefined) throw new Error('--telemetry-file is not supported with --dataplane rust (the access log and metrics carry the same facts)');
  const [{ fileFeed }, { kubernetesFeed }, { createLogger }, { dataplaneBinary, runDataplane }] = await Promise.all([
    import('../../mesh/file-source.ts'),
    import('../../mesh/k8s-source.ts'),
    import('../../observability/logger.ts'),
    import('../../snapshot/dataplane.ts'),
  ]);
  const logger = createLogger('proxy');
  const args = ['--port', String(opts.port), '--inbound-port', String(opts.inboundPort), '--admin-port', String(opts.adminPort), '--status-port', String(opts.statusPort), '--metrics-port', String(opts.metricsPort)];
  if (opts.bind !== undefined) args.push('--bind', opts.bind);
  process.exitCode = await runDataplane({
    binary: dataplaneBinary(), snapshotFile: opts.snapshotFile, args, namespace: process.env['POD_NAMESPACE'], logger,
    feed: (store, report) => (opts.configDir ? fileFeed(opts.configDir, store, report) : kubernetesFeed(store, logger, opts.kubeconfig)),
  });
}
