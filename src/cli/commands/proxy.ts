import type { Command } from 'commander';
import { istioNamespaceFromEnv } from '../../mesh/mesh-config.ts';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`invalid port ${JSON.stringify(value)}`);
  return n;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`invalid number of seconds ${JSON.stringify(value)}`);
  return n;
}

interface ProxyFlags {
  configDir?: string;
  kubeconfig?: string;
  istioNamespace: string;
  port: number;
  inboundPort: number;
  metricsPort: number;
  statusPort: number;
  adminPort: number;
  bind?: string;
  drainSeconds?: number;
  snapshotFile?: string;
}

/**
 * The egress sidecar. This process reads the config (a directory, or the cluster's informers), compiles it to a
 * ProxySnapshot file on every change, and runs the Rust data plane `meshgate-proxy` on that file, which serves the
 * traffic. Signals are passed on to it, and its exit code is this command's.
 */
export function registerProxy(program: Command): void {
  program
    .command('proxy')
    .description('the egress sidecar: compiles the mesh config to a snapshot and runs the data plane meshgate-proxy on it')
    .option('--config-dir <dir>', 'read ServiceEntries, VirtualServices and the istio ConfigMap from YAML files here (reloaded on change) instead of Kubernetes')
    .option('--kubeconfig <file>', 'kubeconfig (default: in-cluster or $KUBECONFIG)')
    .option('--istio-namespace <ns>', "namespace of the mesh ConfigMap `istio` (the chart's global.istioNamespace)", istioNamespaceFromEnv())
    .option('--port <port>', 'outbound listener (iptables redirects here)', port, 15001)
    .option('--inbound-port <port>', 'inbound passthrough listener (meshgate init -b redirects here); 0 disables', port, 15006)
    .option('--metrics-port <port>', 'Prometheus: GET /stats/prometheus', port, 15090)
    .option('--status-port <port>', 'readiness: GET /healthz/ready', port, 15021)
    .option('--admin-port <port>', 'admin on 127.0.0.1: GET /explain?host=&port=, /config', port, 15000)
    .option('--bind <address>', 'address of the listeners, metrics and status servers (default: :: dual stack, else 0.0.0.0)')
    .option('--drain-seconds <n>', "on SIGTERM, how long outbound keeps working while connections finish (default: the mesh config's defaultConfig.terminationDrainDuration, else 5)", seconds)
    .option('--snapshot-file <file>', 'where the compiled snapshot is written for meshgate-proxy (default: a file in a new temporary directory)')
    .action(async (opts: ProxyFlags) => {
      // Loaded here, not at registration: other subcommands never pay for the compiler, pino or the Kubernetes client.
      const [{ fileFeed }, { kubernetesFeed }, { createLogger }, { dataplaneBinary, runDataplane }] = await Promise.all([
        import('../../mesh/file-source.ts'),
        import('../../mesh/k8s-source.ts'),
        import('../../observability/logger.ts'),
        import('../../snapshot/dataplane.ts'),
      ]);
      const logger = createLogger('proxy');
      const args = ['--port', String(opts.port), '--inbound-port', String(opts.inboundPort), '--admin-port', String(opts.adminPort), '--status-port', String(opts.statusPort), '--metrics-port', String(opts.metricsPort)];
      if (opts.bind !== undefined) args.push('--bind', opts.bind);
      const code = await runDataplane({
        binary: dataplaneBinary(), snapshotFile: opts.snapshotFile, args, logger,
        namespace: process.env['POD_NAMESPACE'], istioNamespace: opts.istioNamespace,
        drainMs: opts.drainSeconds === undefined ? undefined : Math.ceil(opts.drainSeconds * 1000),
        feed: (store, report) => (opts.configDir ? fileFeed(opts.configDir, store, report) : kubernetesFeed(store, logger, opts.istioNamespace, opts.kubeconfig)),
      });
      // The informers' sockets and timers would keep this process alive after the data plane is gone.
      process.exit(code);
    });
}
