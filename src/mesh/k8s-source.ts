import type { Logger } from '../observability/logger.ts';
import { loadClientNode, loadKubeConfig } from '../k8s/client.ts';
import { watchConfigMap, type ConfigMapWatch } from '../k8s/configmap-watch.ts';
import type { ConfigStore } from './config-store.ts';
import type { ConfigFeed } from './file-source.ts';
import { meshConfigMapIn } from './mesh-config.ts';
import { NETWORKING_GROUP } from './resources.ts';
import { objectKey } from './objects.ts';

/** v1beta1 is served by every Istio release that has v1, and by older ones. */
const VERSION = 'v1beta1';
const KINDS = [{ kind: 'ServiceEntry', plural: 'serviceentries' }, { kind: 'VirtualService', plural: 'virtualservices' }] as const;

interface Stoppable {
  stop(): void;
}

/**
 * ServiceEntries and VirtualServices in every namespace, and the `istio` ConfigMap of `istioNamespace` (the store
 * must be made for the same namespace), from informers. An informer
 * relists on 410 Gone by itself; on any other error it is restarted after a pause, and the last good config stays
 * in force meanwhile (the store is only changed by events that arrive).
 */
export function kubernetesFeed(store: ConfigStore, logger: Logger, istioNamespace: string, kubeconfig?: string): ConfigFeed {
  const meshConfigMap = meshConfigMapIn(istioNamespace);
  const running: Stoppable[] = [];
  let stopping = false;
  // The first list may fail (API server not reachable yet): keep trying; readiness stays false until it succeeds.
  const untilStarted = async <T>(what: string, start: () => Promise<T>): Promise<T | undefined> => {
    for (let attempt = 1; !stopping; attempt += 1) {
      try {
        return await start();
      } catch (error) {
        logger.warn({ resource: what, attempt, err: String(error) }, 'cannot list from the API server; retrying in 2s');
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
    return undefined;
  };
  return {
    async start(onChange) {
      const client = await loadClientNode();
      const config = await loadKubeConfig(kubeconfig);
      const api = config.makeApiClient(client.CustomObjectsApi);
      for (const { kind, plural } of KINDS) {
        let listed = false;
        const list = async (): Promise<never> => {
          const answer = await api.listClusterCustomObject({ group: NETWORKING_GROUP, version: VERSION, plural });
          listed = true;
          return answer as never;
        };
        const informer = client.makeInformer(config, `/apis/${NETWORKING_GROUP}/${VERSION}/${plural}`, list);
        const source = `kubernetes:${plural}`;
        const upsert = (object: unknown): void => { if (store.upsert(object, source)) onChange(); };
        informer.on('add', upsert);
        informer.on('update', upsert);
        informer.on('delete', (object: { metadata?: { namespace?: string; name?: string } }) => {
          if (store.remove(objectKey(kind, object.metadata?.namespace, object.metadata?.name))) onChange();
        });
        let stopped = false;
        let started = false;
        let firstError: unknown;
        let retry: NodeJS.Timeout | undefined;
        informer.on('error', (error: unknown) => {
          if (!started) firstError = error;
          if (stopped || !started) return; // the first list is retried by untilStarted
          logger.warn({ resource: plural, err: String(error) }, 'watch failed; keeping the last good config, restarting in 2s');
          retry = setTimeout(() => { void informer.start().catch(() => undefined); }, 2000);
        });
        // informer.start() reports a failed list through 'error' and resolves anyway: success is the list answering.
        await untilStarted(plural, async () => {
          await informer.start();
          if (!listed) throw firstError ?? new Error('list failed');
        });
        started = true;
        running.push({ stop() { stopped = true; clearTimeout(retry); void informer.stop(); } });
      }
      const meshKey = objectKey('MeshConfig', meshConfigMap.namespace, meshConfigMap.name);
      // Read the mesh config once before becoming ready: starting on the ALLOW_ANY default while the cluster says
      // REGISTRY_ONLY would open egress until the watch caught up. 404 means no ConfigMap: the default applies.
      const core = config.makeApiClient(client.CoreV1Api);
      await untilStarted('configmaps', async () => {
        try {
          const configMap = await core.readNamespacedConfigMap(meshConfigMap);
          if (store.upsert(configMap, 'kubernetes:configmap')) onChange();
        } catch (error) {
          if ((error as { code?: number }).code !== 404) throw error;
        }
      });
      const watch: ConfigMapWatch | undefined = await untilStarted('configmaps', () => watchConfigMap(meshConfigMap, (configMap) => {
        const changed = configMap ? store.upsert(configMap, 'kubernetes:configmap') : store.remove(meshKey);
        if (changed) onChange();
      }, logger, kubeconfig));
      if (watch) running.push(watch);
    },
    stop() {
      stopping = true;
      for (const r of running.splice(0)) r.stop();
    },
  };
}
