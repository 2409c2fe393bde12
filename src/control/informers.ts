// The thin edge to the API server: one informer (one list, then one watch) per kind for the whole control plane,
// feeding ClusterState; and the TokenReview call. Everything decided about the objects is in the pure modules.
import type { KubeConfig } from '@kubernetes/client-node';
import { loadClientNode, loadKubeConfig, type K8s } from '../k8s/client.ts';
import { NETWORKING_GROUP } from '../mesh/resources.ts';
import type { Logger } from '../observability/logger.ts';
import type { WatchedKind } from './cluster-state.ts';
import type { Review } from './token-auth.ts';

/** v1beta1 is served by every Istio release that has v1, and by older ones (as the proxy's own informers use). */
const ISTIO_VERSION = 'v1beta1';

export interface InformerEvents {
  upsert(kind: WatchedKind, object: unknown): void;
  remove(kind: WatchedKind, object: unknown): void;
}

export interface Informers {
  /** Whether every kind has listed once. */
  synced(): boolean;
  stop(): void;
}

interface Source {
  kind: WatchedKind;
  path: string;
  list(): Promise<unknown>;
}

function sources(client: K8s, config: KubeConfig, meshConfigMap: { namespace: string; name: string }): Source[] {
  const custom = config.makeApiClient(client.CustomObjectsApi);
  const core = config.makeApiClient(client.CoreV1Api);
  const istio = (kind: WatchedKind, plural: string): Source => ({
    kind, path: `/apis/${NETWORKING_GROUP}/${ISTIO_VERSION}/${plural}`,
    list: () => custom.listClusterCustomObject({ group: NETWORKING_GROUP, version: ISTIO_VERSION, plural }),
  });
  const selector = `metadata.name=${meshConfigMap.name}`;
  return [
    istio('ServiceEntry', 'serviceentries'),
    istio('VirtualService', 'virtualservices'),
    { kind: 'Service', path: '/api/v1/services', list: () => core.listServiceForAllNamespaces() },
    {
      kind: 'MeshConfigMap',
      path: `/api/v1/namespaces/${meshConfigMap.namespace}/configmaps?fieldSelector=${encodeURIComponent(selector)}`,
      list: () => core.listNamespacedConfigMap({ namespace: meshConfigMap.namespace, fieldSelector: selector }),
    },
  ];
}

/**
 * Starts the four informers and returns at once; each lists (retrying every 2 s while the API server or a CRD is
 * missing), then watches, relisting on 410 Gone (client-node does) and restarting after a pause on other errors.
 * The state keeps the last good objects through any of that.
 */
export async function startInformers(options: {
  kubeconfig?: string | undefined;
  meshConfigMap: { namespace: string; name: string };
  events: InformerEvents;
  logger: Logger;
  retryMs?: number;
}): Promise<Informers> {
  const { events, logger } = options;
  const retryMs = options.retryMs ?? 2000;
  const client = await loadClientNode();
  const config = await loadKubeConfig(options.kubeconfig);
  const listed = new Set<WatchedKind>();
  const stops: Array<() => void> = [];
  let stopping = false;
  for (const source of sources(client, config, options.meshConfigMap)) {
    const list = async (): Promise<never> => {
      const answer = await source.list();
      listed.add(source.kind);
      return answer as never;
    };
    const informer = client.makeInformer(config, source.path, list);
    informer.on('add', (object: unknown) => events.upsert(source.kind, object));
    informer.on('update', (object: unknown) => events.upsert(source.kind, object));
    informer.on('delete', (object: unknown) => events.remove(source.kind, object));
    let retry: NodeJS.Timeout | undefined;
    const start = (): void => {
      if (stopping) return;
      void informer.start().catch((error: unknown) => restart(error));
    };
    const restart = (error: unknown): void => {
      if (stopping) return;
      logger.warn({ kind: source.kind, err: String(error) }, `informer failed; keeping the last good objects, restarting in ${retryMs} ms`);
      clearTimeout(retry);
      retry = setTimeout(start, retryMs);
    };
    informer.on('error', restart);
    start();
    stops.push(() => { clearTimeout(retry); void informer.stop(); });
  }
  return {
    synced: () => listed.size === 4,
    stop() {
      stopping = true;
      for (const stop of stops.splice(0)) stop();
    },
  };
}

/** A TokenReview with the audience named: the API server checks signature, expiry, audience and the bound pod. */
export async function tokenReviewer(kubeconfig: string | undefined): Promise<Review> {
  const client = await loadClientNode();
  const config = await loadKubeConfig(kubeconfig);
  const api = config.makeApiClient(client.AuthenticationV1Api);
  return async (token, audience) => {
    const answer = await api.createTokenReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [audience] } } });
    const status = answer.status ?? {};
    return { authenticated: status.authenticated === true, username: status.user?.username, audiences: status.audiences, error: status.error };
  };
}
