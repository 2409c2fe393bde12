// The real RangesApi over client-node, loaded lazily through src/k8s/client.ts. Only translation lives here:
// which ranges to believe is decided in discovery.ts, which unit tests drive with a fake.
import type { KubeConfig } from '@kubernetes/client-node';
import { loadClientNode } from '../k8s/client.ts';
import type { Logger } from '../observability/logger.ts';
import { RangesApiError, type RangesApi } from './ranges-api.ts';

/** The API server's own message out of an ApiException (its body is the Status object, or its JSON text). */
function statusMessage(error: unknown): { status?: number; message: string } {
  const e = error as { code?: unknown; body?: unknown; message?: string; cause?: { code?: string; message?: string } };
  const status = typeof e.code === 'number' ? e.code : undefined;
  let body = e.body;
  if (typeof body === 'string') {
    try { body = JSON.parse(body); } catch { /* not JSON: keep the text */ }
  }
  const message = typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string'
    ? (body as { message: string }).message
    : typeof body === 'string' && body !== '' ? body : e.message ?? String(error);
  // fetch's "fetch failed" hides the reason (ECONNREFUSED, a certificate error) in its cause.
  const cause = e.cause?.code ?? e.cause?.message;
  if (cause && status === undefined) return { message: `${message} (${cause})` };
  return status === undefined ? { message } : { status, message };
}

async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const { status, message } = statusMessage(error);
    throw new RangesApiError(`${what}: ${message.split('\n')[0]}`, status);
  }
}

export async function createClusterRangesApi(config: KubeConfig): Promise<RangesApi> {
  const k8s = await loadClientNode();
  const core = config.makeApiClient(k8s.CoreV1Api);
  const networking = config.makeApiClient(k8s.NetworkingV1Api);
  return {
    listServiceCidrs: () => call('list servicecidrs', async () => (await networking.listServiceCIDR({})).items
      .map((o) => ({ name: o.metadata?.name ?? '?', cidrs: o.spec?.cidrs ?? [] }))),
    listPodArgs: (namespace, labelSelector) => call(`list pods in ${namespace}`, async () =>
      (await core.listNamespacedPod({ namespace, labelSelector })).items.map((p) => ({
        name: p.metadata?.name ?? '?',
        args: (p.spec?.containers ?? []).flatMap((c) => [...(c.command ?? []), ...(c.args ?? [])]),
      }))),
    async dryRunServiceError(clusterIP, family) {
      try {
        await core.createNamespacedService({
          // The webhook's own namespace where it runs in a pod (the chart grants dry-run create only there).
          namespace: process.env['POD_NAMESPACE'] || 'default',
          dryRun: 'All',
          body: {
            metadata: { generateName: 'meshgate-range-probe-' },
            spec: { clusterIP, clusterIPs: [clusterIP], ipFamilies: [family === 4 ? 'IPv4' : 'IPv6'], ipFamilyPolicy: 'SingleStack', ports: [{ port: 80 }] },
          },
        });
        return undefined;
      } catch (error) {
        const { status, message } = statusMessage(error);
        // 422 Invalid is the answer we asked for; anything else (403, 5xx) is a failure of this step.
        if (status === 422) return message;
        throw new RangesApiError(`dry-run create service: ${message.split('\n')[0]}`, status);
      }
    },
    listNodePodCidrs: () => call('list nodes', async () => (await core.listNode({})).items.map((n) => ({
      name: n.metadata?.name ?? '?',
      podCIDRs: n.spec?.podCIDRs ?? (n.spec?.podCIDR ? [n.spec.podCIDR] : []),
    }))),
    async readConfigMap(namespace, name) {
      try {
        return (await core.readNamespacedConfigMap({ namespace, name })).data ?? {};
      } catch (error) {
        const { status, message } = statusMessage(error);
        if (status === 404) return undefined;
        throw new RangesApiError(`read configmap ${namespace}/${name}: ${message.split('\n')[0]}`, status);
      }
    },
  };
}

export interface ServiceCidrWatch {
  stop(): void;
}

/**
 * Calls onChange whenever a ServiceCIDR is added, changed or removed (an admin extending the service range), so
 * the injector does not wait for its TTL. Clusters without the API (before 1.33) just never call it.
 */
export async function watchServiceCidrs(config: KubeConfig, onChange: () => void, logger: Logger): Promise<ServiceCidrWatch> {
  const k8s = await loadClientNode();
  const networking = config.makeApiClient(k8s.NetworkingV1Api);
  const informer = k8s.makeInformer(config, '/apis/networking.k8s.io/v1/servicecidrs', () => networking.listServiceCIDR({}));
  let started = false;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  // The first list replays every object as an add: only changes after that are news.
  for (const event of ['add', 'update', 'delete'] as const) informer.on(event, () => { if (started) onChange(); });
  informer.on('error', (error: unknown) => {
    logger.warn({ err: String(error) }, 'ServiceCIDR watch failed; ranges still refresh on their TTL, retrying the watch in 30s');
    if (stopped) return;
    retry = setTimeout(() => { void informer.start().catch(() => undefined); }, 30_000);
    retry.unref();
  });
  try {
    await informer.start();
  } catch (error) {
    logger.info({ err: statusMessage(error).message }, 'ServiceCIDR objects not served (Kubernetes < 1.33?); ranges refresh on their TTL only');
  }
  started = true;
  return { stop() { stopped = true; clearTimeout(retry); void informer.stop(); } };
}

