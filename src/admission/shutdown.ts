import type { Server } from 'node:http';
import type { Logger } from '../observability/logger.ts';

/**
 * Graceful shutdown as Kubernetes' webhook good practices describe it. On SIGTERM (sent after the chart's preStop
 * sleep, while endpoints are being removed) the webhook:
 *  1. turns /readyz to 503, so no new traffic is sent to it;
 *  2. keeps serving for the drain period: the API server may still hold pooled keep-alive connections to this pod,
 *     and every answer now carries `Connection: close`, so each such connection ends cleanly after its next review
 *     instead of being cut while a review is on its way;
 *  3. then stops listening, closes idle connections, and waits (bounded) for reviews in flight.
 */
export interface Shutdown {
  readonly draining: boolean;
  /** Starts the drain once (later calls return the same promise); resolves when the server is closed. */
  drain(): Promise<void>;
}

export const DEFAULT_DRAIN_MS = 5_000;
/** How long reviews in flight get after the drain before their connections are cut. */
const IN_FLIGHT_GRACE_MS = 5_000;

export function createShutdown(server: Server, logger: Logger, drainMs = DEFAULT_DRAIN_MS): Shutdown {
  let draining = false;
  let done: Promise<void> | undefined;
  // Every response while draining closes its connection after it is written.
  server.prependListener('request', (_req, res) => {
    if (draining) res.setHeader('connection', 'close');
  });
  const close = (): Promise<void> => new Promise<void>((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), IN_FLIGHT_GRACE_MS);
    server.close(() => { clearTimeout(force); resolve(); });
    server.closeIdleConnections();
  });
  return {
    get draining() { return draining; },
    drain() {
      if (done) return done;
      draining = true;
      logger.info({ drainMs }, 'draining: readiness is 503, answers close their connections');
      done = new Promise<void>((resolve) => setTimeout(resolve, drainMs)).then(close);
      return done;
    },
  };
}
