import { Annotation } from '../istio/keys.ts';
import type { StringMap } from '../k8s/types.ts';

/**
 * Istio's pod annotations (istio/api annotation list, resource type Pod) that meshgate does not implement, each
 * with the reason given to the user. A pod carrying one is denied when it is injected: an Istio setting that would
 * silently do nothing is worse than a clear refusal. README "Injection surface" renders the same table.
 */
export const REFUSED_ANNOTATIONS: Readonly<Record<string, string>> = {
  'sidecar.istio.io/bootstrapOverride': 'meshgate proxy is not Envoy: there is no bootstrap to override',
  'sidecar.istio.io/statsInclusionPrefixes': 'the proxy exports a fixed set of Istio metrics; Envoy stats inclusion does not apply',
  'sidecar.istio.io/statsInclusionSuffixes': 'the proxy exports a fixed set of Istio metrics; Envoy stats inclusion does not apply',
  'sidecar.istio.io/statsInclusionRegexps': 'the proxy exports a fixed set of Istio metrics; Envoy stats inclusion does not apply',
  'sidecar.istio.io/statsHistogramBuckets': 'histogram buckets of the proxy are fixed',
  'sidecar.istio.io/statsFlushInterval': 'the proxy has no stats flush (Prometheus scrapes it)',
  'sidecar.istio.io/statsCompression': 'the metrics endpoint is not compressed',
  'sidecar.istio.io/extraStatTags': 'the proxy\'s metric labels are fixed (Istio\'s standard labels)',
  'sidecar.istio.io/enableCoreDump': 'no core dumps of a Node.js proxy; the init container does not change kernel settings',
  'sidecar.istio.io/logLevel': 'the proxy\'s log level is not set per pod',
  'sidecar.istio.io/componentLogLevel': 'the proxy has no Envoy components',
  'sidecar.istio.io/agentLogLevel': 'there is no pilot-agent',
  'sidecar.istio.io/controlPlaneAuthPolicy': 'there is no control-plane connection (the proxy reads the API server)',
  'sidecar.istio.io/discoveryAddress': 'there is no XDS discovery (the proxy reads the API server)',
  'sidecar.istio.io/proxyImageType': 'one image (meshgate) serves every proxy; use sidecar.istio.io/proxyImage',
  'inject.istio.io/templates': 'meshgate builds the sidecar itself: Istio\'s injection templates do not apply',
  'proxy.istio.io/overrides': 'written by Istio\'s injector for its own template overrides; not read',
  'ambient.istio.io/bypass-inbound-capture': 'meshgate has no ambient mode',
  'ambient.istio.io/redirection': 'meshgate has no ambient mode (a pod enrolled in ambient must not also get a sidecar)',
  'ambient.istio.io/dns-capture': 'meshgate has no ambient mode',
  'alpha.istio.io/identity': 'no workload identity is issued',
  'security.istio.io/autoMTLS': 'meshgate does no mTLS',
  'policy.istio.io/check': 'Mixer was removed from Istio; nothing reads it',
  'policy.istio.io/checkRetries': 'Mixer was removed from Istio; nothing reads it',
  'policy.istio.io/checkBaseRetryWaitTime': 'Mixer was removed from Istio; nothing reads it',
  'policy.istio.io/checkMaxRetryWaitTime': 'Mixer was removed from Istio; nothing reads it',
  'policy.istio.io/lang': 'Mixer was removed from Istio; nothing reads it',
};

/** Annotations meshgate implements or writes itself (re-injection reads them back). */
const IMPLEMENTED: ReadonlySet<string> = new Set([
  ...Object.values(Annotation),
]);

/** Istio's injection prefixes: an unknown key under one of these is most likely a typo of an implemented one. */
const INJECTION_PREFIXES = ['sidecar.istio.io/', 'traffic.sidecar.istio.io/', 'status.sidecar.istio.io/',
  'readiness.status.sidecar.istio.io/', 'proxy.istio.io/', 'inject.istio.io/', 'prometheus.istio.io/', 'ambient.istio.io/'];

export interface SurfaceError {
  field: string;
  message: string;
}

export function refusedAnnotations(annotations: StringMap): SurfaceError[] {
  const errors: SurfaceError[] = [];
  for (const key of Object.keys(annotations)) {
    const field = `metadata.annotations[${key}]`;
    const reason = REFUSED_ANNOTATIONS[key];
    if (reason !== undefined) {
      errors.push({ field, message: `Istio annotation not implemented by meshgate: ${reason}; remove it (README "Injection surface")` });
    } else if (!IMPLEMENTED.has(key) && INJECTION_PREFIXES.some((prefix) => key.startsWith(prefix))) {
      errors.push({ field, message: 'not an Istio injection annotation meshgate knows (a typo?); see README "Injection surface"' });
    }
  }
  return errors;
}
