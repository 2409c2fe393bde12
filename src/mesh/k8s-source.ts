import type { Logger } from '../observability/logger.ts';
import { loadClientNode, loadKubeConfig } from '../k8s/client.ts';
import { watchConfigMap, type ConfigMapWatch } from '../k8s/configmap-watch.ts';
import type { ConfigStore } from './config-store.ts';
import type { ConfigFeed } from './file-source.ts';
import { MESH_CONFIG_MAP } from './mesh-config.ts';
import { NETWORKING_GROUP } from './resources.ts';
import { objectKey } from './objects.ts';

/** v1beta1 is served by every Istio release that has v1, and by older ones. */
const VERSION = 'v1beta1';
const KINDS = [{ kind: 'ServiceEntry', plural: 'serviceentries' }, { kind: 'VirtualService', plural: 'virtualservices' }] as const;

interface Stoppable {
  stop(): void;
}

/**
 * ServiceEntries and VirtualServices in every namespace, and the `istio` ConfigMap, from informers. An informer
 * relists on 410 Gone by itself; on any other error it is restarted after a pause, and the last good config stays
 * in force meanwhile (the store is only changed by events that arrive).
 */
export function kubernetesFeed(store: ConfigStore, logger: Logger, kubeconfig?: string): ConfigFeed {
  const running: Stoppable[] = [];
  return {
    async start(onChange) {
      const client = await loadClientNode();
      const config = await loadKubeConfig(kubeconfig);
      const api = config.makeApiClient(client.CustomObjectsApi);
      for (const { kind, plural } of KINDS) {
        const list = async () => api.listClusterCustomObject({ group: NETWORKING_GROUP, version: VERSION, plural }) as never;
        const informer = client.makeInformer(config, `/apis/${NETWORKING_GROUP}/${VERSION}/${plural}`, list);
        const source = `kubernetes:${plural}`;
        const upsert = (object: unknown): void => { if (store.upsert(object, source)) onChange(); };
        informer.on('add', upsert);
        informer.on('update', upsert);
        informer.on('delete', (object: { metadata?: { namespace?: string; name?: string } }) => {
          if (store.remove(objectKey(kind, object.metadata?.namespace, object.metadata?.name))) onChange();
        });
        let stopped = false;
        let retry: NodeJS.Timeout | undefined;
        informer.on('error', (error: unknown) => {
          logger.warn({ resource: plural, err: String(error) }, 'watch failed; keeping the last good config, restarting in 2s');
          if (stopped) return;
          retry = setTimeout(() => { void informer.start().catch(() => undefined); }, 2000);
        });
        await informer.start();
        running.push({ stop() { stopped = true; clearTimeout(retry); void informer.stop(); } });
      }
      const meshKey = objectKey('MeshConfig', MESH_CONFIG_MAP.namespace, MESH_CONFIG_MAP.name);
      const watch: ConfigMapWatch = await watchConfigMap(MESH_CONFIG_MAP, (configMap) => {
        const changed = configMap ? store.upsert(configMap, 'kubernetes:configmap') : store.remove(meshKey);
        if (changed) onChange();
      }, logger, kubeconfig);
      running.push(watch);
    },
    stop() {
      for (const r of running.splice(0)) r.stop();
    },
  };
}
