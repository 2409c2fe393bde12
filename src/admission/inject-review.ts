import type { ClusterRanges } from '../inject/capture.ts';
import type { SkipReason } from '../inject/decide.ts';
import { injectPod } from '../inject/inject.ts';
import type { InjectorValues } from '../inject/values.ts';
import { isRecord, type PodLike } from '../k8s/types.ts';
import { allow, allowWithPatch, deny, type AdmissionRequest, type AdmissionResponse } from './review.ts';

export interface InjectDeps {
  values: () => InjectorValues;
  clusterRanges: () => ClusterRanges | undefined;
}

/** What happened to one review, for the log line and the metrics. */
export type InjectResult =
  | { result: 'injected'; detail: string }
  | { result: 'skipped'; reason: SkipReason | 'NotAPod' | 'NotCreate' }
  | { result: 'denied'; reason: 'InvalidPod' | 'InvalidObject'; detail: string };

export const ADMISSION_SKIP_MESSAGES = {
  NotAPod: 'not a pod (only pods are injected)',
  NotCreate: 'only CREATE is injected; other operations pass unchanged',
} as const;

export function reviewInjection(request: AdmissionRequest, deps: InjectDeps): { response: AdmissionResponse; outcome: InjectResult } {
  const { uid } = request;
  const isPod = request.kind?.kind === 'Pod' && (request.kind.group ?? '') === '' && !request.subResource;
  if (!isPod) return { response: allow(uid), outcome: { result: 'skipped', reason: 'NotAPod' } };
  if (request.operation !== undefined && request.operation !== 'CREATE') {
    return { response: allow(uid), outcome: { result: 'skipped', reason: 'NotCreate' } };
  }
  const pod = request.object;
  if (!isRecord(pod)) {
    const detail = 'request.object: required: the pod being created';
    return { response: deny(uid, 400, detail), outcome: { result: 'denied', reason: 'InvalidObject', detail } };
  }
  const podLike = pod as PodLike;
  const namespace = request.namespace || podLike.metadata?.namespace || 'default';
  const outcome = injectPod(podLike, { values: deps.values(), namespace, cluster: deps.clusterRanges() });
  switch (outcome.kind) {
    case 'skip':
      return { response: allow(uid), outcome: { result: 'skipped', reason: outcome.reason } };
    case 'deny': {
      const detail = outcome.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
      return { response: deny(uid, 400, `meshgate sidecar injection: ${detail}`), outcome: { result: 'denied', reason: 'InvalidPod', detail } };
    }
    case 'inject':
      return {
        response: allowWithPatch(uid, outcome.patch, [...outcome.capture.warnings, ...outcome.warnings]),
        outcome: { result: 'injected', detail: `include=${outcome.capture.includeIPRanges} (${outcome.capture.includeSource})` },
      };
  }
}
