// @kubernetes/client-node costs ~300 ms and ~100 MB to import unbundled: it is loaded here, lazily, and only by
// code that talks to a cluster. Offline commands and the admission hot path never import it.
import type * as k8s from '@kubernetes/client-node';

export type K8s = typeof k8s;

let loaded: Promise<K8s> | undefined;

export function loadClientNode(): Promise<K8s> {
  loaded ??= import('@kubernetes/client-node');
  return loaded;
}

/** In-cluster config when running in a pod, else $KUBECONFIG or ~/.kube/config (or an explicit file). */
export async function loadKubeConfig(kubeconfigPath?: string): Promise<k8s.KubeConfig> {
  const client = await loadClientNode();
  const config = new client.KubeConfig();
  if (kubeconfigPath) config.loadFromFile(kubeconfigPath);
  else config.loadFromDefault();
  return config;
}
