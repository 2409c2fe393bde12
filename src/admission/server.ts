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
import { createReviewers, recordReview, runReviewOfBytes, type HandlerResult, type Reviewer } from './handler.ts';
import { startReviewThread } from './review-thread.ts';
import { exceedsSeparatorBudget } from './review-cost.ts';
import type { ReviewContext } from './review-worker.ts';
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
 * The review worker's bounds (review-thread.ts). A review's work is bounded by the validation limits and the body
 * limit (~25 ms of CPU for the worst VirtualService the limits admit, ~300 ms for 20,000 routes), so the deadline
 * only ever stops a defect. 32 MiB of reviews may wait (their bytes are held here), and a review that waited 4 s is
 * past what the chart's 5 s webhook timeout leaves; the count, 1,000, is the connection limit's (one review per
 * connection at a time): a smaller one refused reviews of clients that were only slow to be served (4,224 of 65,000
 * pods with 200 clients when 100 KB pods went to the worker).
 * The heap limits keep a runaway review inside the worker, so the container's 256 Mi holds both threads. 48 MB of
 * old generation validates a 20,000-route VirtualService (1.8 MB, past the 1.5 MiB etcd stores by default) and
 * refuses a hostile 5.4 MB one of 60,000 shadowed routes with the process peaking at 218 MB; 64 MB also admitted
 * 30,000 routes (2.7 MB) but peaked at 253 MB, 96 MB at 269 (an OOM kill in the chart's limit). The young
 * generation's matches the chart's --max-semi-space-size=4. Stopped after 10 s without a review, when the idle
 * collector runs too: the allocator then returns its memory within ~10 s more.
 */
const REVIEW_THREAD = {
  deadlineMs: 2_000, maxQueued: 1_000, maxQueuedBytes: 32 * 1024 * 1024, maxWaitMs: 4_000, idleStopMs: 10_000,
  resourceLimits: { maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 12 },
};

/**
 * Which reviews the serving thread hands to the review worker: every /validate review (its cost is not in its
 * size: ~25 ms for a 100 KB object of regexes), and an /inject review of more than 8,192 separators (see
 * review-cost.ts; ~4,000 keys, where parsing and injecting cost the serving thread ~5-10 ms). Pods are the frequent
 * path: the pathological pod of the benchmark (1,500 variables, 50 containers) has ~6,400, an ordinary one a few
 * hundred, and a pod made large by one long annotation few. So the worker (a second V8 isolate) runs only when
 * objects are validated or a pod is costly, and its memory is spent only then.
 */
const IN_THREAD_INJECT_MAX_SEPARATORS = 8_192;

/**
 * Where the review worker's module is: next to this file when run from source, and dist/review-worker.mjs in the
 * bundle, whose shared code may sit in dist/chunks/.
 */
function reviewWorkerEntry(): URL {
  const here = new URL('.', import.meta.url);
  if (import.meta.url.endsWith('.ts')) return new URL('review-worker.ts', here);
  return new URL(here.pathname.endsWith('/chunks/') ? '../review-worker.mjs' : 'review-worker.mjs', here);
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
  const clusterRanges = options.clusterRanges ?? rangesSource?.current ?? (() => undefined);
  const reviewers = createReviewers({ values: () => values, clusterRanges, reviewers: options.reviewers });
  const reviewThread = startReviewThread({ ...REVIEW_THREAD, entry: reviewWorkerEntry(), logger });
  const offThread = (path: string, body: Buffer): boolean => !options.reviewers?.[path] // a reviewer given in code runs here
    && (path === '/validate' || (path === '/inject' && exceedsSeparatorBudget(body, IN_THREAD_INJECT_MAX_SEPARATORS)));
  const review = (path: string, contentType: string | undefined, body: Buffer): HandlerResult | Promise<HandlerResult> => {
    if (!offThread(path, body)) {
      const { result, event } = runReviewOfBytes(reviewers, path, contentType, body);
      recordReview(event, logger, metrics);
      return result;
    }
    const context: ReviewContext = { values, clusterRanges: clusterRanges() };
    return reviewThread.review({ path, contentType, body, context }).then(({ result, event }) => {
      recordReview(event, logger, metrics);
      return result;
    });
  };
  let shutdown: ReturnType<typeof createShutdown> | undefined;
  const app = createApp({
    review,
    reviewPaths: Object.keys(reviewers),
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
      await reviewThread.close();
    },
  };
}
