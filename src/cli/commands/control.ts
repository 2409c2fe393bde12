import type { Command } from 'commander';
import { istioNamespaceFromEnv } from '../../mesh/mesh-config.ts';

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`expected a non-negative integer, got ${JSON.stringify(value)}`);
  return n;
}

interface ControlFlags {
  port: number;
  host?: string;
  certDir: string;
  dnsName: string[];
  kubeconfig?: string;
  istioNamespace: string;
  meshConfigmap: string;
  clusterDomain: string;
  audience: string;
  maxWaiters: number;
  tokenCacheSize: number;
  drainSeconds: number;
}

export function registerControl(program: Command): void {
  program
    .command('control')
    .description('the control plane: watches the cluster once and serves each namespace its snapshot (GET /v1/snapshots/NAMESPACE, long-poll)')
    .option('--port <port>', 'HTTPS port', positive, 15012)
    .option('--host <address>', 'listen address (default: all)')
    .option('--cert-dir <dir>', 'tls.crt/tls.key (a mounted Secret); generated with a CA when absent', 'certs/control')
    .option('--dns-name <name>', 'a name for a generated certificate (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--kubeconfig <file>', 'kubeconfig (default: in-cluster or $KUBECONFIG)')
    .option('--istio-namespace <ns>', 'namespace of the mesh ConfigMap (the chart passes global.istioNamespace)', istioNamespaceFromEnv())
    .option('--mesh-configmap <name>', 'name of the mesh ConfigMap', 'istio')
    .option('--cluster-domain <domain>', 'the cluster DNS domain of Service names', 'cluster.local')
    .option('--audience <aud>', 'the audience sidecar tokens must be issued for', 'meshgate')
    .option('--max-waiters <n>', 'long-poll requests held at once; more get 503 + Retry-After', positive, 20_000)
    .option('--token-cache-size <n>', 'TokenReview answers remembered', positive, 20_000)
    .option('--drain-seconds <n>', 'on SIGTERM, how long to wait for answered sidecars to disconnect', positive, 5)
    .action(async (opts: ControlFlags) => {
      const [{ createLogger }, { startControl }, { startInformers, tokenReviewer }, { defaultCompiler }] = await Promise.all([
        import('../../observability/logger.ts'),
        import('../../control/control.ts'),
        import('../../control/informers.ts'),
        import('../../control/compile.ts'),
      ]);
      const logger = createLogger('control');
      process.on('uncaughtException', (error) => logger.error({ err: error.stack ?? String(error) }, 'uncaught exception; continuing'));
      process.on('unhandledRejection', (error) => logger.error({ err: String(error) }, 'unhandled rejection; continuing'));
      const meshConfigMap = { namespace: opts.istioNamespace, name: opts.meshConfigmap };
      const control = await startControl({
        port: opts.port, host: opts.host, certDir: opts.certDir, dnsNames: opts.dnsName, clusterDomain: opts.clusterDomain,
        compile: defaultCompiler,
        review: await tokenReviewer(opts.kubeconfig),
        auth: { audience: opts.audience, maxEntries: opts.tokenCacheSize, maxTrustMs: 10 * 60_000, refusalTtlMs: 10_000, maxInFlight: 64 },
        maxWaiters: opts.maxWaiters,
        debounceMs: 50,
        startFeed: (events) => startInformers({ kubeconfig: opts.kubeconfig, meshConfigMap, events, logger }),
        logger,
      });
      logger.info({ meshConfigMap: `${meshConfigMap.namespace}/${meshConfigMap.name}`, clusterDomain: opts.clusterDomain }, 'watching the cluster');
      const stop = (signal: string): void => {
        logger.info({ signal }, 'draining: answering waiting sidecars, closing');
        control.drain();
        const exit = setTimeout(() => process.exit(0), opts.drainSeconds * 1000);
        void control.close().then(() => { clearTimeout(exit); process.exit(0); });
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
}
