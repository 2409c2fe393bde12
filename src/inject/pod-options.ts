import { Annotation, Injected } from '../istio/keys.ts';
import { isRecord, type PodSpec, type StringMap, type Volume } from '../k8s/types.ts';
import { APP_PROBE_PORT_ENV, APP_PROBERS_ENV } from './app-probes.ts';
import { checkPortList } from './ports.ts';
import { checkInterceptionMode, checkProxyConfig, mergeProxyConfig, parseProxyConfigAnnotation, type InterceptionMode, type ProxyConfig } from './proxy-config.ts';
import { refusedAnnotations } from './surface.ts';
import { initImage, proxyImage, type InjectorValues } from './values.ts';

export interface VolumeMount {
  name: string;
  mountPath: string;
  [key: string]: unknown;
}

/** Everything about the sidecar that a pod's annotations can change, resolved over the values. */
export interface SidecarOptions {
  native: boolean;
  interception: InterceptionMode;
  readiness: { initialDelaySeconds: number; periodSeconds: number; failureThreshold: number };
  applicationPorts: number[];
  startupProbe: { enabled: boolean; failureThreshold: number };
  hold: boolean;
  proxyImage: string;
  initImage: string;
  proxyConfig: ProxyConfig;
  userVolumes: Volume[];
  userMounts: VolumeMount[];
  prometheusMerge: boolean;
  /** Rewrite the app's probes to the status port; `explicit` when the pod's annotation asked (gRPC is then refused). */
  probeRewrite: { enabled: boolean; explicit: boolean };
  /** Accepted with a caveat the user should see (admission warnings, kube-inject stderr). */
  warnings: string[];
}

export interface OptionError {
  field: string;
  message: string;
}

/** What an earlier injection recorded in sidecar.istio.io/status, so re-injection replaces instead of duplicating. */
export interface PreviousInjection {
  volumes: Set<string>;
}

/**
 * A status annotation is pod input, so it is trusted only as far as it cannot hurt the app: a volume it lists is
 * ours only when no application container mounts it (a forged status must not remove the app's volumes), and pull
 * secrets are never removed, only added when missing.
 */
export function previousInjection(annotations: StringMap, spec: PodSpec): PreviousInjection {
  const previous: PreviousInjection = { volumes: new Set() };
  const appMounts = new Set<string>();
  for (const container of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
    if (container.name === Injected.proxyContainer || container.name === Injected.initContainer) continue;
    const mounts = container['volumeMounts'];
    if (Array.isArray(mounts)) for (const mount of mounts) if (isRecord(mount) && typeof mount['name'] === 'string') appMounts.add(mount['name']);
  }
  const text = annotations[Annotation.sidecarStatus];
  if (text === undefined) return previous;
  let status: unknown;
  try {
    status = JSON.parse(text);
  } catch {
    return previous; // not ours to judge: a hand-written status names nothing we injected
  }
  if (!isRecord(status)) return previous;
  const listed = status['volumes'];
  if (Array.isArray(listed)) {
    for (const name of listed.slice(0, 256)) if (typeof name === 'string' && !appMounts.has(name)) previous.volumes.add(name);
  }
  return previous;
}

/** Go's strconv.ParseBool, as Istio reads boolean annotations. */
export function parseBool(value: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  return undefined;
}

/** Environment variables the injector sets on istio-proxy; proxyMetadata may not redefine them. */
export const PROXY_ENV_NAMES: ReadonlySet<string> = new Set(['POD_NAME', 'POD_NAMESPACE', 'INSTANCE_IP', 'SERVICE_ACCOUNT',
  'ISTIO_META_WORKLOAD_NAME', 'CANONICAL_SERVICE', 'CANONICAL_REVISION', 'TMPDIR', 'PROXY_CONFIG', APP_PROBERS_ENV, APP_PROBE_PORT_ENV]);

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const MOUNT_KEYS = new Set(['name', 'mountPath', 'readOnly', 'subPath', 'subPathExpr', 'mountPropagation', 'recursiveReadOnly']);
/** Bounds the work one annotation can cause. */
const MAX_USER_ITEMS = 64;
const PROXY_WORK_DIR = '/etc/istio/proxy';

/**
 * Kubernetes caps all annotations of an object at 256 KiB, but checks that after mutating admission: the parsers
 * here must not be handed megabytes first.
 */
export const MAX_STRUCTURED_ANNOTATION = 64 * 1024;

/** Istio's two shapes: a JSON array of named items, or a JSON map from name to the rest of the item. */
function namedItems(text: string, field: string, errors: OptionError[]): Array<Record<string, unknown>> {
  if (text.length > MAX_STRUCTURED_ANNOTATION) {
    errors.push({ field, message: `longer than ${MAX_STRUCTURED_ANNOTATION} characters` });
    return [];
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    errors.push({ field, message: `malformed JSON: ${(error as Error).message}` });
    return [];
  }
  let items: unknown[];
  if (Array.isArray(parsed)) items = parsed;
  else if (isRecord(parsed)) items = Object.entries(parsed).map(([name, spec]) => (isRecord(spec) && !('name' in spec) ? { name, ...spec } : spec));
  else {
    errors.push({ field, message: 'expected a JSON array of named items or a JSON map from name to item' });
    return [];
  }
  if (items.length > MAX_USER_ITEMS) {
    errors.push({ field, message: `at most ${MAX_USER_ITEMS} items` });
    return [];
  }
  const out: Array<Record<string, unknown>> = [];
  items.forEach((item, index) => {
    if (!isRecord(item) || typeof item['name'] !== 'string' || !DNS_LABEL.test(item['name'])) {
      errors.push({ field: `${field}[${index}]`, message: 'each item must be an object with a DNS-label name' });
    } else {
      out.push(item);
    }
  });
  return out;
}

function intAnnotation(annotations: StringMap, key: string, fallback: number, min: number, errors: OptionError[]): number {
  if (!Object.hasOwn(annotations, key)) return fallback;
  const text = (annotations[key] as string).trim();
  const value = /^\d{1,6}$/.test(text) ? Number(text) : NaN;
  if (!(value >= min)) {
    errors.push({ field: `metadata.annotations[${key}]`, message: `must be an integer >= ${min}, got ${JSON.stringify(annotations[key])}` });
    return fallback;
  }
  return value;
}

function boolAnnotation(annotations: StringMap, key: string, errors: OptionError[]): boolean | undefined {
  if (!Object.hasOwn(annotations, key)) return undefined;
  const value = parseBool((annotations[key] as string).trim());
  if (value === undefined) errors.push({ field: `metadata.annotations[${key}]`, message: `must be true or false, got ${JSON.stringify(annotations[key])}` });
  return value;
}

/** The pod's own volumes: those not listed by an earlier injection. */
function ownVolumeNames(podVolumes: Volume[], previous: PreviousInjection): Set<string> {
  return new Set(podVolumes.map((v) => v.name).filter((name) => name !== Injected.workVolume && !previous.volumes.has(name)));
}

export function resolveSidecarOptions(
  annotations: StringMap,
  values: InjectorValues,
  podVolumes: Volume[],
  previous: PreviousInjection,
  statusPort: number,
): { options: SidecarOptions; errors: OptionError[] } {
  const errors: OptionError[] = [...refusedAnnotations(annotations)];
  const warnings: string[] = [];
  const proxy = values.global.proxy;
  const field = (key: string): string => `metadata.annotations[${key}]`;

  // ProxyConfig: the mesh default (checked at load), then the pod's annotation over it.
  const meshDefault = checkProxyConfig(values.meshConfig.defaultConfig, 'meshConfig.defaultConfig').config;
  let podConfig: ProxyConfig = {};
  if ((annotations[Annotation.proxyConfig]?.length ?? 0) > MAX_STRUCTURED_ANNOTATION) {
    errors.push({ field: field(Annotation.proxyConfig), message: `longer than ${MAX_STRUCTURED_ANNOTATION} characters` });
  } else if (Object.hasOwn(annotations, Annotation.proxyConfig)) {
    const parsed = parseProxyConfigAnnotation(annotations[Annotation.proxyConfig] as string, field(Annotation.proxyConfig));
    errors.push(...parsed.errors);
    podConfig = parsed.config;
  }
  const proxyConfig = mergeProxyConfig(meshDefault, podConfig);
  for (const name of Object.keys(proxyConfig.proxyMetadata ?? {})) {
    if (PROXY_ENV_NAMES.has(name)) errors.push({ field: `${field(Annotation.proxyConfig)}.proxyMetadata.${name}`, message: 'is set by the injector and cannot be redefined' });
  }

  let interception: InterceptionMode = proxyConfig.interceptionMode ?? 'REDIRECT';
  if (Object.hasOwn(annotations, Annotation.interceptionMode)) {
    const { mode, error } = checkInterceptionMode((annotations[Annotation.interceptionMode] as string).trim());
    if (mode) interception = mode;
    else errors.push({ field: field(Annotation.interceptionMode), message: error as string });
  }

  const nativeAnnotation = boolAnnotation(annotations, Annotation.nativeSidecar, errors);
  const native = nativeAnnotation ?? values.global.nativeSidecars;

  const readiness = {
    initialDelaySeconds: intAnnotation(annotations, Annotation.readinessInitialDelaySeconds, proxy.readinessInitialDelaySeconds, 0, errors),
    periodSeconds: intAnnotation(annotations, Annotation.readinessPeriodSeconds, proxy.readinessPeriodSeconds, 1, errors),
    failureThreshold: intAnnotation(annotations, Annotation.readinessFailureThreshold, proxy.readinessFailureThreshold, 1, errors),
  };
  let applicationPorts: number[] = [];
  if (Object.hasOwn(annotations, Annotation.readinessApplicationPorts)) {
    const check = checkPortList(annotations[Annotation.readinessApplicationPorts] as string, false);
    if (check.ok) applicationPorts = check.ports;
    else errors.push({ field: field(Annotation.readinessApplicationPorts), message: `invalid port ${JSON.stringify(check.bad)}` });
  }

  // Istio's rule: either source asks for it. A native sidecar holds the app through its startup probe instead.
  const hold = proxyConfig.holdApplicationUntilProxyStarts === true || proxy.holdApplicationUntilProxyStarts;
  if (hold && statusPort === 0) {
    errors.push({ field: Object.hasOwn(annotations, Annotation.statusPort) ? field(Annotation.statusPort) : 'global.proxy.statusPort',
      message: 'status port 0 disables the readiness endpoint that holdApplicationUntilProxyStarts waits for' });
  }

  // Istio's precedence: the annotation, else sidecarInjectorWebhook.rewriteAppHTTPProbe (default true).
  const rewrite = boolAnnotation(annotations, Annotation.rewriteAppHTTPProbers, errors);
  const probeRewrite = { enabled: rewrite ?? values.sidecarInjectorWebhook.rewriteAppHTTPProbe, explicit: rewrite === true };

  let image = proxyImage(values);
  if (Object.hasOwn(annotations, Annotation.proxyImage)) {
    const text = annotations[Annotation.proxyImage] as string;
    if (/^[^\s]{1,512}$/.test(text)) image = text;
    else errors.push({ field: field(Annotation.proxyImage), message: 'must be an image reference without spaces' });
  }

  const own = ownVolumeNames(podVolumes, previous);
  const userVolumes: Volume[] = [];
  if (Object.hasOwn(annotations, Annotation.userVolume)) {
    const items = namedItems(annotations[Annotation.userVolume] as string, field(Annotation.userVolume), errors);
    for (const item of items) {
      const name = item['name'] as string;
      if (name === Injected.workVolume || own.has(name) || userVolumes.some((v) => v.name === name)) {
        errors.push({ field: field(Annotation.userVolume), message: `volume ${JSON.stringify(name)} is already in the pod` });
      } else if (Object.keys(item).length < 2) {
        errors.push({ field: field(Annotation.userVolume), message: `volume ${JSON.stringify(name)} has no source (secret, configMap, emptyDir...)` });
      } else {
        userVolumes.push(item as Volume);
      }
    }
  }
  const userMounts: VolumeMount[] = [];
  if (Object.hasOwn(annotations, Annotation.userVolumeMount)) {
    const items = namedItems(annotations[Annotation.userVolumeMount] as string, field(Annotation.userVolumeMount), errors);
    const mountable = new Set([...own, ...userVolumes.map((v) => v.name)]);
    for (const item of items) {
      const name = item['name'] as string;
      const mountPath = item['mountPath'];
      const unknown = Object.keys(item).find((k) => !MOUNT_KEYS.has(k));
      if (typeof mountPath !== 'string' || !mountPath.startsWith('/') || mountPath.startsWith(PROXY_WORK_DIR)) {
        errors.push({ field: field(Annotation.userVolumeMount), message: `mount ${JSON.stringify(name)} needs an absolute mountPath outside ${PROXY_WORK_DIR}` });
      } else if (unknown !== undefined) {
        errors.push({ field: field(Annotation.userVolumeMount), message: `mount ${JSON.stringify(name)}: unknown key ${JSON.stringify(unknown)}` });
      } else if (!mountable.has(name)) {
        errors.push({ field: field(Annotation.userVolumeMount), message: `mount ${JSON.stringify(name)} names no volume of the pod or of ${Annotation.userVolume}` });
      } else {
        userMounts.push(item as VolumeMount);
      }
    }
  }

  const mergeAnnotation = boolAnnotation(annotations, Annotation.mergeMetrics, errors);
  const prometheusMerge = mergeAnnotation ?? values.meshConfig.enablePrometheusMerge;
  if (prometheusMerge) {
    const ours = prometheusAnnotations();
    for (const [key, value] of Object.entries(ours)) {
      if (Object.hasOwn(annotations, key) && annotations[key] !== value) {
        errors.push({ field: field(key), message: `the pod publishes its own metrics; merging them with the proxy's needs Istio's agent, which meshgate does not have: set ${Annotation.mergeMetrics}: "false"` });
      }
    }
  }

  return {
    options: {
      native, interception, readiness, applicationPorts,
      startupProbe: { ...proxy.startupProbe }, hold,
      proxyImage: image,
      initImage: values.global.proxy_init.image === '' ? image : initImage(values),
      proxyConfig, userVolumes, userMounts, prometheusMerge, probeRewrite, warnings,
    },
    errors,
  };
}

/** The prometheus.io annotations Istio writes, pointing at the proxy's own metrics (no merging agent). */
export function prometheusAnnotations(): StringMap {
  return { [Annotation.prometheusScrape]: 'true', [Annotation.prometheusPort]: '15090', [Annotation.prometheusPath]: '/stats/prometheus' };
}
