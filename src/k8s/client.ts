// @kubernetes/client-node costs ~300 ms and ~100 MB to import unbundled: it is loaded here, lazily, and only by
// code that talks to a cluster. Offline commands and the admission hot path never import it.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';

export type K8s = typeof k8s;

let loaded: Promise<K8s> | undefined;

export function loadClientNode(): Promise<K8s> {
  loaded ??= import('@kubernetes/client-node');
  return loaded;
}

/** No cluster configuration anywhere: the CLI says so once and exits 2 (it is a usage problem, not a cluster one). */
export class NoKubeconfigError extends Error {
  constructor() {
    super('no kubeconfig found (looked at $KUBECONFIG, ~/.kube/config, in-cluster)');
  }
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * An explicit file, else $KUBECONFIG (every existing file it lists), else ~/.kube/config, else the in-cluster service
 * account. client-node's own loadFromDefault falls back to http://localhost:8080 when it finds nothing, which
 * surfaced as "HTTP protocol is not allowed when skipTLSVerify is not set" on the first request.
 */
export async function loadKubeConfig(kubeconfigPath?: string): Promise<k8s.KubeConfig> {
  const client = await loadClientNode();
  const config = new client.KubeConfig();
  if (kubeconfigPath) {
    if (!existsSync(kubeconfigPath)) throw new Error(`kubeconfig ${kubeconfigPath}: no such file`);
    config.loadFromFile(kubeconfigPath);
    return config;
  }
  const listed = (process.env['KUBECONFIG'] ?? '').split(delimiter).filter((file) => file !== '' && existsSync(file));
  const home = join(homedir(), '.kube', 'config');
  if (listed.length > 0) config.loadFromDefault();
  else if (existsSync(home)) config.loadFromFile(home);
  else if (process.env['KUBERNETES_SERVICE_HOST'] && existsSync(SERVICE_ACCOUNT_TOKEN)) config.loadFromCluster();
  else throw new NoKubeconfigError();
  return config;
}
