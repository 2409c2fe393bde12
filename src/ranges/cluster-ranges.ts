import type { ClusterRanges } from '../inject/capture.ts';
import { loadKubeConfig } from '../k8s/client.ts';
import type { Logger } from '../observability/logger.ts';
import { createClusterRangesApi, watchServiceCidrs, type ServiceCidrWatch } from './cluster-api.ts';
import { discoverRanges, type FailureKind } from './discovery.ts';
import { createRangesRefresher } from './refresher.ts';

export interface ClusterRangesOptions {
  kubeconfig?: string | undefined;
  ttlMs: number;
  timeoutMs: number;
  logger: Logger;
  onFailure: (kind: FailureKind) => void;
}

export interface ClusterRangesSource {
  current(): ClusterRanges | undefined;
  stop(): void;
}

/**
 * The webhook's ranges provider: discovers once before the webhook serves, then on the TTL and whenever a
 * ServiceCIDR changes. A kubeconfig that does not load is a discovery failure like any other (fallback `*`).
 */
export async function startClusterRanges(options: ClusterRangesOptions): Promise<ClusterRangesSource> {
  const config = await loadKubeConfig(options.kubeconfig).catch((error: unknown) => error as Error);
  const api = config instanceof Error ? undefined : await createClusterRangesApi(config);
  const refresher = createRangesRefresher({
    discover: async () => {
      if (!api) return { ok: false, reason: `no cluster access: ${(config as Error).message}`, failureKind: 'api_error', attempts: [] };
      return discoverRanges(api);
    },
    ttlMs: options.ttlMs,
    timeoutMs: options.timeoutMs,
    logger: options.logger,
    onFailure: options.onFailure,
  });
  await refresher.start();
  let watch: ServiceCidrWatch | undefined;
  if (!(config instanceof Error)) {
    watch = await watchServiceCidrs(config, () => { void refresher.refresh('ServiceCIDR changed'); }, options.logger);
  }
  return {
    current: refresher.current,
    stop() {
      refresher.stop();
      watch?.stop();
    },
  };
}
