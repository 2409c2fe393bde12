import { createServer as createHttpsServer } from 'node:https';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createSecureContext } from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { FSWatcher } from 'node:fs';
import { Counter } from 'prom-client';
import type { ClusterRanges } from '../inject/capture.ts';
import { defaultValues, loadValuesFile, valuesFromDocument, type InjectorValues } from '../inject/values.ts';
import { startClusterRanges, type ClusterRangesSource } from '../ranges/cluster-ranges.ts';
import { parseConfigMapRef, watchConfigMap, type ConfigMapWatch } from '../k8s/configmap-watch.ts';
import type { Logger } from '../observability/logger.ts';
import { createWebhookMetrics } from '../observability/webhook-metrics.ts';
import { createApp } from './app.ts';
import { createServedAdmissionHandler, type Reviewer } from './handler.ts';
import { startReviewThread } from './review-thread.ts';
import { ensureCertificates, readTlsMaterial, watchCertificates } from './tls.ts';
import { applyConnectionLimits, serverCreationOptions } from './connection-limits.ts';
import { createShutdown, DEFAULT_DRAIN_MS } from './shutdown.ts';
import { startIdleCollector } from './idle-collector.ts';

export interface WebhookOptions {
  port: number;
  host?: string | undefined;
  certDir: string;
  dnsNames: string[];
  /** Plain HTTP, for a platform that terminates TLS in front (Knative's route). Never exposed directly. */
  plainHttp?: boolean;
  valuesFile?: string | undefined;
  /** NAMESPACE/NAME of an istio-sidecar-injector ConfigMap, read at start and watched. */
  valuesConfigMap?: string | undefined;
  kubeconfig?: string | undefined;
  clusterRanges?: () => ClusterRanges | undefined;
  /** Compute the include ranges from the cluster (kubeconfig above) at start, on this TTL and on ServiceCIDR changes. */
  discoverRanges?: { ttlMs: number; timeoutMs?: number } | undefined;
  reviewers?: Record<string, Reviewer>;
  /** How long close() keeps serving (readiness 503, `Connection: close` answers) before it stops; default 5 s. */
  drainMs?: number;
  logger: Logger;
}

export interface RunningWebhook {
  server: Server;
  port: number;
  /** Drains (see shutdown.ts): readiness 503, serves drainMs with `Connection: close`, then stops; in-flight reviews finish (bounded). */
  close(): Promise<void>;
}

/**
 * The validation worker's bounds. A review's work is bounded by the validation limits (~25 ms of CPU for the
 * worst object they admit), so the deadline only ever stops a defect; 128 reviews at that cost are ~3 s of waiting,
 * and a review that waited 4 s is past what the chart's 5 s webhook timeout leaves the API server. The heap limits
 * keep a runaway review inside the worker (the container's 256 Mi is shared with the serving thread); the young
 * generation's matches the chart's --max-semi-space-size=4. Stopped after 10 s without a review, when the idle
 * collector runs too (review-thread.ts): the allocator then returns its memory within ~10 s more.
 */
const VALIDATION_THREAD = {
  name: 'validation', deadlineMs: 1_000, maxQueued: 128, maxWaitMs: 4_000, idleStopMs: 10_000,
  resourceLimits: { maxOldGenerationSizeMb: 96, maxYoungGenerationSizeMb: 12 },
};

/**
 * Where the validation worker's module is: next to this file when run from source, and dist/validation-worker.mjs
 * in the bundle, whose shared code may sit in dist/chunks/.
 */
function validationWorkerEntry(): URL {
  const here = new URL('.', import.meta.url);
  if (import.meta.url.endsWith('.ts')) return new URL('validation-worker.ts', here);
  return new URL(here.pathname.endsWith('/chunks/') ? '../validation-worker.mjs' : 'validation-worker.mjs', here);
}

export async function startWebhook(options: WebhookOptions): Promise<RunningWebhook> {
  const { logger } = options;
  // A bad --values file throws here, before anything else is done (the CLI exits 2 with the key path): values are
  // checked once, at load.
  let values: InjectorValues = options.valuesFile ? loadValuesFile(options.valuesFile) : defaultValues();
  if (!options.plainHttp) {
    const { generated } = await ensureCertificates(options.certDir, options.dnsNames);
    if (generated) logger.info({ certDir: options.certDir }, 'generated a CA and a serving certificate');
  }
  let tlsLoaded = true;

  const metrics = createWebhookMetrics();
  const valuesRejected = new Counter({ name: 'meshgate_values_rejected_total',
    help: 'Injector values (ConfigMap updates) refused at load; the last good values stay in force', registers: [metrics.registry] });
  let configMapWatch: ConfigMapWatch | undefined;
  // Ready once valid values are in force: a ConfigMap that was bad from the start leaves nothing valid to serve.
  let valuesLoaded = true;
  if (options.valuesConfigMap) {
    const ref = parseConfigMapRef(options.valuesConfigMap);
    const base = values;
    let seenGood = false;
    configMapWatch = await watchConfigMap(ref, (configMap) => {
      try {
        values = configMap ? valuesFromDocument(configMap, `configmap ${options.valuesConfigMap}`) : base;
        seenGood = true;
        valuesLoaded = true;
        logger.info({ configMap: options.valuesConfigMap }, 'injector values loaded');
      } catch (error) {
        valuesRejected.inc();
        if (!seenGood) valuesLoaded = false;
        logger.error({ configMap: options.valuesConfigMap, err: (error as Error).message },
          seenGood ? 'injector values rejected; keeping the last good values' : 'injector values rejected; no valid values loaded yet, not ready');
      }
    }, logger, options.kubeconfig);
  }

  // Without --discover-ranges nothing talks to a cluster (npm start stays instant) and `auto` means `*`.
  let rangesSource: ClusterRangesSource | undefined;
  if (options.discoverRanges) {
    rangesSource = await startClusterRanges({
      kubeconfig: options.kubeconfig,
      ttlMs: options.discoverRanges.ttlMs,
      timeoutMs: options.discoverRanges.timeoutMs ?? 10_000,
      logger,
      onFailure: (reason) => metrics.rangeDiscoveryFailures.inc({ reason }),
    });
  }
  const validation = startReviewThread({ ...VALIDATION_THREAD, entry: validationWorkerEntry(), logger });
  const handle = createServedAdmissionHandler({
    values: () => values,
    clusterRanges: options.clusterRanges ?? rangesSource?.current ?? (() => undefined),
    reviewers: options.reviewers ?? {},
    logger,
    metrics,
  }, { '/validate': validation.review });
  let shutdown: ReturnType<typeof createShutdown> | undefined;
  const app = createApp({
    handle,
    reviewPaths: handle.paths,
    metrics,
    logger,
    readiness: () => {
      if (shutdown?.draining) return { ready: false, waitingFor: ['shutdown (draining)'] };
      const waitingFor = [...(tlsLoaded ? [] : ['TLS material']), ...(valuesLoaded ? [] : ['injector values'])];
      return { ready: waitingFor.length === 0, waitingFor };
    },
  });

  const material = options.plainHttp ? undefined : readTlsMaterial(options.certDir);
  const server: Server = material
    ? createHttpsServer({ cert: material.cert, key: material.key, ...serverCreationOptions() }, app)
    : createHttpServer(serverCreationOptions(), app);
  applyConnectionLimits(server, {
    dropped: () => metrics.connectionsDropped.inc(),
    held: (delta) => metrics.openConnections.inc(delta),
  });
  shutdown = createShutdown(server, logger, options.drainMs ?? DEFAULT_DRAIN_MS);
  const drain = shutdown.drain;
  const idleCollector = startIdleCollector(server);

  const reloadTls = (): void => {
    try {
      const next = readTlsMaterial(options.certDir);
      createSecureContext({ cert: next.cert, key: next.key }); // throws on a mismatched or half-written pair
      (server as ReturnType<typeof createHttpsServer>).setSecureContext({ cert: next.cert, key: next.key });
      tlsLoaded = true;
      logger.info({ certDir: options.certDir }, 'serving certificate reloaded');
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'certificate files changed but do not load; still serving the previous pair');
    }
  };
  const certWatcher: FSWatcher | undefined = material ? watchCertificates(options.certDir, reloadTls) : undefined;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, tls: !options.plainHttp, certDir: options.certDir, values: options.valuesFile ?? options.valuesConfigMap ?? 'embedded defaults' }, 'webhook listening');

  return {
    server,
    port,
    async close() {
      certWatcher?.close();
      configMapWatch?.stop();
      rangesSource?.stop();
      idleCollector.stop();
      await drain();
      await validation.close();
    },
  };
}
