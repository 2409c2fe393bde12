// What the injector adds to `istio-proxy` so the sidecar can fetch its snapshot from `meshgate control` without any
// Kubernetes API credentials: a projected ServiceAccount token for meshgate's audience (kubelet-rotated), where it
// is mounted, and the environment that names the control plane. The injector (src/inject) calls `sidecarWiring`
// with its values and merges the three parts into the pod; nothing here touches a pod itself.
import { isRecord } from '../k8s/types.ts';
import type { Container, Volume } from '../k8s/types.ts';

/** The audience `meshgate control` asks TokenReview for; a token for another audience (e.g. the API server's) fails. */
export const CONTROL_AUDIENCE = 'meshgate';
/** One hour, as Istio's istio-token; the kubelet refreshes it at 80 % of its life. */
export const TOKEN_EXPIRATION_SECONDS = 3600;
export const TOKEN_VOLUME = 'meshgate-token';
export const TOKEN_DIR = '/var/run/secrets/meshgate';
export const TOKEN_FILE = `${TOKEN_DIR}/token`;

/** The injector value naming the control plane (Istio keeps meshgate-only values under `global.meshgate`). */
export const CONTROL_ADDRESS_VALUE = 'global.meshgate.controlAddress';
/** Optional PEM CA bundle (base64) the sidecar verifies the control plane's certificate with. */
export const CONTROL_CA_VALUE = 'global.meshgate.controlCaBundle';
/** https://HOST[:PORT], optionally with a trailing slash: the one check of the address (the chart's schema has its twin). */
export const CONTROL_ADDRESS_PATTERN = /^https:\/\/[^\s/]+(:\d{1,5})?\/?$/;
export const DEFAULT_CONTROL_ADDRESS = 'https://meshgate-control.istio-system.svc:15012';

/** The environment variables the sidecar reads. */
export const CONTROL_ENV = {
  address: 'MESHGATE_CONTROL_ADDRESS',
  tokenFile: 'MESHGATE_CONTROL_TOKEN_FILE',
  caBundle: 'MESHGATE_CONTROL_CA',
} as const;

export interface SidecarWiring {
  volume: Volume;
  volumeMount: { name: string; mountPath: string; readOnly: true };
  env: Array<{ name: string; value: string }>;
}

function valueAt(values: unknown, path: string): unknown {
  let node: unknown = values;
  for (const key of path.split('.')) node = isRecord(node) ? node[key] : undefined;
  return node;
}

/**
 * The volume, mount and env for `istio-proxy`, from the injector values (`global.meshgate.controlAddress`,
 * `global.meshgate.controlCaBundle`). Throws with the value's path on a value that is not an https URL, so the
 * injector refuses it at load rather than injecting sidecars that can never connect.
 */
export function sidecarWiring(values: unknown): SidecarWiring {
  const address = valueAt(values, CONTROL_ADDRESS_VALUE) ?? DEFAULT_CONTROL_ADDRESS;
  if (typeof address !== 'string' || !CONTROL_ADDRESS_PATTERN.test(address)) {
    throw new Error(`${CONTROL_ADDRESS_VALUE} must be an https://HOST[:PORT] address, got ${JSON.stringify(address)}`);
  }
  const ca = valueAt(values, CONTROL_CA_VALUE);
  if (ca !== undefined && ca !== '' && typeof ca !== 'string') throw new Error(`${CONTROL_CA_VALUE} must be a base64 PEM string`);
  const env = [
    { name: CONTROL_ENV.address, value: address.replace(/\/$/, '') },
    { name: CONTROL_ENV.tokenFile, value: TOKEN_FILE },
    ...(typeof ca === 'string' && ca !== '' ? [{ name: CONTROL_ENV.caBundle, value: ca }] : []),
  ];
  return {
    volume: {
      name: TOKEN_VOLUME,
      projected: { sources: [{ serviceAccountToken: { audience: CONTROL_AUDIENCE, expirationSeconds: TOKEN_EXPIRATION_SECONDS, path: 'token' } }] },
    },
    volumeMount: { name: TOKEN_VOLUME, mountPath: TOKEN_DIR, readOnly: true },
    env,
  };
}

/** The wiring applied to a container (for the injector, and for tests that build a pod by hand). */
export function wireContainer(container: Container, wiring: SidecarWiring): Container {
  const mounts = (Array.isArray(container['volumeMounts']) ? container['volumeMounts'] : []) as Array<{ name?: string }>;
  const env = (Array.isArray(container['env']) ? container['env'] : []) as Array<{ name?: string }>;
  const ours = new Set(wiring.env.map((e) => e.name));
  return {
    ...container,
    // Idempotent: re-injection replaces, never duplicates.
    volumeMounts: [...mounts.filter((m) => m.name !== TOKEN_VOLUME), wiring.volumeMount],
    env: [...env.filter((e) => !ours.has(e.name ?? '')), ...wiring.env],
  };
}
