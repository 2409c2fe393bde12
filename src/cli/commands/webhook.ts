import type { Command } from 'commander';
import { ExitCode } from '../exit-codes.ts';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`invalid port ${JSON.stringify(value)}`);
  return n;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`invalid number of seconds ${JSON.stringify(value)}`);
  return n;
}

export function registerWebhook(program: Command): void {
  program
    .command('webhook')
    .description('serve the admission webhooks (/inject, /validate) over HTTPS')
    .option('--port <port>', 'port (default 9443; with --plain-http $PORT or 8080)', port)
    .option('--plain-http', 'serve plain HTTP behind a TLS-terminating platform (Knative); never expose it directly')
    .option('--host <address>', 'address to bind (default: all)')
    .option('--cert-dir <dir>', 'TLS material; generated there when absent', 'certs')
    .option('--dns-name <name>', 'extra SAN for a generated certificate (repeatable)', collect, [])
    .option('--values <file>', 'injector values (YAML or JSON; Istio names) over the embedded defaults')
    .option('--values-configmap <namespace/name>', 'istio-sidecar-injector ConfigMap to read at start and watch')
    .option('--kubeconfig <file>', 'kubeconfig for --values-configmap and --discover-ranges (default: in-cluster or $KUBECONFIG)')
    .option('--discover-ranges', "compute includeIPRanges 'auto' from the cluster (at start, on the TTL, on ServiceCIDR changes)")
    .option('--ranges-ttl <seconds>', 'how often --discover-ranges asks again', seconds, 600)
    .action(async (opts: { port?: number; plainHttp?: boolean; host?: string; certDir: string; dnsName: string[]; values?: string; valuesConfigmap?: string; kubeconfig?: string; discoverRanges?: boolean; rangesTtl: number }) => {
      // Imported on use: every subcommand's dependencies load only when that subcommand runs (cold start).
      const [{ startWebhook }, { createLogger }] = await Promise.all([
        import('../../admission/server.ts'),
        import('../../observability/logger.ts'),
      ]);
      const logger = createLogger('webhook');
      const listenPort = opts.port ?? (opts.plainHttp ? port(process.env['PORT'] ?? '8080') : 9443);
      const webhook = await startWebhook({
        port: listenPort,
        plainHttp: opts.plainHttp === true,
        host: opts.host,
        certDir: opts.certDir,
        dnsNames: opts.dnsName,
        valuesFile: opts.values,
        valuesConfigMap: opts.valuesConfigmap,
        kubeconfig: opts.kubeconfig,
        discoverRanges: opts.discoverRanges ? { ttlMs: opts.rangesTtl * 1000 } : undefined,
        logger,
      }).catch((error: unknown) => {
        // Exit here rather than return a code: the certificate and ConfigMap watchers already started would keep a
        // process that serves nothing alive (a port in use used to log EADDRINUSE and run on).
        const failure = error as NodeJS.ErrnoException;
        const listening = failure.syscall === 'listen';
        const where = `${opts.host ?? '*'}:${listenPort}`;
        process.stderr.write(`meshgate webhook: ${listening ? `cannot listen on ${where}: ${failure.code === 'EADDRINUSE' ? 'address already in use' : failure.message}` : failure.message}\n`);
        process.exit(listening ? ExitCode.failed : ExitCode.usage);
      });
      const stop = (signal: string): void => {
        logger.info({ signal }, 'draining');
        void webhook.close().then(() => process.exit(0));
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
}
