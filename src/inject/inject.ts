import { Annotation, Injected, Label } from '../istio/keys.ts';
import { isRecord, type Container, type PodLike, type StringMap, type Volume } from '../k8s/types.ts';
import { resolveCapture, type CaptureSettings, type ClusterRanges } from './capture.ts';
import { appProbeEnv, rewriteAppProbes } from './app-probes.ts';
import { buildSidecarParts, proxyResources } from './containers.ts';
import { decideInjection, MESHGATE_REVISION, type SkipReason } from './decide.ts';
import { previousInjection, prometheusAnnotations, resolveSidecarOptions } from './pod-options.ts';
import { placeNamedItems, setMapEntries, type PatchOp } from './patch.ts';
import type { InjectorValues } from './values.ts';
import { describeWorkload } from './workload.ts';

export interface InjectContext {
  values: InjectorValues;
  namespace: string;
  /** Ranges computed from the cluster, when known. */
  cluster?: ClusterRanges | undefined;
  /** kube-inject knows the workload's name; admission derives it from owner references. */
  workloadName?: string;
}

export interface FieldError {
  field: string;
  message: string;
}

export type InjectOutcome =
  | { kind: 'skip'; reason: SkipReason }
  | { kind: 'deny'; errors: FieldError[] }
  | { kind: 'inject'; patch: PatchOp[]; capture: CaptureSettings; because: string; warnings: string[] };

/** Admission input is untrusted: the shapes the patch relies on are checked before anything is built. */
function checkPodShape(pod: PodLike): FieldError[] {
  const errors: FieldError[] = [];
  if (pod.metadata !== undefined && !isRecord(pod.metadata)) errors.push({ field: 'metadata', message: 'must be an object' });
  for (const map of ['labels', 'annotations'] as const) {
    const value = isRecord(pod.metadata) ? pod.metadata[map] : undefined;
    if (value === undefined) continue;
    if (!isRecord(value) || Object.values(value).some((v) => typeof v !== 'string')) {
      errors.push({ field: `metadata.${map}`, message: 'must be a map of strings' });
    }
  }
  const owners = isRecord(pod.metadata) ? pod.metadata['ownerReferences'] : undefined;
  if (owners !== undefined && !Array.isArray(owners)) errors.push({ field: 'metadata.ownerReferences', message: 'must be a list' });
  if (Array.isArray(owners)) {
    owners.forEach((ref: unknown, index) => {
      const at = `metadata.ownerReferences[${index}]`;
      if (!isRecord(ref)) errors.push({ field: at, message: 'must be an object' });
      else if (['kind', 'name'].some((key) => ref[key] !== undefined && typeof ref[key] !== 'string')) errors.push({ field: at, message: 'kind and name must be strings' });
      else if (ref['controller'] !== undefined && typeof ref['controller'] !== 'boolean') errors.push({ field: `${at}.controller`, message: 'must be a boolean' });
    });
  }
  if (!isRecord(pod.spec)) {
    errors.push({ field: 'spec', message: 'required: a pod spec object' });
    return errors;
  }
  const lists: Array<['containers' | 'initContainers' | 'volumes' | 'imagePullSecrets', boolean]> = [['containers', true], ['initContainers', false], ['volumes', false], ['imagePullSecrets', false]];
  for (const [list, required] of lists) {
    const items = pod.spec[list];
    if (items === undefined && !required) continue;
    if (!Array.isArray(items)) {
      errors.push({ field: `spec.${list}`, message: required ? 'required: a list' : 'must be a list' });
      continue;
    }
    items.forEach((item: unknown, index) => {
      if (!isRecord(item) || typeof item['name'] !== 'string') errors.push({ field: `spec.${list}[${index}].name`, message: 'required: a string' });
    });
  }
  return errors;
}

/** The injector's pure core: decide, resolve the capture settings, build the sidecar, express it as a patch. */
export function injectPod(pod: PodLike, ctx: InjectContext): InjectOutcome {
  const shapeErrors = checkPodShape(pod);
  if (shapeErrors.length > 0) return { kind: 'deny', errors: shapeErrors };

  const decision = decideInjection(pod, ctx.namespace, ctx.values);
  if (!decision.inject) return { kind: 'skip', reason: decision.reason };

  const meta = pod.metadata ?? {};
  const annotations = meta.annotations ?? {};
  const labels = meta.labels ?? {};
  const spec = pod.spec ?? {};

  const capture = resolveCapture(annotations, ctx.values, ctx.cluster);
  const resources = proxyResources(annotations, ctx.values);
  const previous = previousInjection(annotations, spec);
  const resolved = resolveSidecarOptions(annotations, ctx.values, spec.volumes ?? [], previous, capture.ok ? capture.settings.statusPort : 0);
  const errors: FieldError[] = [
    ...(capture.ok ? [] : capture.errors.map((e) => ({ field: e.field, message: `${e.message} (${JSON.stringify(e.value)})` }))),
    ...resources.errors.map((e) => ({ field: e.field, message: `invalid resource quantity (${JSON.stringify(e.value)})` })),
    ...resolved.errors,
  ];
  const options = resolved.options;
  const statusPort = capture.ok ? capture.settings.statusPort : 0;
  // Status port 0: nothing serves /app-health, so the probes stay as they are (Istio skips the rewrite too).
  const probes = options.probeRewrite.enabled && statusPort !== 0
    ? rewriteAppProbes(spec, statusPort, options.probeRewrite.explicit ? 'deny' : 'keep') : undefined;
  errors.push(...(probes?.errors ?? []));
  if (!capture.ok || errors.length > 0) return { kind: 'deny', errors };

  const native = options.native;
  const workload = describeWorkload(meta, ctx.workloadName);
  const parts = buildSidecarParts(ctx.values, capture.settings, resources.resources, workload, options);
  if (probes) parts.proxy['env'] = [...(parts.proxy['env'] as unknown[]), ...appProbeEnv(probes.probers, statusPort)];
  const init = parts.init ? [parts.init] : [];

  const isInjectedContainer = (c: Container): boolean => c.name === Injected.initContainer || c.name === Injected.proxyContainer;
  const ourVolumes = new Set([...previous.volumes, ...parts.volumes.map((v) => v.name)]);
  const pullSecrets = ctx.values.global.imagePullSecrets;
  const podSecrets = new Set(((spec['imagePullSecrets'] ?? []) as Array<{ name: string }>).map((secret) => secret.name));
  const missingSecrets = pullSecrets.filter((name) => !podSecrets.has(name));
  const patch: PatchOp[] = [
    // First, while every index still names the pod's own containers.
    ...(probes?.ops ?? []),
    // Istio's order: native puts init then proxy before the user's init containers; hold puts the proxy first.
    ...placeNamedItems('/spec/initContainers', spec.initContainers, isInjectedContainer,
      native ? [...init, parts.proxy] : [], native ? [] : init),
    ...placeNamedItems('/spec/containers', spec.containers, isInjectedContainer,
      !native && options.hold ? [parts.proxy] : [], !native && !options.hold ? [parts.proxy] : []),
    ...placeNamedItems('/spec/volumes', spec.volumes, (v: Volume) => ourVolumes.has(v.name), [], parts.volumes),
    // Appended when missing, never removed: the pod may need a secret of the same name for its own images.
    ...placeNamedItems('/spec/imagePullSecrets', spec['imagePullSecrets'] as Array<{ name: string }> | undefined,
      () => false, [], missingSecrets.map((name) => ({ name }))),
  ];

  const status = {
    initContainers: [...init.map((c) => c.name), ...(native ? [Injected.proxyContainer] : [])],
    containers: native ? [] : [Injected.proxyContainer],
    volumes: parts.volumes.map((v) => v.name),
    imagePullSecrets: pullSecrets.length > 0 ? [...pullSecrets] : null,
    revision: MESHGATE_REVISION,
  };
  const settings = capture.settings;
  if (pod.metadata === undefined) patch.push({ op: 'add', path: '/metadata', value: {} });
  patch.push(...setMapEntries('/metadata/annotations', meta.annotations, {
    ...ctx.values.sidecarInjectorWebhook.injectedAnnotations,
    ...(options.prometheusMerge ? prometheusAnnotations() : {}),
    [Annotation.sidecarStatus]: JSON.stringify(status),
    // Istio records the mode it applied on the pod.
    [Annotation.interceptionMode]: options.interception,
    [Annotation.captureRanges]: JSON.stringify({
      includeOutboundIPRanges: settings.includeIPRanges,
      includeSource: settings.includeSource,
      excludeOutboundIPRanges: settings.excludeIPRanges,
      excludeSource: settings.excludeSource,
      autoIncludeOutboundIPRanges: settings.autoIPRanges,
      autoSource: settings.autoSource,
    }),
  }));
  // Istio's identity labels are added only where the workload has not set them.
  const identity: StringMap = { [Label.tlsMode]: 'istio' };
  if (!Object.hasOwn(labels, Label.canonicalName)) identity[Label.canonicalName] = workload.canonicalName;
  if (!Object.hasOwn(labels, Label.canonicalRevision)) identity[Label.canonicalRevision] = workload.canonicalRevision;
  patch.push(...setMapEntries('/metadata/labels', meta.labels, identity));

  return { kind: 'inject', patch, capture: settings, because: decision.because, warnings: [...options.warnings, ...(probes?.warnings ?? [])] };
}
