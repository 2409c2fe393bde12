import { Annotation, Injected, PROXY_UID, ProxyPort } from '../istio/keys.ts';
import type { Container, StringMap, Volume } from '../k8s/types.ts';
import type { CaptureSettings } from './capture.ts';
import type { SidecarOptions } from './pod-options.ts';
import type { ProxyConfig } from './proxy-config.ts';
import type { InjectorValues, Resources } from './values.ts';
import { sidecarWiring, wireContainer } from '../control/sidecar-wiring.ts';

/** Where the image puts the data plane (Dockerfile and scripts/image.mjs copy it there). */
export const PROXY_BINARY = '/usr/local/bin/meshgate-proxy';

/** Where the ServiceAccount admission plugin mounts the pod's API token. */
export const API_TOKEN_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
/**
 * An empty volume mounted over that path in meshgate's containers. Kubernetes re-runs its ServiceAccount plugin after
 * a webhook changed the pod, and the plugin mounts the API token into every container without a mount at the path:
 * this one keeps it out, so neither istio-init nor istio-proxy ever holds API credentials (they need none).
 */
export const NO_API_TOKEN_VOLUME = 'meshgate-no-api-token';
const noApiTokenMount = { name: NO_API_TOKEN_VOLUME, mountPath: API_TOKEN_MOUNT_PATH, readOnly: true };

export interface Workload {
  name: string;
  canonicalName: string;
  canonicalRevision: string;
}

export interface SidecarParts {
  /** Absent with interception mode NONE: no iptables, no init container. */
  init: Container | undefined;
  proxy: Container;
  volumes: Volume[];
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
  if (capture.kubevirtInterfaces !== '') args.push('-k', capture.kubevirtInterfaces);
  if (capture.excludeInterfaces !== '') args.push('-c', capture.excludeInterfaces);
  return args;
}

function fieldEnv(name: string, fieldPath: string): Record<string, unknown> {
  return { name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } };
}

/**
 * istio-proxy's postStart when the app must wait for the proxy (classic layout): Kubernetes starts the next container
 * only after this hook returns, so it polls the readiness endpoint, bounded like pilot-agent's wait (60 s).
 */
export function holdCommand(): string[] {
  const script = [
    `const deadline = Date.now() + 60000;`,
    `const retry = () => (Date.now() > deadline ? process.exit(1) : setTimeout(attempt, 500));`,
    `const attempt = () => require('node:http').get('http://127.0.0.1:${ProxyPort.status}/healthz/ready', (res) => {`,
    `  res.resume(); if (res.statusCode === 200) process.exit(0); else retry(); }).on('error', retry);`,
    `attempt();`,
  ].join(' ');
  return ['node', '-e', script];
}

function readinessProbe(options: SidecarOptions): Record<string, unknown> {
  return {
    httpGet: { path: '/healthz/ready', port: ProxyPort.status },
    initialDelaySeconds: options.readiness.initialDelaySeconds,
    periodSeconds: options.readiness.periodSeconds,
    timeoutSeconds: 3,
    failureThreshold: options.readiness.failureThreshold,
  };
}

function startupProbe(options: SidecarOptions): Record<string, unknown> {
  return {
    httpGet: { path: '/healthz/ready', port: ProxyPort.status },
    initialDelaySeconds: 0,
    periodSeconds: 1,
    timeoutSeconds: 3,
    failureThreshold: options.startupProbe.failureThreshold,
  };
}

export function buildSidecarParts(
  values: InjectorValues,
  capture: CaptureSettings,
  resources: Resources,
  workload: Workload,
  options: SidecarOptions,
): SidecarParts {
  const pullPolicy = values.global.imagePullPolicy;
  const { native, proxyConfig } = options;
  const init: Container | undefined = options.interception === 'NONE' ? undefined : {
    name: Injected.initContainer,
    image: options.initImage,
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
    volumeMounts: [{ ...noApiTokenMount }],
  };
  // The Rust data plane is the container's only process: it fetches its snapshot from meshgate control (the wiring
  // below) and needs no Kubernetes API credentials. Ports are its defaults (15001, 15006, 15000, 15021, 15090).
  const args: string[] = [];
  if (proxyConfig.terminationDrainSeconds !== undefined) args.push('--drain-seconds', String(Math.ceil(proxyConfig.terminationDrainSeconds)));
  // ProxyConfig `concurrency` is Envoy's worker count in Istio; here it is meshgate-proxy's (unset: its default, 2).
  if (proxyConfig.concurrency !== undefined) args.push('--workers', String(proxyConfig.concurrency));
  const env: Array<Record<string, unknown>> = [
    fieldEnv('POD_NAME', 'metadata.name'),
    fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
    fieldEnv('INSTANCE_IP', 'status.podIP'),
    fieldEnv('SERVICE_ACCOUNT', 'spec.serviceAccountName'),
    { name: 'ISTIO_META_WORKLOAD_NAME', value: workload.name },
    { name: 'CANONICAL_SERVICE', value: workload.canonicalName },
    { name: 'CANONICAL_REVISION', value: workload.canonicalRevision },
    { name: 'TMPDIR', value: '/etc/istio/proxy' },
  ];
  const recorded = proxyConfigForEnv(proxyConfig);
  // Istio's shape: the effective ProxyConfig as JSON, then proxyMetadata as plain variables.
  if (recorded !== undefined) env.push({ name: 'PROXY_CONFIG', value: recorded });
  for (const [name, value] of Object.entries(proxyConfig.proxyMetadata ?? {})) env.push({ name, value });

  const proxy: Container = {
    name: Injected.proxyContainer,
    image: options.proxyImage,
    imagePullPolicy: pullPolicy,
    command: [PROXY_BINARY],
    args,
    env,
    ports: [{ containerPort: ProxyPort.metrics, name: 'http-envoy-prom', protocol: 'TCP' }],
  };
  const statusEnabled = capture.statusPort !== 0;
  // A native sidecar holds the app through its startup probe: the next init container starts once it passes.
  if (statusEnabled && (options.startupProbe.enabled || (native && options.hold))) proxy['startupProbe'] = startupProbe(options);
  if (statusEnabled) proxy['readinessProbe'] = readinessProbe(options);
  const lifecycle = values.global.proxy.lifecycle;
  if (Object.keys(lifecycle).length > 0) proxy['lifecycle'] = structuredClone(lifecycle);
  else if (options.hold && !native) proxy['lifecycle'] = { postStart: { exec: { command: holdCommand() } } };
  proxy['resources'] = resources;
  // The proxy's UID is what the iptables rules exempt; it must never run as anything else.
  const privileged = values.global.proxy.privileged;
  proxy['securityContext'] = {
    allowPrivilegeEscalation: privileged,
    privileged,
    readOnlyRootFilesystem: true,
    runAsGroup: PROXY_UID,
    runAsNonRoot: true,
    runAsUser: PROXY_UID,
    capabilities: { drop: ['ALL'] },
  };
  proxy['volumeMounts'] = [{ name: Injected.workVolume, mountPath: '/etc/istio/proxy' }, { ...noApiTokenMount }, ...options.userMounts.map((m) => ({ ...m }))];
  // A native sidecar is an init container that keeps running: Jobs finish, and apps start after the proxy is ready.
  if (native) proxy['restartPolicy'] = 'Always';
  // The sidecar holds no Kubernetes credentials: a projected token for meshgate control's audience, and its address.
  const wiring = sidecarWiring(values);
  const volumes: Volume[] = [
    { name: Injected.workVolume, emptyDir: { medium: 'Memory' } },
    wiring.volume,
    { name: NO_API_TOKEN_VOLUME, emptyDir: { medium: 'Memory', sizeLimit: '1Ki' } },
    ...options.userVolumes.map((v) => structuredClone(v)),
  ];
  return { init, proxy: wireContainer(proxy, wiring), volumes };
}

/** PROXY_CONFIG as Istio writes it (ProxyConfig JSON), only when something was configured. */
function proxyConfigForEnv(config: ProxyConfig): string | undefined {
  const out: Record<string, unknown> = {};
  if (config.holdApplicationUntilProxyStarts !== undefined) out['holdApplicationUntilProxyStarts'] = config.holdApplicationUntilProxyStarts;
  if (config.terminationDrainSeconds !== undefined) out['terminationDrainDuration'] = `${config.terminationDrainSeconds}s`;
  if (config.concurrency !== undefined) out['concurrency'] = config.concurrency;
  if (config.interceptionMode !== undefined) out['interceptionMode'] = config.interceptionMode;
  if (config.proxyMetadata !== undefined) out['proxyMetadata'] = config.proxyMetadata;
  return Object.keys(out).length > 0 ? JSON.stringify(out) : undefined;
}
