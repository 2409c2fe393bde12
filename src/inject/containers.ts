import { Annotation, Injected, PROXY_UID, ProxyPort } from '../istio/keys.ts';
import type { Container, StringMap, Volume } from '../k8s/types.ts';
import type { CaptureSettings } from './capture.ts';
import { initImage, proxyImage, type InjectorValues, type Resources } from './values.ts';

export interface Workload {
  name: string;
  canonicalName: string;
  canonicalRevision: string;
}

export interface SidecarParts {
  init: Container;
  proxy: Container;
  volume: Volume;
}

/** A Kubernetes quantity (resource.Quantity's grammar): `100m`, `1.5`, `128Mi`, `1e3`. */
const QUANTITY = /^[+]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+|E[+-]?\d+|[KMGTPE]i|[numkMGTPE])?$/;

export interface ResourceError {
  field: string;
  value: string;
}

/**
 * The proxy's resources: values first, then each of Istio's four annotations over them. Annotation values are
 * checked against the quantity grammar and written back as a plain string: never pasted into a template.
 */
export function proxyResources(annotations: StringMap, values: InjectorValues): { resources: Resources; errors: ResourceError[] } {
  const base = values.global.proxy.resources;
  const resources: Resources = { requests: { ...(base.requests ?? {}) }, limits: { ...(base.limits ?? {}) } };
  const errors: ResourceError[] = [];
  const overrides: Array<[string, 'requests' | 'limits', 'cpu' | 'memory']> = [
    [Annotation.proxyCPU, 'requests', 'cpu'],
    [Annotation.proxyMemory, 'requests', 'memory'],
    [Annotation.proxyCPULimit, 'limits', 'cpu'],
    [Annotation.proxyMemoryLimit, 'limits', 'memory'],
  ];
  for (const [key, kind, resource] of overrides) {
    if (!Object.hasOwn(annotations, key)) continue;
    const value = (annotations[key] as string).trim();
    if (!QUANTITY.test(value)) {
      errors.push({ field: `metadata.annotations[${key}]`, value: annotations[key] as string });
      continue;
    }
    (resources[kind] as StringMap)[resource] = value;
  }
  for (const kind of ['requests', 'limits'] as const) {
    if (Object.keys(resources[kind] ?? {}).length === 0) delete resources[kind];
  }
  return { resources, errors };
}

function copyResources(resources: Resources): Resources {
  return {
    ...(resources.requests ? { requests: { ...resources.requests } } : {}),
    ...(resources.limits ? { limits: { ...resources.limits } } : {}),
  };
}

/** Arguments of `meshgate init`, with istio-iptables' flags so Istio's documentation reads the same. */
export function initArgs(capture: CaptureSettings): string[] {
  const args = [
    'init',
    '-p', String(ProxyPort.outbound),
    '-z', String(ProxyPort.inbound),
    '-u', String(PROXY_UID),
    '-m', 'REDIRECT',
    '-i', capture.includeIPRanges,
    '-x', capture.excludeIPRanges,
    '-b', capture.includeInboundPorts,
    '-d', capture.excludeInboundPorts,
  ];
  if (capture.excludeOutboundPorts !== '') args.push('-o', capture.excludeOutboundPorts);
  if (capture.includeOutboundPorts !== '') args.push('-q', capture.includeOutboundPorts);
  return args;
}

function fieldEnv(name: string, fieldPath: string): Record<string, unknown> {
  return { name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } };
}

export function buildSidecarParts(
  values: InjectorValues,
  capture: CaptureSettings,
  resources: Resources,
  workload: Workload,
  native: boolean,
): SidecarParts {
  const pullPolicy = values.global.imagePullPolicy;
  const init: Container = {
    name: Injected.initContainer,
    image: initImage(values),
    imagePullPolicy: pullPolicy,
    args: initArgs(capture),
    // Copied, not shared: the patch must not alias the values object (a shallow copy per map is enough).
    resources: copyResources(values.global.proxy_init.resources),
    // iptables needs NET_ADMIN and NET_RAW as root; nothing else.
    securityContext: {
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: false,
      runAsGroup: 0,
      runAsNonRoot: false,
      runAsUser: 0,
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
    },
  };
  const proxy: Container = {
    name: Injected.proxyContainer,
    image: proxyImage(values),
    imagePullPolicy: pullPolicy,
    args: ['proxy'],
    env: [
      fieldEnv('POD_NAME', 'metadata.name'),
      fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
      fieldEnv('INSTANCE_IP', 'status.podIP'),
      fieldEnv('SERVICE_ACCOUNT', 'spec.serviceAccountName'),
      { name: 'ISTIO_META_WORKLOAD_NAME', value: workload.name },
      { name: 'CANONICAL_SERVICE', value: workload.canonicalName },
      { name: 'CANONICAL_REVISION', value: workload.canonicalRevision },
      { name: 'TMPDIR', value: '/etc/istio/proxy' },
    ],
    ports: [{ containerPort: ProxyPort.metrics, name: 'http-envoy-prom', protocol: 'TCP' }],
    readinessProbe: {
      httpGet: { path: '/healthz/ready', port: ProxyPort.status },
      initialDelaySeconds: 0,
      periodSeconds: 2,
      timeoutSeconds: 3,
      failureThreshold: 30,
    },
    resources,
    // The proxy's UID is what the iptables rules exempt; it must never run as anything else.
    securityContext: {
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsGroup: PROXY_UID,
      runAsNonRoot: true,
      runAsUser: PROXY_UID,
      capabilities: { drop: ['ALL'] },
    },
    volumeMounts: [{ name: Injected.workVolume, mountPath: '/etc/istio/proxy' }],
  };
  // A native sidecar is an init container that keeps running: Jobs finish, and apps start after the proxy is ready.
  if (native) proxy['restartPolicy'] = 'Always';
  const volume: Volume = { name: Injected.workVolume, emptyDir: { medium: 'Memory' } };
  return { init, proxy, volume };
}
