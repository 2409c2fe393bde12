import type { Logger } from '../observability/logger.ts';
import { ClusterState, type WatchedKind } from './cluster-state.ts';
import type { SnapshotCompiler } from './compile.ts';
import type { InformerEvents } from './informers.ts';
import { createControlMetrics, type ControlMetrics } from './metrics.ts';
import { startControlServer, type RunningControlServer } from './server.ts';
import { SnapshotCache, type ServedSnapshot } from './snapshots.ts';
import { TokenAuthenticator, type AuthOptions, type Review } from './token-auth.ts';

export interface ControlOptions {
  port: number;
  host?: string | undefined;
  certDir: string;
  dnsNames: string[];
  clusterDomain: string;
  compile: SnapshotCompiler;
  review: Review;
  auth: Omit<AuthOptions, 'now'>;
  maxWaiters: number;
  /** Changes closer together than this are compiled once (an apply of many objects is one push, not many). */
  debounceMs: number;
  /** Starts the feed of objects (informers, or a test's own); returns whether every kind has listed once. */
  startFeed(events: InformerEvents): Promise<{ synced(): boolean; stop(): void }>;
  logger: Logger;
  metrics?: ControlMetrics;
}

export interface RunningControl {
  port: number;
  state: ClusterState;
  server: RunningControlServer;
  metrics: ControlMetrics;
  /** Resolves when every change seen so far has been compiled and pushed (tests, the bench). */
  settled(): Promise<void>;
  drain(): void;
  close(): Promise<void>;
}

/** Wires the cluster state, the snapshot cache, the authenticator and the HTTPS server together. */
export async function startControl(options: ControlOptions): Promise<RunningControl> {
  const { logger } = options;
  const metrics = options.metrics ?? createControlMetrics();
  const state = new ClusterState(options.clusterDomain, (problem) => {
    metrics.configRejected.inc({ kind: problem.kind });
    logger.warn(problem, 'config object refused');
  });
  // The server is created after the cache; new versions reach its waiters through this late binding.
  let publish: (snapshot: ServedSnapshot) => void = () => undefined;
  const snapshots = new SnapshotCache(state, options.compile, {
    published: (snapshot) => publish(snapshot),
    compiled: (_namespace, seconds) => metrics.compileSeconds.observe(seconds),
    failed: (namespace, error) => { metrics.compileFailures.inc(); logger.error({ namespace, err: error.message }, 'snapshot compile failed; the last good snapshot stays in force'); },
  });
  const authenticator = new TokenAuthenticator(async (token, audience) => {
    try {
      const answer = await options.review(token, audience);
      metrics.tokenReviews.inc({ result: answer.authenticated ? 'authenticated' : 'refused' });
      return answer;
    } catch (error) {
      metrics.tokenReviews.inc({ result: 'error' });
      throw error;
    }
  }, options.auth);

  let feed: { synced(): boolean; stop(): void } | undefined;
  const server = await startControlServer({
    port: options.port, host: options.host, certDir: options.certDir, dnsNames: options.dnsNames,
    snapshots, authenticate: (token) => authenticator.authenticate(token), metrics, logger,
    maxWaiters: options.maxWaiters, ready: () => feed?.synced() ?? false,
  });

  publish = (snapshot) => server.published(snapshot);

  // One refresh at a time; changes during a refresh schedule one more after it.
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  const refresh = (): void => {
    timer = undefined;
    if (running) { again = true; return; }
    running = snapshots.refresh()
      .catch((error: unknown) => logger.error({ err: String(error) }, 'snapshot refresh failed'))
      .finally(() => {
        running = undefined;
        if (again) { again = false; refresh(); }
      });
  };
  const changed = (kind: WatchedKind): void => {
    metrics.configChanges.inc({ kind });
    timer ??= setTimeout(refresh, options.debounceMs);
  };
  feed = await options.startFeed({
    upsert: (kind, object) => { if (state.upsert(kind, object)) changed(kind); },
    remove: (kind, object) => { if (state.remove(kind, object)) changed(kind); },
  });

  return {
    port: server.port,
    state,
    server,
    metrics,
    async settled() {
      for (let i = 0; i < 1000 && (timer !== undefined || running !== undefined); i += 1) {
        await (running ?? new Promise((r) => setTimeout(r, options.debounceMs)));
      }
    },
    drain: () => server.drain(),
    async close() {
      clearTimeout(timer);
      feed?.stop();
      await server.close();
    },
  };
}
