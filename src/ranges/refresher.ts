import type { ClusterRanges } from '../inject/capture.ts';
import type { Logger } from '../observability/logger.ts';
import type { DiscoveryResult, FailureKind } from './discovery.ts';

export interface RefresherOptions {
  discover: () => Promise<DiscoveryResult>;
  /** How often to ask again (ServiceCIDR events ask sooner). */
  ttlMs: number;
  /** A discovery slower than this counts as failed: a hung API call must not hold the webhook's start. */
  timeoutMs: number;
  logger: Logger;
  onFailure: (kind: FailureKind) => void;
}

export interface RangesRefresher {
  /** What the injector uses now; never computed per request. */
  current(): ClusterRanges | undefined;
  /** Runs discovery now (coalesced: calls during a run schedule exactly one more run). */
  refresh(trigger: string): Promise<void>;
  /** The first discovery, then a refresh every ttlMs. */
  start(): Promise<void>;
  stop(): void;
}

function withTimeout(promise: Promise<DiscoveryResult>, ms: number): Promise<DiscoveryResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<DiscoveryResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, reason: `discovery took longer than ${ms} ms`, failureKind: 'timeout', attempts: [] }), ms);
  });
  return Promise.race([promise.catch((error: unknown): DiscoveryResult =>
    ({ ok: false, reason: `discovery failed: ${(error as Error).message}`, failureKind: 'api_error', attempts: [] })), timeout])
    .finally(() => clearTimeout(timer));
}

/**
 * Keeps the cluster's ranges fresh for the injector. The first failure falls back to `*` (for egress control,
 * capturing more is the safe side) and says so in the source; a later failure keeps the last discovered ranges,
 * since a passing API error should not flip every new pod to capture-everything. Every failure is logged and counted.
 */
export function createRangesRefresher(options: RefresherOptions): RangesRefresher {
  const { logger } = options;
  let current: ClusterRanges | undefined;
  let discovered = false;
  let running: Promise<void> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;

  const runOnce = async (trigger: string): Promise<void> => {
    const result = await withTimeout(options.discover(), options.timeoutMs);
    if (result.ok) {
      const next = { include: result.report.include.join(','), source: result.report.source };
      if (next.include !== current?.include || next.source !== current.source) {
        logger.info({ trigger, include: next.include, source: next.source, found: result.report.found, notes: result.report.notes }, 'capture ranges discovered');
      }
      current = next;
      discovered = true;
      return;
    }
    options.onFailure(result.failureKind);
    if (!discovered) current = { include: '*', source: `fallback:${result.reason}` };
    logger.warn({ trigger, reason: result.reason, attempts: result.attempts, using: current },
      discovered ? 'range discovery failed; keeping the last discovered ranges' : 'range discovery failed; capturing everything (*)');
  };

  const refresh = (trigger: string): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        // Bounded: events arriving during a run queue one more run, at most three in a row, each under the timeout.
        for (let i = 0; i < 3 && (i === 0 || again); i += 1) {
          again = false;
          await runOnce(i === 0 ? trigger : 'queued');
        }
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  return {
    current: () => current,
    refresh,
    async start() {
      await refresh('start');
      timer = setInterval(() => { void refresh('ttl'); }, options.ttlMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
    },
  };
}
