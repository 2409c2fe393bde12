import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import jsonpatch from 'jsonpatch';
import { reviewInjection } from '../../../src/admission/inject-review.ts';
import { injectPod } from '../../../src/inject/inject.ts';
import { defaultValues } from '../../../src/inject/values.ts';
import type { PodLike } from '../../../src/k8s/types.ts';

const values = defaultValues();
const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/);
const container = fc.record({ name, image: fc.constantFrom('busybox', 'curlimages/curl', 'nginx:1.27') });
const stringMap = fc.dictionary(fc.stringMatching(/^[a-z0-9./~-]{1,20}$/), fc.string({ maxLength: 20 }), { maxKeys: 4 });
const injectAnnotation = fc.constantFrom(undefined, 'true', 'false', 'yes', 'off', 'garbage');
const rangesAnnotation = fc.constantFrom(undefined, '', '*', '10.0.0.0/8', '10.96.0.1/24,fd00::/8', '10.0.0.0/33', 'nope');

const podShape = fc.record({
  labels: fc.option(stringMap, { nil: undefined }),
  annotations: fc.option(stringMap, { nil: undefined }),
  inject: injectAnnotation,
  ranges: rangesAnnotation,
  native: fc.constantFrom(undefined, 'true', 'false'),
  containers: fc.array(container, { minLength: 1, maxLength: 4 }),
  initContainers: fc.option(fc.array(container, { maxLength: 3 }), { nil: undefined }),
  volumes: fc.option(fc.array(fc.record({ name }), { maxLength: 3 }), { nil: undefined }),
  hostNetwork: fc.boolean(),
}).map((shape): PodLike => {
  const annotations: Record<string, string> | undefined = shape.annotations || shape.inject || shape.ranges !== undefined || shape.native
    ? { ...shape.annotations } : undefined;
  if (annotations && shape.inject) annotations['sidecar.istio.io/inject'] = shape.inject;
  if (annotations && shape.ranges !== undefined) annotations['traffic.sidecar.istio.io/includeOutboundIPRanges'] = shape.ranges;
  if (annotations && shape.native) annotations['sidecar.istio.io/nativeSidecar'] = shape.native;
  return {
    metadata: { name: 'p', ...(shape.labels ? { labels: shape.labels } : {}), ...(annotations ? { annotations } : {}) },
    spec: {
      containers: shape.containers,
      ...(shape.initContainers ? { initContainers: shape.initContainers } : {}),
      ...(shape.volumes ? { volumes: shape.volumes } : {}),
      hostNetwork: shape.hostNetwork,
    },
  };
});

test('property: every response is well-formed, every patch applies, injection is idempotent', () => {
  fc.assert(fc.property(podShape, (pod) => {
    const { response } = reviewInjection({ uid: 'u1', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', namespace: 'default', object: pod }, {
      values: () => values, clusterRanges: () => undefined,
    });
    assert.equal(response.uid, 'u1');
    assert.equal(typeof response.allowed, 'boolean');
    if (!response.allowed) assert.match(response.status?.message ?? '', /metadata\.annotations\[|spec/);
    const outcome = injectPod(pod, { values, namespace: 'default' });
    if (outcome.kind !== 'inject') return;
    assert.equal(response.patchType, 'JSONPatch');
    const injected = jsonpatch.apply_patch(pod, outcome.patch);
    const all = [...(injected.spec?.initContainers ?? []), ...(injected.spec?.containers ?? [])].map((c) => c.name);
    assert.equal(all.filter((n) => n === 'istio-proxy').length, 1);
    assert.equal(all.filter((n) => n === 'istio-init').length, 1);
    const again = injectPod(injected, { values, namespace: 'default' });
    assert.ok(again.kind === 'inject');
    assert.deepEqual(again.patch, []);
  }), { numRuns: 300 });
});
