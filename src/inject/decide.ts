import { Label, Annotation } from '../istio/keys.ts';
import { isEmptySelector, selectorMatches } from '../k8s/label-selector.ts';
import type { PodLike } from '../k8s/types.ts';
import type { InjectorValues } from './values.ts';

/** Why a pod was not injected. One table below turns each into a message; metrics use the name as a label. */
export type SkipReason =
  | 'HostNetwork'
  | 'IgnoredNamespace'
  | 'PodOptOut'
  | 'NeverInjectSelector'
  | 'PolicyDisabled'
  | 'PolicyInvalid'
  | 'RevisionMismatch';

/** meshgate serves one revision, Istio's default one. */
export const MESHGATE_REVISION = 'default';

export const SKIP_MESSAGES: Record<SkipReason, string> = {
  HostNetwork: 'pod uses hostNetwork; its traffic cannot be captured without capturing the node',
  IgnoredNamespace: 'namespace is never injected (kube-system, kube-public, kube-node-lease, local-path-storage)',
  PodOptOut: `pod opts out with ${Label.sidecarInject} (label, or annotation when no label)`,
  NeverInjectSelector: 'pod labels match sidecarInjectorWebhook.neverInjectSelector',
  PolicyDisabled: 'injection policy global.proxy.autoInject is disabled and the pod does not opt in',
  PolicyInvalid: 'global.proxy.autoInject is neither enabled nor disabled: injection is off',
  RevisionMismatch: `pod label ${Label.revision} selects another revision; meshgate is revision "${MESHGATE_REVISION}"`,
};

export type Decision = { inject: true; because: string } | { inject: false; reason: SkipReason };

/** Namespaces Istio never injects, even when labelled. */
export const IGNORED_NAMESPACES: ReadonlySet<string> = new Set([
  'kube-system',
  'kube-public',
  'kube-node-lease',
  'local-path-storage',
]);

/** YAML 1.1 booleans, as Istio reads the inject label. Anything else counts as unset. */
function parseInjectValue(value: string | undefined): boolean | undefined {
  switch ((value ?? '').toLowerCase()) {
    case 'y': case 'yes': case 'true': case 'on':
      return true;
    case 'n': case 'no': case 'false': case 'off':
      return false;
    default:
      return undefined;
  }
}

/**
 * Istio's handler-side decision, in Istio's order. Namespace opt-in (istio-injection, istio.io/rev) is the webhook
 * configuration's selector, evaluated by the API server before this runs.
 */
export function decideInjection(pod: PodLike, namespace: string, values: InjectorValues): Decision {
  if (pod.spec?.hostNetwork === true) return { inject: false, reason: 'HostNetwork' };
  if (IGNORED_NAMESPACES.has(namespace)) return { inject: false, reason: 'IgnoredNamespace' };

  const labels = pod.metadata?.labels ?? {};
  const annotations = pod.metadata?.annotations ?? {};
  // Istio's revisions: a pod that names a revision belongs to that revision's injector only.
  const revision = labels[Label.revision];
  if (revision !== undefined && revision !== '' && revision !== MESHGATE_REVISION) return { inject: false, reason: 'RevisionMismatch' };
  // The label beats the annotation of the same name.
  const explicit = parseInjectValue(Object.hasOwn(labels, Label.sidecarInject)
    ? labels[Label.sidecarInject]
    : annotations[Annotation.sidecarInject]);
  if (explicit === false) return { inject: false, reason: 'PodOptOut' };

  const policy = values.global.proxy.autoInject;
  if (explicit === true) {
    return policy === 'enabled' || policy === 'disabled'
      ? { inject: true, because: `${Label.sidecarInject}=true` }
      : { inject: false, reason: 'PolicyInvalid' };
  }

  const selectors = values.sidecarInjectorWebhook;
  if (selectors.neverInjectSelector.some((s) => !isEmptySelector(s) && selectorMatches(s, labels))) {
    return { inject: false, reason: 'NeverInjectSelector' };
  }
  if (selectors.alwaysInjectSelector.some((s) => !isEmptySelector(s) && selectorMatches(s, labels))) {
    return policy === 'enabled' || policy === 'disabled'
      ? { inject: true, because: 'alwaysInjectSelector' }
      : { inject: false, reason: 'PolicyInvalid' };
  }
  if (policy === 'enabled') return { inject: true, because: 'policy enabled' };
  return { inject: false, reason: policy === 'disabled' ? 'PolicyDisabled' : 'PolicyInvalid' };
}
