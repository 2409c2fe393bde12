import type { ClusterRanges } from '../inject/capture.ts';
import { defaultValues, loadValuesFile, valuesFromDocument, ValuesError, type InjectorValues } from '../inject/values.ts';
import type { Logger } from '../observability/logger.ts';
import { parse as parseYaml } from 'yaml';

/**
 * A function has no ConfigMap watch and no cluster connection at cold start: its injector values come from the
 * environment, in the same schema as the istio-sidecar-injector ConfigMap (the ConfigMap itself, or its values).
 *
 * - MESHGATE_VALUES: the document inline (YAML or JSON), e.g. from a secret manager or `--set-env-vars`.
 * - MESHGATE_VALUES_FILE: a path to it, e.g. the ConfigMap mounted as a volume (`.../values` or a whole manifest).
 * - neither: the embedded defaults.
 * Both set is an error: two sources of truth would silently shadow each other.
 */
export function functionValues(env: NodeJS.ProcessEnv): InjectorValues {
  const inline = env['MESHGATE_VALUES'];
  const file = env['MESHGATE_VALUES_FILE'];
  if (inline !== undefined && file !== undefined) throw new ValuesError('set MESHGATE_VALUES or MESHGATE_VALUES_FILE, not both');
  if (file !== undefined) return loadValuesFile(file);
  if (inline === undefined) return defaultValues();
  let document: unknown;
  try {
    document = parseYaml(inline);
  } catch (error) {
    throw new ValuesError(`MESHGATE_VALUES: ${(error as Error).message}`);
  }
  return valuesFromDocument(document, 'MESHGATE_VALUES');
}

/**
 * The cluster's include ranges for `includeIPRanges: auto`. Off unless MESHGATE_DISCOVER_RANGES=true: then the
 * Kubernetes client is imported and discovery started once, in the background, at cold start; the refresher keeps the
 * result cached (re-asking on MESHGATE_RANGES_TTL_SECONDS, default 600). A review never waits for it: until the first
 * answer (or when discovery fails) `auto` falls back to `*`, as `meshgate webhook` without --discover-ranges does.
 * Setting `global.proxy.includeIPRanges` in the values avoids the cluster call altogether (recommended off-cluster).
 */
export function functionRanges(env: NodeJS.ProcessEnv, logger: Logger): () => ClusterRanges | undefined {
  const flag = env['MESHGATE_DISCOVER_RANGES'];
  if (flag === undefined || flag === '' || flag === 'false') return () => undefined;
  if (flag !== 'true') throw new ValuesError(`MESHGATE_DISCOVER_RANGES: expected true or false, got ${JSON.stringify(flag)}`);
  const ttlSeconds = Number(env['MESHGATE_RANGES_TTL_SECONDS'] ?? 600);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 10) throw new ValuesError('MESHGATE_RANGES_TTL_SECONDS: expected an integer ≥ 10');
  let current: () => ClusterRanges | undefined = () => undefined;
  // A dynamic import: the Kubernetes client lands in its own chunk, loaded only when this is asked for.
  import('../ranges/cluster-ranges.ts')
    .then(({ startClusterRanges }) => startClusterRanges({
      kubeconfig: env['KUBECONFIG'], ttlMs: ttlSeconds * 1000, timeoutMs: 10_000, logger, onFailure: () => undefined,
    }))
    .then((source) => { current = source.current; })
    .catch((error: unknown) => { logger.error({ err: (error as Error).message }, 'range discovery did not start; auto means *'); });
  return () => current();
}
