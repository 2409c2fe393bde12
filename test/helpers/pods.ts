import type { PodLike } from '../../src/k8s/types.ts';

/** A realistic pod as the API server sends it to a webhook (ReplicaSet-owned, no name yet). */
export function samplePod(overrides: { labels?: Record<string, string>; annotations?: Record<string, string>; spec?: Record<string, unknown> } = {}): PodLike {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'sleep-7c9d8f6b5d-',
      namespace: 'default',
      labels: { app: 'sleep', 'pod-template-hash': '7c9d8f6b5d', ...overrides.labels },
      ...(overrides.annotations ? { annotations: overrides.annotations } : {}),
      ownerReferences: [{ kind: 'ReplicaSet', name: 'sleep-7c9d8f6b5d', controller: true }],
    },
    spec: {
      serviceAccountName: 'sleep',
      containers: [{ name: 'sleep', image: 'curlimages/curl', command: ['/bin/sleep', 'infinity'] }],
      volumes: [{ name: 'secret-volume', secret: { secretName: 'sleep-secret', optional: true } }],
      ...overrides.spec,
    },
  };
}

export function review(object: unknown, request: Record<string, unknown> = {}, apiVersion = 'admission.k8s.io/v1'): Record<string, unknown> {
  return {
    apiVersion,
    kind: 'AdmissionReview',
    request: {
      uid: 'b6a0d2c1-0000-4000-8000-000000000001',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'default',
      operation: 'CREATE',
      object,
      ...request,
    },
  };
}
