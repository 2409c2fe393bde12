import type { Logger } from '../observability/logger.ts';
import { loadClientNode, loadKubeConfig } from './client.ts';

export interface ConfigMapWatch {
  stop(): void;
}

export interface ConfigMapRef {
  namespace: string;
  name: string;
}

export function parseConfigMapRef(text: string): ConfigMapRef {
  const [namespace, name, extra] = text.split('/');
  if (!namespace || !name || extra !== undefined) throw new Error(`expected NAMESPACE/NAME, got ${JSON.stringify(text)}`);
  return { namespace, name };
}

/** The object as a `v1` ConfigMap, whether it came from a list (no TypeMeta) or from a watch event. */
export function withConfigMapTypeMeta(object: unknown): Record<string, unknown> {
  return { ...(object as Record<string, unknown>), apiVersion: 'v1', kind: 'ConfigMap' };
}

/**
 * Reads one ConfigMap at start and follows its changes with an informer (which relists on 410 Gone). On an
 * error the informer restarts after a pause; the last good data stays in force meanwhile.
 */
export async function watchConfigMap(
  ref: ConfigMapRef,
  onData: (configMap: Record<string, unknown> | undefined) => void,
  logger: Logger,
  kubeconfigPath?: string,
): Promise<ConfigMapWatch> {
  const client = await loadClientNode();
  const config = await loadKubeConfig(kubeconfigPath);
  const api = config.makeApiClient(client.CoreV1Api);
  const path = `/api/v1/namespaces/${ref.namespace}/configmaps`;
  const list = () => api.listNamespacedConfigMap({ namespace: ref.namespace, fieldSelector: `metadata.name=${ref.name}` });
  const informer = client.makeInformer(config, `${path}?fieldSelector=metadata.name%3D${encodeURIComponent(ref.name)}`, list);
  // A list answers with items that carry no `kind`/`apiVersion` (only watch events do), and readers such as the
  // injector values recognise a ConfigMap by its kind: every object is handed on with its TypeMeta stamped.
  const emit = (object: unknown) => onData(withConfigMapTypeMeta(object));
  informer.on('add', emit);
  informer.on('update', emit);
  informer.on('delete', () => onData(undefined));
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  informer.on('error', (error: unknown) => {
    logger.warn({ configMap: `${ref.namespace}/${ref.name}`, err: String(error) }, 'ConfigMap watch failed; keeping the last good config, retrying in 2s');
    if (stopped) return;
    retry = setTimeout(() => { void informer.start().catch(() => undefined); }, 2000);
  });
  await informer.start();
  return {
    stop() {
      stopped = true;
      clearTimeout(retry);
      void informer.stop();
    },
  };
}
